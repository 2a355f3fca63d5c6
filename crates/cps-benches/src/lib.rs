//! Home of the criterion benchmarks in `benches/`; no code of its own. It is
//! a separate crate so the test suite does not build criterion.
