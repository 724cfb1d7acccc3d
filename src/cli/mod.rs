//! Sub-commands of the `traveler` binary: argument structs and their handlers.
//! Handlers return the process exit code; only `main` exits.

pub mod app;
pub mod check;
pub mod export;
pub mod people;
pub mod station;
pub mod station_link;
pub mod store;
pub mod store_flag;
