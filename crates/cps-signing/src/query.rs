//! Query strings, kept in URL order as the signature needs them.

use serde_json::Value;

/// The query parameters of a request, in the order a JavaScript object built
/// from them would have: a repeated key keeps its first position and takes
/// its last value. Repetition itself is recorded
/// ([`QueryParams::repeated`]) for the server to reject.
#[derive(Clone, Debug, Default)]
pub struct QueryParams {
    entries: Vec<(String, String)>,
    repeated: Option<String>,
    invalid_encoding: bool,
}

impl QueryParams {
    pub fn parse(query: Option<&str>) -> QueryParams {
        let mut params = QueryParams::default();
        let Some(query) = query.filter(|query| !query.is_empty()) else {
            return params;
        };

        // A percent escape that is not UTF-8 decodes lossily for the
        // signature and is rejected afterwards.
        params.invalid_encoding = !percent_decodes_to_utf8(query);
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let (name, value) = (name.into_owned(), value.into_owned());
            match params.entries.iter_mut().find(|(existing, _)| *existing == name) {
                Some(entry) => {
                    entry.1 = value;
                    params.repeated.get_or_insert(name);
                }
                None => params.entries.push((name, value)),
            }
        }
        params
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries.iter().find(|(existing, _)| existing == name).map(|(_, value)| value.as_str())
    }

    /// `JSON.stringify` of the parameters with every value a string.
    pub fn string_payload(&self) -> String {
        stringify(self.entries.iter().map(|(name, value)| (name, Value::String(value.clone()))))
    }

    /// `JSON.stringify` of the parameters with `true`/`false` as booleans and
    /// integers without a leading zero as numbers (`63` but not `0212…`).
    pub fn typed_payload(&self) -> String {
        stringify(self.entries.iter().map(|(name, value)| (name, typed_value(value))))
    }

    /// Returns the parameters in URL order, each with its last value.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// Returns the first parameter given more than once.
    pub fn repeated(&self) -> Option<&str> {
        self.repeated.as_deref()
    }

    /// Tells whether a percent escape decodes to bytes that are not UTF-8.
    pub fn has_invalid_encoding(&self) -> bool {
        self.invalid_encoding
    }
}

fn typed_value(value: &str) -> Value {
    match value {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ if is_plain_integer(value) => {
            value.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(value.into()))
        }
        _ => Value::String(value.to_string()),
    }
}

/// `0`, `63` or `-5`, but not `063`, `+5` or anything past 15 digits, which
/// JavaScript numbers would not print back unchanged.
fn is_plain_integer(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let well_formed = !digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|byte| byte.is_ascii_digit());
    well_formed && (digits == "0" || !digits.starts_with('0')) && value != "-0"
}

/// Writes an object in the given member order, as `JSON.stringify` does.
/// (serde_json's own map would sort the keys.) For strings, booleans and
/// integers serde_json writes what `JSON.stringify` writes: no spaces, `/` and
/// non-ASCII characters unescaped.
fn stringify<'a>(members: impl Iterator<Item = (&'a String, Value)>) -> String {
    let members: Vec<String> =
        members.map(|(name, value)| format!("{}:{}", Value::String(name.clone()), value)).collect();
    format!("{{{}}}", members.join(","))
}

/// Checks that every percent escape of the query decodes to valid UTF-8.
fn percent_decodes_to_utf8(query: &str) -> bool {
    let raw = query.as_bytes();
    let mut decoded = Vec::with_capacity(raw.len());
    let mut index = 0;
    while index < raw.len() {
        let escape = raw.get(index + 1..index + 3).and_then(|hex| std::str::from_utf8(hex).ok());
        match (raw[index], escape.and_then(|hex| u8::from_str_radix(hex, 16).ok())) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                index += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    std::str::from_utf8(&decoded).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_keep_url_order() {
        let params = QueryParams::parse(Some("numberService=02123457654&idTypeService=63"));
        assert_eq!(params.string_payload(), r#"{"numberService":"02123457654","idTypeService":"63"}"#);
        assert_eq!(params.typed_payload(), r#"{"numberService":"02123457654","idTypeService":63}"#);
    }

    #[test]
    fn booleans_are_typed() {
        let params = QueryParams::parse(Some("canGetBalance=false"));
        assert_eq!(params.typed_payload(), r#"{"canGetBalance":false}"#);
        assert_eq!(params.string_payload(), r#"{"canGetBalance":"false"}"#);
    }

    #[test]
    fn plus_decodes_to_space() {
        let params = QueryParams::parse(Some("a=x+y%2Fz"));
        assert_eq!(params.get("a"), Some("x y/z"));
    }

    #[test]
    fn repeated_parameter_is_recorded() {
        let params = QueryParams::parse(Some("a=1&b=2&a=3"));
        assert_eq!(params.string_payload(), r#"{"a":"3","b":"2"}"#);
        assert_eq!(params.repeated(), Some("a"));
    }

    #[test]
    fn empty_query_has_no_entries() {
        assert!(QueryParams::parse(None).is_empty());
        assert!(QueryParams::parse(Some("")).is_empty());
        assert_eq!(QueryParams::parse(None).string_payload(), "{}");
    }

    #[test]
    fn plain_integers_only() {
        for (value, expected) in [
            ("0", true),
            ("63", true),
            ("-5", true),
            ("063", false),
            ("+5", false),
            ("-0", false),
            ("1.5", false),
            ("", false),
        ] {
            assert_eq!(is_plain_integer(value), expected, "value {value:?}");
        }
    }

    #[test]
    fn invalid_utf8_escape_is_recorded() {
        assert!(QueryParams::parse(Some("a=%FF")).has_invalid_encoding());
        assert!(!QueryParams::parse(Some("a=%C3%B1")).has_invalid_encoding());
    }
}
