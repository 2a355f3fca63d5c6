//! Subscriber number normalization. A panic fails the target, and so does a
//! normalized number that is empty, has a non-digit, or normalizes to
//! something other than itself.

#![no_main]

use cps_domain::number::{normalize, NumberKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| {
    for kind in [NumberKind::Phone, NumberKind::Account] {
        let Ok(normalized) = normalize(raw, kind) else {
            continue;
        };
        assert!(!normalized.is_empty(), "{raw:?} ({kind:?}) normalized to nothing");
        assert!(normalized.bytes().all(|byte| byte.is_ascii_digit()), "{raw:?} ({kind:?}) gave {normalized:?}");
        assert_eq!(normalize(&normalized, kind).as_ref(), Ok(&normalized), "{raw:?} ({kind:?}) is not stable");
    }
});
