//! JSON request bodies read as raw members, so that duplicate keys and
//! unknown fields are caught and each value's exact text is kept (amounts are
//! parsed from their text, never through `f64`).

use axum::http::StatusCode;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::problem::{ApiError, Message};

/// The members of a JSON object in body order, each with its raw JSON text.
pub(crate) struct RawObject {
    members: Vec<(String, Box<RawValue>)>,
}

impl RawObject {
    /// Parses `body` as one JSON object whose member names are all in
    /// `allowed`. Errors follow a fixed order: not UTF-8, not JSON, not an
    /// object, a duplicate member, an unknown member.
    pub fn parse(body: &[u8], allowed: &[&str]) -> Result<RawObject, ApiError> {
        let text = std::str::from_utf8(body).map_err(|_| malformed(Message::new("malformed-json-utf8")))?;
        let value: Box<RawValue> = serde_json::from_str(text).map_err(|error| {
            malformed(Message::new("malformed-json-detail").arg("problem", describe_syntax_error(&error)))
        })?;
        if !value.get().trim_start().starts_with('{') {
            return Err(malformed(Message::new("malformed-json-not-object")));
        }
        let object: RawObject = serde_json::from_str(value.get()).map_err(|error| {
            malformed(Message::new("malformed-json-detail").arg("problem", describe_syntax_error(&error)))
        })?;

        for (index, (name, _)) in object.members.iter().enumerate() {
            if object.members[..index].iter().any(|(earlier, _)| earlier == name) {
                let detail = Message::new("duplicate-field-detail").arg("field", name);
                return Err(ApiError::bad_request("DUPLICATE_FIELD", name, detail));
            }
        }
        if let Some((name, _)) = object.members.iter().find(|(name, _)| !allowed.contains(&name.as_str())) {
            let detail = Message::new("unknown-field-detail").arg("field", name).arg("allowed", allowed.join(", "));
            return Err(ApiError::bad_request("UNKNOWN_FIELD", name, detail));
        }
        Ok(object)
    }

    /// The raw JSON text of member `name`, if present.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.members.iter().find(|(member, _)| member == name).map(|(_, value)| value.get())
    }

    /// The raw text of a required member, or a 400 naming it.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.raw(name).ok_or_else(|| {
            ApiError::bad_request("MISSING_FIELD", name, Message::new("missing-field-detail").arg("field", name))
        })
    }
}

/// A 400 for a member of the wrong JSON type; `expected` is a message key
/// such as `expected-string`.
pub(crate) fn wrong_type(field: &str, expected: &'static str) -> ApiError {
    let detail = Message::new("invalid-field-type-detail").arg("field", field).arg_message("expected", expected);
    ApiError::bad_request("INVALID_FIELD_TYPE", field, detail)
}

/// Reads a member that must be a JSON string.
pub(crate) fn string_member(field: &str, raw: &str) -> Result<String, ApiError> {
    if !raw.starts_with('"') {
        return Err(wrong_type(field, "expected-string"));
    }
    serde_json::from_str(raw).map_err(|_| wrong_type(field, "expected-string"))
}

/// Reads a member that must be a JSON integer (`57`, not `57.0` or `"57"`).
pub(crate) fn integer_member(field: &str, raw: &str) -> Result<i64, ApiError> {
    let is_integer_text = raw.strip_prefix('-').unwrap_or(raw).bytes().all(|byte| byte.is_ascii_digit());
    if !is_integer_text {
        return Err(wrong_type(field, "expected-integer"));
    }
    raw.parse().map_err(|_| wrong_type(field, "expected-integer"))
}

fn malformed(detail: Message) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "MALFORMED_JSON", detail)
}

/// serde_json's message with its line and column, which helps the client
/// find the fault and reveals nothing about the server.
fn describe_syntax_error(error: &serde_json::Error) -> String {
    format!("line {}, column {}", error.line(), error.column())
}

impl<'de> serde::Deserialize<'de> for RawObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawObject, D::Error> {
        deserializer.deserialize_map(RawObjectVisitor)
    }
}

struct RawObjectVisitor;

impl<'de> Visitor<'de> for RawObjectVisitor {
    type Value = RawObject;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawObject, A::Error> {
        let mut members = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            let value: Box<RawValue> = map.next_value()?;
            members.push((name, value));
        }
        Ok(RawObject { members })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: [&str; 3] = ["numberService", "idTypeService", "amount"];

    #[test]
    fn members_keep_raw_text() {
        let object = RawObject::parse(br#"{ "amount" : 10.50 , "numberService":"0414"}"#, &FIELDS).unwrap();
        assert_eq!(object.raw("amount"), Some("10.50"));
        assert_eq!(object.raw("numberService"), Some("\"0414\""));
    }

    #[test]
    fn faults_get_their_codes() {
        let cases: [(&[u8], &str); 6] = [
            (b"{", "MALFORMED_JSON"),
            (b"\xff\xfe", "MALFORMED_JSON"),
            (b"[1]", "MALFORMED_JSON"),
            (br#"{"amount":1,"amount":2}"#, "DUPLICATE_FIELD"),
            (br#"{"ammount":1}"#, "UNKNOWN_FIELD"),
            (b"{} x", "MALFORMED_JSON"),
        ];
        for (body, code) in cases {
            let error = RawObject::parse(body, &FIELDS).err().expect("body is rejected");
            assert_eq!(error.code(), code, "body {:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn member_types_are_checked() {
        assert_eq!(integer_member("idTypeService", "57").unwrap(), 57);
        assert!(integer_member("idTypeService", "57.0").is_err());
        assert!(integer_member("idTypeService", "\"57\"").is_err());
        assert_eq!(string_member("numberService", "\"0414\"").unwrap(), "0414");
        assert!(string_member("numberService", "414").is_err());
    }
}
