//! Operation identity and life cycle.

use std::fmt;
use std::str::FromStr;

/// A payment's state. `pending` becomes `approved` or `rejected` exactly once,
/// because the store finalizes only rows still `pending`.
// NOTE: `Refunded` exists in the schema, but no code sets it until operator
// refunds are built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperationStatus {
    Pending,
    Approved,
    Rejected,
    Refunded,
}

impl OperationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OperationStatus::Pending => "pending",
            OperationStatus::Approved => "approved",
            OperationStatus::Rejected => "rejected",
            OperationStatus::Refunded => "refunded",
        }
    }
}

impl fmt::Display for OperationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OperationStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "pending" => Ok(OperationStatus::Pending),
            "approved" => Ok(OperationStatus::Approved),
            "rejected" => Ok(OperationStatus::Rejected),
            "refunded" => Ok(OperationStatus::Refunded),
            other => Err(format!("unknown operation status {other:?}")),
        }
    }
}

/// An operation id: `op_` and a ULID, so ids sort by creation time.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OperationId(String);

impl OperationId {
    pub fn generate() -> OperationId {
        OperationId(format!("op_{}", ulid::Ulid::new()))
    }

    pub fn from_stored(value: String) -> OperationId {
        OperationId(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A client id: `cl_` and a ULID. Clients authenticate with their api-key; the
/// id is internal and appears in logs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    pub fn generate() -> ClientId {
        ClientId(format!("cl_{}", ulid::Ulid::new()))
    }

    pub fn from_stored(value: String) -> ClientId {
        ClientId(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
