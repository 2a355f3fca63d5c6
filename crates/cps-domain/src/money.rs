//! Exact bolívar amounts in integer cents.
//!
//! Amounts arrive as JSON numbers or decimal strings. They are parsed from the
//! JSON text itself, so a value such as `8.20` is exactly 820 cents and never
//! passes through binary floating point.

use std::fmt;

/// The number of cents in one bolívar (VES has 2 decimals, ISO 4217).
const CENTS_PER_UNIT: i64 = 100;

/// The largest amount any parse accepts: 10^13 VES, far above every service's
/// maximum, so sums of many balances still fit in an `i64`.
const MAX_CENTS: i64 = 1_000_000_000_000_000;

/// An exact amount of bolívares (VES), stored as a signed count of cents.
///
/// Balances may be zero; amounts parsed from requests are always positive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

/// Why a request amount was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// The JSON value is neither a number nor a string (`null`, `true`, an array).
    #[error("amount must be a JSON number or a decimal string")]
    WrongType,
    /// The text is not a decimal number (`"10,50"`, `""`, `"abc"`).
    #[error("amount is not a decimal number")]
    NotDecimal,
    /// Zero or negative.
    #[error("amount must be greater than zero")]
    NotPositive,
    /// More than 2 significant decimals (`10.005`).
    #[error("amount has more than 2 decimals")]
    TooManyDecimals,
    /// Beyond what any service accepts (`1e400`).
    #[error("amount is too large")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn from_cents(cents: i64) -> Money {
        Money(cents)
    }

    pub fn cents(self) -> i64 {
        self.0
    }

    /// Parses the raw JSON text of a request's `amount` value: a JSON number
    /// (exponents allowed) or a JSON string holding a plain decimal.
    pub fn parse_json_amount(raw_json: &str) -> Result<Money, AmountError> {
        let raw_json = raw_json.trim();
        let first = raw_json.chars().next().ok_or(AmountError::WrongType)?;

        let money = match first {
            '"' => {
                let text: String = serde_json::from_str(raw_json).map_err(|_| AmountError::NotDecimal)?;
                parse_decimal(&text, false)?
            }
            '-' | '0'..='9' => parse_decimal(raw_json, true)?,
            _ => return Err(AmountError::WrongType),
        };

        if money.0 <= 0 {
            return Err(AmountError::NotPositive);
        }
        Ok(money)
    }

    /// Parses a plain non-negative decimal such as `0`, `10.5` or
    /// `1000000.00`, the form operators type and billers send.
    pub fn parse_decimal(text: &str) -> Result<Money, AmountError> {
        parse_decimal(text.trim(), false)
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let per_unit = CENTS_PER_UNIT as u64;
        write!(f, "{sign}{}.{:02}", abs / per_unit, abs % per_unit)
    }
}

impl serde::Serialize for Money {
    /// Amounts leave CPS as strings with exactly 2 decimals, so no client has to
    /// parse them through binary floating point.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        let text = String::deserialize(deserializer)?;
        Money::parse_decimal(&text).map_err(serde::de::Error::custom)
    }
}

/// Parses `-?digits[.digits][e[+-]digits]` into cents. The exponent is accepted
/// only where JSON allows it (`allow_exponent`); a decimal string never has one.
fn parse_decimal(text: &str, allow_exponent: bool) -> Result<Money, AmountError> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };

    let (mantissa, exponent) = split_exponent(unsigned, allow_exponent)?;
    let (integer_digits, fraction_digits) = match mantissa.split_once('.') {
        Some((integer, fraction)) => (integer, fraction),
        None => (mantissa, ""),
    };
    if integer_digits.is_empty() || !all_ascii_digits(integer_digits) {
        return Err(AmountError::NotDecimal);
    }
    if mantissa.contains('.') && (fraction_digits.is_empty() || !all_ascii_digits(fraction_digits)) {
        return Err(AmountError::NotDecimal);
    }

    // The value is digits * 10^power cents, where digits is the mantissa with
    // its point removed.
    let mut digits = format!("{integer_digits}{fraction_digits}");
    let mut power = exponent.saturating_sub(fraction_digits.len() as i64).saturating_add(2);

    // Trailing zeros below a cent carry no value: 10.500 is 10.50.
    while power < 0 && digits.ends_with('0') {
        digits.pop();
        power += 1;
    }
    let significant = digits.trim_start_matches('0');

    // Zero (`0`, `-0`, `0.00`) is a valid decimal; callers that need a
    // positive amount check for it.
    if significant.is_empty() {
        return Ok(Money::ZERO);
    }
    if negative {
        return Err(AmountError::NotPositive);
    }
    if power < 0 {
        return Err(AmountError::TooManyDecimals);
    }
    if significant.len() as i64 + power > 16 {
        return Err(AmountError::TooLarge);
    }

    let cents = significant
        .parse::<i64>()
        .ok()
        .and_then(|value| value.checked_mul(10_i64.pow(power as u32)))
        .filter(|cents| *cents <= MAX_CENTS)
        .ok_or(AmountError::TooLarge)?;
    Ok(Money(cents))
}

/// Splits `1.5e3` into (`1.5`, 3). Exponents beyond ±100000 saturate: such a
/// value is either far too large or has far too many decimals anyway.
fn split_exponent(text: &str, allow_exponent: bool) -> Result<(&str, i64), AmountError> {
    let Some(position) = text.find(['e', 'E']) else {
        return Ok((text, 0));
    };
    if !allow_exponent {
        return Err(AmountError::NotDecimal);
    }

    let (mantissa, exponent_text) = (&text[..position], &text[position + 1..]);
    let (exponent_sign, exponent_digits) = match exponent_text.as_bytes().first() {
        Some(b'-') => (-1, &exponent_text[1..]),
        Some(b'+') => (1, &exponent_text[1..]),
        _ => (1, exponent_text),
    };
    if exponent_digits.is_empty() || !all_ascii_digits(exponent_digits) {
        return Err(AmountError::NotDecimal);
    }

    let significant_digits = exponent_digits.trim_start_matches('0');
    let magnitude = if significant_digits.len() > 6 {
        100_000
    } else {
        significant_digits.parse::<i64>().unwrap_or(0).min(100_000)
    };
    Ok((mantissa, exponent_sign * magnitude))
}

fn all_ascii_digits(text: &str) -> bool {
    text.bytes().all(|byte| byte.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cents(raw: &str) -> Result<i64, AmountError> {
        Money::parse_json_amount(raw).map(Money::cents)
    }

    #[test]
    fn json_amounts_parse_exactly() {
        let cases = [
            ("10", 1000),
            ("10.5", 1050),
            ("10.50", 1050),
            ("10.500", 1050),
            ("\"10.50\"", 1050),
            ("8.20", 820),
            ("0.1", 10),
            ("0.2", 20),
            ("1e1", 1000),
            ("1.05E1", 1050),
            ("100000.00", 10_000_000),
            ("0.01", 1),
        ];
        for (raw, expected) in cases {
            assert_eq!(cents(raw), Ok(expected), "amount {raw}");
        }
    }

    #[test]
    fn invalid_json_amounts_are_rejected() {
        let cases = [
            ("10.005", AmountError::TooManyDecimals),
            ("8.165", AmountError::TooManyDecimals),
            ("1.015", AmountError::TooManyDecimals),
            ("0", AmountError::NotPositive),
            ("-0", AmountError::NotPositive),
            ("-1", AmountError::NotPositive),
            ("-10", AmountError::NotPositive),
            ("0.00", AmountError::NotPositive),
            ("\"10,50\"", AmountError::NotDecimal),
            ("\"\"", AmountError::NotDecimal),
            ("\"-1\"", AmountError::NotPositive),
            ("\"1e3\"", AmountError::NotDecimal),
            ("\" 10\"", AmountError::NotDecimal),
            ("\"10.\"", AmountError::NotDecimal),
            ("\".5\"", AmountError::NotDecimal),
            ("1e400", AmountError::TooLarge),
            ("1e-400", AmountError::TooManyDecimals),
            ("1e99999999999999999999", AmountError::TooLarge),
            ("99999999999999999999", AmountError::TooLarge),
            ("null", AmountError::WrongType),
            ("true", AmountError::WrongType),
            ("[10]", AmountError::WrongType),
            ("{}", AmountError::WrongType),
        ];
        for (raw, expected) in cases {
            assert_eq!(cents(raw), Err(expected), "amount {raw}");
        }
    }

    #[test]
    fn money_displays_two_decimals() {
        assert_eq!(Money::from_cents(1050).to_string(), "10.50");
        assert_eq!(Money::from_cents(7).to_string(), "0.07");
        assert_eq!(Money::from_cents(-1050).to_string(), "-10.50");
        assert_eq!(Money::ZERO.to_string(), "0.00");
    }

    #[test]
    fn sums_stay_exact() {
        let sum =
            Money::parse_json_amount("0.1").unwrap().checked_add(Money::parse_json_amount("0.2").unwrap()).unwrap();
        assert_eq!(sum.to_string(), "0.30");
    }
}
