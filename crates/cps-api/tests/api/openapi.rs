//! The OpenAPI document and its page: served without a signature, under both
//! prefixes, and describing routes that exist.

use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn document_is_served_under_both_prefixes() {
    let app = spawn_app().await;

    let public = app.send(app.http.get(app.url("/cps/v2/openapi.json"))).await;
    let gateway = app.send(app.http.get(app.url("/v2/openapi.json"))).await;

    assert_eq!(public.status, 200, "{}", public.text);
    assert_eq!(public.header("content-type"), Some("application/json"));
    assert_eq!(gateway.status, 200, "{}", gateway.text);
    assert_eq!(public.text, gateway.text);
    assert!(public.json()["openapi"].as_str().unwrap().starts_with("3.1"));
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = spawn_app().await;
    let document = app.send(app.http.get(app.url("/cps/v2/openapi.json"))).await.json();

    let paths = document["paths"].as_object().expect("the document has paths");
    assert!(paths.len() >= 6, "{paths:?}");
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let answer = app.send(app.http.request(method.clone(), app.url(path))).await;

            let signed = operation.get("security").is_some_and(|security| security != &Value::Array(vec![]));
            let expected = if signed { 401 } else { 200 };
            assert_eq!(answer.status, expected, "{method} {path} unsigned: {}", answer.text);
            let documented = &operation["responses"][answer.status.to_string()];
            assert!(documented.is_object(), "{method} {path} does not document {}", answer.status);
        }
    }
}

#[tokio::test]
async fn docs_page_loads_its_assets_locally() {
    let app = spawn_app().await;

    for prefix in ["/cps/v2", "/v2"] {
        let page = app.send(app.http.get(app.url(&format!("{prefix}/docs")))).await;
        assert_eq!(page.status, 200, "{prefix}/docs");
        assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
        assert!(!page.text.contains("https://"), "{prefix}/docs refers to an outside address");

        for (asset, content_type) in [
            ("docs/swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
            ("docs/swagger-ui.css", "text/css; charset=utf-8"),
        ] {
            assert!(page.text.contains(&format!("\"{asset}\"")), "{prefix}/docs does not load {asset}");
            let answer = app.send(app.http.get(app.url(&format!("{prefix}/{asset}")))).await;
            assert_eq!(answer.status, 200, "{prefix}/{asset}");
            assert_eq!(answer.header("content-type"), Some(content_type), "{prefix}/{asset}");
            assert!(answer.text.len() > 100_000, "{prefix}/{asset} is only {} bytes", answer.text.len());
        }
    }
}
