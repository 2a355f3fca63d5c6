//! Black-box API tests: each test starts a real server on port 0 with a fresh
//! SQLite file and talks to it over HTTP.

mod helpers;

mod auth;
mod catalog;
mod errors;
mod inputs;
mod observability;
mod openapi;
mod operations;
mod operator;
mod pay;
mod rate_limit;
