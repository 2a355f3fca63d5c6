//! Domain types of CPS, free of I/O.
//!
//! Values are parsed once at the edge into types that cannot hold an invalid
//! value: a [`Money`] is an exact count of cents, a [`ServiceNumber`] exists only
//! normalized and checked against its service's number rule.

pub mod catalog;
pub mod money;
pub mod number;
pub mod operation;
pub mod time;

pub use catalog::{Catalog, CatalogError, Service, ServiceId, ServiceOverride};
pub use money::{AmountError, Money};
pub use number::{NumberError, ServiceNumber};
pub use operation::{ClientId, OperationId, OperationStatus};
pub use time::{format_ms, parse_rfc3339_ms};
