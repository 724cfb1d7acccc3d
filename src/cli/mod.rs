//! cli
pub mod station;
