//! Micro-benchmarks of the pure work every payment request does:
//! `cargo bench -p cps-benches`.

use std::hint::black_box;

use cps_domain::{Catalog, Money};
use criterion::{criterion_group, criterion_main, Criterion};

const SECRET: &str = "6b618076b4435c45dd12245ff45d9ccc004add441a5cedc5e413db8683110ad2";
const PAY_PATH: &str = "/cps/v2/operation/use/pay";
const NONCE: &str = "1796415309662";
const BODY: &str = r#"{"numberService":"04243675525","idTypeService":57,"amount":10,"reference":"pedido-7781"}"#;

fn signature_check(criterion: &mut Criterion) {
    let signature = cps_api::sign(SECRET, &format!("{PAY_PATH}{NONCE}{BODY}"));
    criterion.bench_function("signature check, pay body", |bench| {
        bench.iter(|| {
            cps_api::check_signature(
                black_box(SECRET),
                "POST",
                black_box(PAY_PATH),
                None,
                NONCE,
                BODY.as_bytes(),
                black_box(&signature),
            )
        })
    });

    // A GET tries two paths and two payload forms; the typed form matches last.
    let query = "numberService=02123457654&idTypeService=63";
    let typed = r#"{"numberService":"02123457654","idTypeService":63}"#;
    let path = "/cps/v2/operation/get/balance";
    let signature = cps_api::sign(SECRET, &format!("/v2/operation/get/balance{NONCE}{typed}"));
    criterion.bench_function("signature check, GET worst case", |bench| {
        bench.iter(|| {
            cps_api::check_signature(SECRET, "GET", black_box(path), Some(query), NONCE, b"", black_box(&signature))
        })
    });
}

fn number_normalization(criterion: &mut Criterion) {
    let catalog = Catalog::default_catalog();
    let movistar = catalog.service(57).unwrap().clone();
    let digitel = catalog.service(59).unwrap().clone();
    criterion.bench_function("number, national form", |bench| {
        bench.iter(|| catalog.parse_number(&movistar, black_box("04243675525")).is_ok())
    });
    criterion.bench_function("number, +58 with separators", |bench| {
        bench.iter(|| catalog.parse_number(&movistar, black_box("+58 (424) 367-55.25")).is_ok())
    });
    criterion.bench_function("number, other operator hint", |bench| {
        bench.iter(|| catalog.parse_number(&digitel, black_box("04243675525")).is_err())
    });
}

fn amount_parsing(criterion: &mut Criterion) {
    for raw in ["10", "10.50", "\"10.50\"", "1.05e1", "10.005"] {
        criterion
            .bench_function(&format!("amount {raw}"), |bench| bench.iter(|| Money::parse_json_amount(black_box(raw))));
    }
}

criterion_group!(hot_paths, signature_check, number_normalization, amount_parsing);
criterion_main!(hot_paths);
