//! Business-rule checks shared by the pay and balance endpoints: the service
//! must exist and be enabled, and the number must fit it.

use std::sync::Arc;

use cps_domain::catalog::NumberRejection;
use cps_domain::{Catalog, Service, ServiceNumber};

use crate::problem::{FieldError, Message};

pub(super) const NUMBER_FIELD: &str = "numberService";
pub(super) const SERVICE_FIELD: &str = "idTypeService";
pub(super) const REFERENCE_FIELD: &str = "reference";

/// The maximum length of a client reference, in bytes.
const MAX_REFERENCE_LENGTH: usize = 64;

/// Finds an enabled service, or the fault naming `idTypeService`.
pub(super) fn find_service(catalog: &Catalog, id: i64) -> Result<Arc<Service>, FieldError> {
    let Some(service) = catalog.service(id) else {
        return Err(FieldError {
            field: SERVICE_FIELD.into(),
            code: "UNKNOWN_SERVICE",
            message: Message::new("unknown-service-detail").arg("id", id),
        });
    };
    if !service.enabled {
        return Err(FieldError {
            field: SERVICE_FIELD.into(),
            code: "SERVICE_DISABLED",
            message: Message::new("service-disabled-detail").arg("service", &service.code),
        });
    }
    Ok(service.clone())
}

/// Normalizes and checks a number for `service`, or the fault naming
/// `numberService`.
pub(super) fn parse_number(catalog: &Catalog, service: &Service, raw: &str) -> Result<ServiceNumber, FieldError> {
    match catalog.parse_number(service, raw) {
        Ok(number) => Ok(number),
        Err(NumberRejection::OtherService(other)) => Err(FieldError {
            field: NUMBER_FIELD.into(),
            code: "NUMBER_SERVICE_MISMATCH",
            message: Message::new("number-service-mismatch-detail")
                .arg("number", raw)
                .arg("service", &service.code)
                .arg("suggested", &other.code)
                .arg("suggestedId", other.id),
        }),
        Err(NumberRejection::Invalid(_)) => Err(FieldError {
            field: NUMBER_FIELD.into(),
            code: "INVALID_SERVICE_NUMBER",
            message: Message::new("invalid-service-number-detail")
                .arg("number", raw)
                .arg("service", &service.code)
                .arg_per_language("format", &service.rule.format_es, &service.rule.format_en),
        }),
    }
}

/// 1 to 64 characters of `A-Z a-z 0-9 - _ . :`.
pub(super) fn is_valid_reference(reference: &str) -> bool {
    let allowed = |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b':');
    !reference.is_empty() && reference.len() <= MAX_REFERENCE_LENGTH && reference.bytes().all(allowed)
}
