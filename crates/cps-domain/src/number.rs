//! Subscriber numbers: normalization of what users type, and the checked value.
//!
//! Users write the same mobile number as `+58 424 367 5525`, `0058 424 3675525`,
//! `0424-367.55.25` or `424 3675525`; all of them normalize to `04243675525`.

use std::fmt;

/// Characters people put inside numbers that carry no value.
const SEPARATORS: [char; 6] = [' ', '-', '.', '(', ')', '\t'];

/// Longer input is rejected before any other work; no real number comes close.
const MAX_RAW_LENGTH: usize = 64;

/// How a service's numbers are written, which decides the normalization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberKind {
    /// A Venezuelan phone number: country prefixes become the national `0` form.
    Phone,
    /// An account or contract number: only separators are dropped.
    Account,
}

/// Why a subscriber number could not be normalized.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("the number is empty")]
    Empty,
    #[error("the number contains characters other than digits and separators")]
    InvalidCharacters,
    #[error("the number has a country prefix other than +58")]
    ForeignCountry,
    #[error("the number is too long")]
    TooLong,
    #[error("the number has more than one country prefix")]
    RepeatedCountryPrefix,
}

/// A subscriber number that has been normalized and matched against its
/// service's number rule. Built only by [`crate::Catalog::parse_number`].
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceNumber(String);

impl ServiceNumber {
    pub(crate) fn new_checked(normalized: String) -> ServiceNumber {
        ServiceNumber(normalized)
    }

    /// Rebuilds a number read back from storage, where it was stored checked.
    pub fn from_stored(value: String) -> ServiceNumber {
        ServiceNumber(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four digits, which the sandbox simulator keys its answers on.
    pub fn last_four(&self) -> &str {
        let start = self.0.len().saturating_sub(4);
        &self.0[start..]
    }

    /// The number with all but its first 4 and last 2 digits hidden, for logs.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masking keeps subscriber numbers out of logs even through `{:?}`.
impl fmt::Debug for ServiceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServiceNumber({})", self.masked())
    }
}

/// Hides all but the first 4 and last 2 characters of a subscriber number.
pub fn mask(number: &str) -> String {
    let length = number.chars().count();
    if length <= 6 {
        return "*".repeat(length);
    }
    number
        .chars()
        .enumerate()
        .map(|(index, character)| if index < 4 || index >= length - 2 { character } else { '*' })
        .collect()
}

/// Normalizes raw user input for a service whose numbers are of `kind`. The
/// result is digits only; whether it fits the service is the catalog's check.
pub fn normalize(raw: &str, kind: NumberKind) -> Result<String, NumberError> {
    if raw.chars().count() > MAX_RAW_LENGTH {
        return Err(NumberError::TooLong);
    }
    let compact: String = raw.chars().filter(|c| !SEPARATORS.contains(c)).collect();
    if compact.is_empty() {
        return Err(NumberError::Empty);
    }

    let national = match kind {
        NumberKind::Phone => to_national_phone(&compact)?,
        NumberKind::Account => compact,
    };
    // `+58` or `0058` alone leaves nothing once the prefix is gone.
    if national.is_empty() {
        return Err(NumberError::Empty);
    }

    if !national.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(NumberError::InvalidCharacters);
    }
    Ok(national)
}

/// Turns `+58…`, `0058…` and `58…` into the national form with its trunk `0`,
/// and restores a dropped leading `0` (`4243675525` becomes `04243675525`).
fn to_national_phone(compact: &str) -> Result<String, NumberError> {
    let without_country = if let Some(rest) = compact.strip_prefix("+58") {
        rest
    } else if compact.starts_with('+') {
        return Err(NumberError::ForeignCountry);
    } else if let Some(rest) = compact.strip_prefix("0058") {
        rest
    } else if compact.len() == 12 && compact.starts_with("58") {
        // 58 + 10 national digits. A national number never starts with 58:
        // after the trunk 0, area codes start with 2 and mobile codes with 4.
        &compact[2..]
    } else {
        compact
    };
    // A second prefix would be stripped by normalizing the result again, so
    // normalization would not be idempotent; no real number has one.
    if without_country.len() != compact.len() && has_country_prefix(without_country) {
        return Err(NumberError::RepeatedCountryPrefix);
    }

    // A national number without its trunk 0 has 10 digits; restore the 0. The
    // form `+58 (0)424…` already carries it.
    if without_country.len() == 10 && !without_country.starts_with('0') {
        return Ok(format!("0{without_country}"));
    }
    Ok(without_country.to_string())
}

/// Tells whether `number` starts with a form of a country prefix that
/// [`to_national_phone`] strips or rejects.
fn has_country_prefix(number: &str) -> bool {
    number.starts_with('+') || number.starts_with("0058") || (number.len() == 12 && number.starts_with("58"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_forms_normalize_to_national() {
        let forms = [
            "+58 424 367 5525",
            "+58-424-3675525",
            "58 4243675525",
            "584243675525",
            "0058 424 3675525",
            "0424-367.55.25",
            "(0424) 3675525",
            "424 3675525",
            "4243675525",
            "04243675525",
            "+58 (0)424 3675525",
        ];
        for form in forms {
            assert_eq!(normalize(form, NumberKind::Phone).as_deref(), Ok("04243675525"), "form {form}");
        }
    }

    #[test]
    fn phone_errors_are_named() {
        assert_eq!(normalize("", NumberKind::Phone), Err(NumberError::Empty));
        assert_eq!(normalize(" - ", NumberKind::Phone), Err(NumberError::Empty));
        assert_eq!(normalize("+1 212 555 0100", NumberKind::Phone), Err(NumberError::ForeignCountry));
        assert_eq!(normalize("0414abc0001", NumberKind::Phone), Err(NumberError::InvalidCharacters));
        assert_eq!(normalize("04140000001'; --", NumberKind::Phone), Err(NumberError::InvalidCharacters));
        assert_eq!(normalize(&"1".repeat(65), NumberKind::Phone), Err(NumberError::TooLong));
    }

    /// Found by the `number_normalize` fuzz target.
    #[test]
    fn country_prefix_alone_is_empty() {
        for raw in ["0058", " 0058", "+58", "+58 ()"] {
            assert_eq!(normalize(raw, NumberKind::Phone), Err(NumberError::Empty), "raw {raw:?}");
        }
    }

    /// Normalization is idempotent, as the `number_normalize` fuzz target
    /// checks: each of these used to give a number that normalized again to
    /// something else.
    #[test]
    fn repeated_country_prefix_is_rejected() {
        for raw in ["00580058123", "+58 584243675525", "+580058"] {
            assert_eq!(normalize(raw, NumberKind::Phone), Err(NumberError::RepeatedCountryPrefix), "raw {raw:?}");
        }
    }

    #[test]
    fn account_numbers_only_lose_separators() {
        assert_eq!(normalize("5800-1234.56", NumberKind::Account).as_deref(), Ok("5800123456"));
        assert_eq!(normalize("+58123456", NumberKind::Account), Err(NumberError::InvalidCharacters));
    }

    #[test]
    fn masking_hides_the_middle() {
        assert_eq!(mask("04243675525"), "0424*****25");
        assert_eq!(mask("12345"), "*****");
    }
}
