//! Command-line handlers; `main` wires them into clap.

pub mod store;
