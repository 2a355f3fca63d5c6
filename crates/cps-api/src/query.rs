//! Query strings as handlers see them: the signing crate's parameters in URL
//! order, plus the checks that turn bad ones into 400 responses.

use axum::http::StatusCode;

use crate::problem::{ApiError, Message};

/// The query parameters of a request, in the order a JavaScript object built
/// from them would have: a repeated key keeps its first position and takes
/// its last value. Repetition itself is rejected by [`QueryParams::check`].
#[derive(Clone, Debug, Default)]
pub(crate) struct QueryParams(cps_signing::QueryParams);

impl QueryParams {
    pub fn parse(query: Option<&str>) -> QueryParams {
        QueryParams(cps_signing::QueryParams::parse(query))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name)
    }

    /// Returns the parameters that the signature payloads are built from.
    pub fn for_signature(&self) -> &cps_signing::QueryParams {
        &self.0
    }

    /// Rejects bad encoding, repeated parameters and parameters outside
    /// `allowed`.
    pub fn check(&self, allowed: &[&str]) -> Result<(), ApiError> {
        if self.0.has_invalid_encoding() {
            return Err(invalid("", Message::new("invalid-query-parameter-encoding")));
        }
        if let Some(name) = self.0.repeated() {
            return Err(invalid(name, Message::new("invalid-query-parameter-repeated").arg("field", name)));
        }
        if let Some((name, _)) = self.0.entries().find(|(name, _)| !allowed.contains(name)) {
            let detail = if allowed.is_empty() {
                Message::new("invalid-query-parameter-none").arg("field", name)
            } else {
                Message::new("invalid-query-parameter-unknown").arg("field", name).arg("allowed", allowed.join(", "))
            };
            return Err(invalid(name, detail));
        }
        Ok(())
    }
}

pub(crate) fn invalid(field: &str, detail: Message) -> ApiError {
    ApiError::for_field(StatusCode::BAD_REQUEST, "INVALID_QUERY_PARAMETER", field, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameter_is_rejected() {
        let params = QueryParams::parse(Some("a=1&b=2&a=3"));
        assert_eq!(params.check(&["a", "b"]).unwrap_err().code(), "INVALID_QUERY_PARAMETER");
    }

    #[test]
    fn unknown_parameter_is_rejected() {
        let params = QueryParams::parse(Some("a=1&c=2"));
        assert_eq!(params.check(&["a", "b"]).unwrap_err().code(), "INVALID_QUERY_PARAMETER");
        assert!(params.check(&["a", "c"]).is_ok());
    }

    #[test]
    fn invalid_utf8_escape_is_rejected() {
        let params = QueryParams::parse(Some("a=%FF"));
        assert!(params.check(&["a"]).is_err());
        assert!(QueryParams::parse(Some("a=%C3%B1")).check(&["a"]).is_ok());
    }
}
