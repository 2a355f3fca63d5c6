//! The CPS HTTP API: routes, request signing, and problem+json errors.
//!
//! This crate handles HTTP and contains no SQL: it authenticates and parses
//! requests, hands validated commands to `cps-payments`, and turns outcomes
//! into responses.

mod auth;
mod context;
mod json_body;
mod metrics;
mod problem;
mod query;
mod rate_limit;
mod routes;
mod serve;
mod startup;
mod state;

pub use cps_signing::{check_signature, sign};
pub use rate_limit::RateLimit;
pub use startup::{Server, ServerConfig, DEFAULT_RATE_BURST, DEFAULT_RATE_PER_SECOND};
