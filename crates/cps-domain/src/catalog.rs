//! The service catalog: which basic services exist, their limits and number rules.
//!
//! The catalog is data (`catalog/services.toml`), embedded as the default and
//! replaceable by a file at start-up, so a deployment can change limits, rules,
//! balance support and `enabled` without a rebuild.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use regex::Regex;
use serde::Deserialize;

use crate::money::Money;
use crate::number::{self, NumberError, NumberKind, ServiceNumber};

/// The catalog shipped with CPS.
const DEFAULT_CATALOG: &str = include_str!("../../../catalog/services.toml");

/// A service id as the public API fixes it (`57` is MOVISTAR_PREPAGO).
pub type ServiceId = i64;

/// The basic services CPS can pay, in catalog order.
#[derive(Clone, Debug)]
pub struct Catalog {
    services: Vec<Arc<Service>>,
    by_id: HashMap<ServiceId, usize>,
}

/// One payable service with its limits and number rule.
#[derive(Clone, Debug)]
pub struct Service {
    pub id: ServiceId,
    pub code: String,
    pub name: String,
    pub company: String,
    /// Groups interchangeable services (`mobile`, `landline`, `tv`...), used to
    /// suggest the right service for a number of another operator.
    pub category: String,
    pub can_get_balance: bool,
    pub enabled: bool,
    pub min_amount: Money,
    pub max_amount: Money,
    pub rule: NumberRule,
}

/// The form a service's subscriber numbers must have after normalization.
#[derive(Clone, Debug)]
pub struct NumberRule {
    pub kind: NumberKind,
    pub pattern: Regex,
    pub format_es: String,
    pub format_en: String,
}

/// Why a subscriber number was rejected for a service.
#[derive(Debug)]
pub enum NumberRejection {
    /// Not a number of the service's form at all.
    Invalid(Option<NumberError>),
    /// A valid number of another service of the same category, such as a
    /// Movistar number sent to DIGITEL_PREPAGO. Mobile prefixes identify the
    /// operator because Venezuela has no mobile number portability.
    OtherService(Arc<Service>),
}

/// An operator's change to one service, kept in the database so every
/// instance applies it without a restart. `None` keeps the catalog's value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceOverride {
    pub service_id: ServiceId,
    pub min_amount: Option<Money>,
    pub max_amount: Option<Money>,
    pub enabled: Option<bool>,
    pub can_get_balance: Option<bool>,
}

impl ServiceOverride {
    /// This override with the values `newer` sets replacing its own.
    pub fn merged_with(&self, newer: &ServiceOverride) -> ServiceOverride {
        ServiceOverride {
            service_id: self.service_id,
            min_amount: newer.min_amount.or(self.min_amount),
            max_amount: newer.max_amount.or(self.max_amount),
            enabled: newer.enabled.or(self.enabled),
            can_get_balance: newer.can_get_balance.or(self.can_get_balance),
        }
    }
}

/// Why a catalog file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog is not valid TOML: {0}")]
    Syntax(#[from] toml::de::Error),
    #[error("catalog service {code}: {problem}")]
    Service { code: String, problem: String },
    #[error("catalog rule {rule}: {problem}")]
    Rule { rule: String, problem: String },
    #[error("no service has id {0}")]
    UnknownService(ServiceId),
    #[error("service {code}: the minimum amount {min} exceeds the maximum {max}")]
    InvertedLimits { code: String, min: Money, max: Money },
}

impl Catalog {
    /// Loads the catalog shipped with CPS.
    pub fn default_catalog() -> Catalog {
        // The embedded file is checked by the unit tests below, so a broken one
        // never ships.
        Catalog::from_toml(DEFAULT_CATALOG).expect("the embedded catalog is valid")
    }

    /// Parses and checks a catalog: unique ids and codes, known rules, regular
    /// expressions that compile, and 0 < min_amount <= max_amount.
    pub fn from_toml(text: &str) -> Result<Catalog, CatalogError> {
        let file: CatalogFile = toml::from_str(text)?;
        let rules = compile_rules(&file.rules)?;

        let mut services = Vec::with_capacity(file.services.len());
        let mut by_id = HashMap::new();
        let mut codes = HashSet::new();
        for entry in file.services {
            let service = build_service(entry, &file.defaults, &rules)?;
            if by_id.insert(service.id, services.len()).is_some() || !codes.insert(service.code.clone()) {
                return Err(CatalogError::Service {
                    code: service.code.clone(),
                    problem: "id or code appears twice".into(),
                });
            }
            services.push(Arc::new(service));
        }
        Ok(Catalog { services, by_id })
    }

    /// This catalog with operator overrides applied. Fails on an unknown
    /// service or limits that would leave no valid amount.
    pub fn with_overrides(&self, overrides: &[ServiceOverride]) -> Result<Catalog, CatalogError> {
        let mut services = self.services.clone();
        for change in overrides {
            let index = *self.by_id.get(&change.service_id).ok_or(CatalogError::UnknownService(change.service_id))?;
            let mut service = Service::clone(&services[index]);
            service.min_amount = change.min_amount.unwrap_or(service.min_amount);
            service.max_amount = change.max_amount.unwrap_or(service.max_amount);
            service.enabled = change.enabled.unwrap_or(service.enabled);
            service.can_get_balance = change.can_get_balance.unwrap_or(service.can_get_balance);
            if service.min_amount > service.max_amount {
                return Err(CatalogError::InvertedLimits {
                    code: service.code,
                    min: service.min_amount,
                    max: service.max_amount,
                });
            }
            services[index] = Arc::new(service);
        }
        Ok(Catalog { services, by_id: self.by_id.clone() })
    }

    pub fn services(&self) -> &[Arc<Service>] {
        &self.services
    }

    pub fn service(&self, id: ServiceId) -> Option<&Arc<Service>> {
        self.by_id.get(&id).map(|index| &self.services[*index])
    }

    /// Normalizes `raw` and checks it against `service`'s rule. A number that
    /// fits another service of the same category names that service instead.
    pub fn parse_number(&self, service: &Service, raw: &str) -> Result<ServiceNumber, NumberRejection> {
        let normalized =
            number::normalize(raw, service.rule.kind).map_err(|error| NumberRejection::Invalid(Some(error)))?;
        if service.rule.pattern.is_match(&normalized) {
            return Ok(ServiceNumber::new_checked(normalized));
        }

        let other = self.services.iter().find(|candidate| {
            candidate.id != service.id
                && candidate.category == service.category
                && candidate.rule.kind == service.rule.kind
                && candidate.rule.pattern.is_match(&normalized)
        });
        match other {
            Some(other) => Err(NumberRejection::OtherService(other.clone())),
            None => Err(NumberRejection::Invalid(None)),
        }
    }
}

impl Service {
    pub fn amount_in_range(&self, amount: Money) -> bool {
        self.min_amount <= amount && amount <= self.max_amount
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    defaults: Defaults,
    rules: HashMap<String, RuleEntry>,
    services: Vec<ServiceEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    min_amount: Money,
    max_amount: Money,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    kind: NumberKind,
    pattern: String,
    format_es: String,
    format_en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceEntry {
    id: ServiceId,
    code: String,
    name: String,
    company: String,
    category: String,
    rule: String,
    can_get_balance: bool,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
    min_amount: Option<Money>,
    max_amount: Option<Money>,
}

fn enabled_by_default() -> bool {
    true
}

struct CompiledRule {
    kind: NumberKind,
    pattern: Regex,
    format_es: String,
    format_en: String,
}

fn compile_rules(entries: &HashMap<String, RuleEntry>) -> Result<HashMap<String, CompiledRule>, CatalogError> {
    let mut rules = HashMap::new();
    for (name, entry) in entries {
        if !entry.pattern.starts_with('^') || !entry.pattern.ends_with('$') {
            return Err(CatalogError::Rule {
                rule: name.clone(),
                problem: "pattern must be anchored with ^ and $ so it matches the whole number".into(),
            });
        }
        let pattern = Regex::new(&entry.pattern)
            .map_err(|error| CatalogError::Rule { rule: name.clone(), problem: format!("invalid pattern: {error}") })?;
        let rule = CompiledRule {
            kind: entry.kind,
            pattern,
            format_es: entry.format_es.clone(),
            format_en: entry.format_en.clone(),
        };
        rules.insert(name.clone(), rule);
    }
    Ok(rules)
}

fn build_service(
    entry: ServiceEntry,
    defaults: &Defaults,
    rules: &HashMap<String, CompiledRule>,
) -> Result<Service, CatalogError> {
    let problem = |text: &str| CatalogError::Service { code: entry.code.clone(), problem: text.to_string() };

    let rule = rules.get(&entry.rule).ok_or_else(|| problem("names a rule that is not defined"))?;
    let min_amount = entry.min_amount.unwrap_or(defaults.min_amount);
    let max_amount = entry.max_amount.unwrap_or(defaults.max_amount);
    if min_amount <= Money::ZERO || min_amount > max_amount {
        return Err(problem("needs 0 < min_amount <= max_amount"));
    }

    Ok(Service {
        id: entry.id,
        code: entry.code,
        name: entry.name,
        company: entry.company,
        category: entry.category,
        can_get_balance: entry.can_get_balance,
        enabled: entry.enabled,
        min_amount,
        max_amount,
        rule: NumberRule {
            kind: rule.kind,
            pattern: rule.pattern.clone(),
            format_es: rule.format_es.clone(),
            format_en: rule.format_en.clone(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::default_catalog()
    }

    #[test]
    fn default_catalog_has_the_twenty_services() {
        let ids: Vec<ServiceId> = catalog().services().iter().map(|service| service.id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            vec![57, 58, 59, 60, 61, 62, 63, 64, 207, 208, 209, 210, 211, 212, 213, 214, 215, 216, 228, 229]
        );
    }

    #[test]
    fn default_limits_apply() {
        let service = catalog().service(57).unwrap().clone();
        assert_eq!(service.min_amount.to_string(), "1.00");
        assert_eq!(service.max_amount.to_string(), "100000.00");
        assert!(!service.can_get_balance);
        assert!(catalog().service(63).unwrap().can_get_balance);
    }

    #[test]
    fn digitel_accepts_0412_and_0422() {
        let catalog = catalog();
        let digitel = catalog.service(59).unwrap();
        for raw in ["04121234567", "04221234567", "+58 422 123 4567"] {
            assert!(catalog.parse_number(digitel, raw).is_ok(), "number {raw}");
        }
    }

    #[test]
    fn wrong_operator_names_right_service() {
        let catalog = catalog();
        let cases = [
            (59, "04140000001", "MOVISTAR_PREPAGO"),
            (57, "04121234567", "DIGITEL_PREPAGO"),
            (57, "04261234567", "MOVILNET_PREPAGO"),
            (64, "04240000001", "MOVISTAR_INTERNET"),
        ];
        for (service_id, raw, expected) in cases {
            let service = catalog.service(service_id).unwrap();
            match catalog.parse_number(service, raw) {
                Err(NumberRejection::OtherService(other)) => assert_eq!(other.code, expected, "number {raw}"),
                other => panic!("number {raw} for {service_id}: {other:?}"),
            }
        }
    }

    #[test]
    fn unused_mobile_codes_are_invalid() {
        let catalog = catalog();
        let movistar = catalog.service(57).unwrap();
        for raw in ["04150000001", "04170000001", "041400000012", "0414000000", "02123457654"] {
            assert!(matches!(catalog.parse_number(movistar, raw), Err(NumberRejection::Invalid(_))), "number {raw}");
        }
    }

    #[test]
    fn landlines_follow_area_codes() {
        let catalog = catalog();
        let landline = catalog.service(63).unwrap();
        assert!(catalog.parse_number(landline, "0212-3457654").is_ok());
        assert!(catalog.parse_number(landline, "02003457654").is_err());
    }

    #[test]
    fn account_numbers_keep_their_digits() {
        let catalog = catalog();
        let corpoelec = catalog.service(216).unwrap();
        assert_eq!(catalog.parse_number(corpoelec, "1234-5678").unwrap().as_str(), "12345678");
        assert!(catalog.parse_number(corpoelec, "12345").is_err());
        assert!(catalog.parse_number(corpoelec, "123456789012345").is_err());
    }

    #[test]
    fn bad_catalogs_are_rejected() {
        let unanchored = DEFAULT_CATALOG.replace("^04(12|22)[0-9]{7}$", "04(12|22)[0-9]{7}");
        assert!(matches!(Catalog::from_toml(&unanchored), Err(CatalogError::Rule { .. })));

        let inverted = DEFAULT_CATALOG.replace("max_amount = \"100000.00\"", "max_amount = \"0.50\"");
        assert!(matches!(Catalog::from_toml(&inverted), Err(CatalogError::Service { .. })));

        let unknown_field = format!("{DEFAULT_CATALOG}\n[extra]\nx = 1\n");
        assert!(matches!(Catalog::from_toml(&unknown_field), Err(CatalogError::Syntax(_))));
    }

    #[test]
    fn overrides_change_only_what_they_set() {
        let change = ServiceOverride {
            service_id: 57,
            max_amount: Some(Money::from_cents(50_000)),
            enabled: Some(false),
            ..ServiceOverride::default()
        };
        let changed = catalog().with_overrides(&[change]).unwrap();

        let movistar = changed.service(57).unwrap();
        assert_eq!((movistar.min_amount.cents(), movistar.max_amount.cents()), (100, 50_000));
        assert!(!movistar.enabled);
        assert!(!movistar.can_get_balance);
        assert!(changed.service(59).unwrap().enabled);
    }

    #[test]
    fn overrides_are_checked() {
        let unknown = ServiceOverride { service_id: 1, ..ServiceOverride::default() };
        assert!(matches!(catalog().with_overrides(&[unknown]), Err(CatalogError::UnknownService(1))));

        let inverted =
            ServiceOverride { service_id: 57, min_amount: Some(Money::from_cents(20_000_000)), ..Default::default() };
        assert!(matches!(catalog().with_overrides(&[inverted]), Err(CatalogError::InvertedLimits { .. })));
    }

    #[test]
    fn override_merge_keeps_unset_values() {
        let older = ServiceOverride {
            service_id: 57,
            enabled: Some(false),
            max_amount: Some(Money::from_cents(9)),
            ..Default::default()
        };
        let newer = ServiceOverride { service_id: 57, enabled: Some(true), ..Default::default() };
        let merged = older.merged_with(&newer);
        assert_eq!((merged.enabled, merged.max_amount), (Some(true), Some(Money::from_cents(9))));
    }
}
