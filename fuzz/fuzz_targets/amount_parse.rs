//! Amount parsing, both the JSON amount and the plain decimal parser. A panic
//! fails the target, and so does an accepted amount whose printed text does
//! not parse back to the same value.

#![no_main]

use cps_domain::{AmountError, Money};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    check_json_amount(text);
    check_decimal(text);
});

fn check_json_amount(raw_json: &str) {
    let Ok(amount) = Money::parse_json_amount(raw_json) else {
        return;
    };
    assert!(amount.cents() > 0, "{raw_json:?} parsed to a non-positive {amount}");

    let printed = amount.to_string();
    assert_eq!(Money::parse_json_amount(&printed), Ok(amount), "{raw_json:?} printed as {printed:?}");
    assert_eq!(Money::parse_json_amount(&format!("\"{printed}\"")), Ok(amount), "{raw_json:?} as a string");
    assert_eq!(Money::parse_decimal(&printed), Ok(amount), "{raw_json:?} printed as {printed:?}");

    // Zeros after the last decimal carry no value.
    let trimmed = raw_json.trim();
    if trimmed.starts_with(|c: char| c.is_ascii_digit()) && trimmed.contains('.') && !trimmed.contains(['e', 'E']) {
        let padded = format!("{trimmed}000");
        assert_eq!(Money::parse_json_amount(&padded), Ok(amount), "{padded:?} differs from {raw_json:?}");
    }
}

fn check_decimal(text: &str) {
    match Money::parse_decimal(text) {
        Ok(amount) => {
            assert!(amount.cents() >= 0, "{text:?} parsed to a negative {amount}");
            let printed = amount.to_string();
            assert_eq!(Money::parse_decimal(&printed), Ok(amount), "{text:?} printed as {printed:?}");
        }
        // A plain decimal is never mistaken for a JSON type error.
        Err(error) => assert_ne!(error, AmountError::WrongType, "{text:?}"),
    }
}
