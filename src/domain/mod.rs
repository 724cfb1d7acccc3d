//! Pure rules and types: no I/O at all. Everything else in the crate leans on this.

pub mod command;
pub mod component;
pub mod decide;
pub mod deviations;
pub mod event;
pub mod gs1;
// Records of the hub's chain that benches copy into theirs.
pub mod hub_records;
pub mod job;
// A decision of the shop hub mirrored into the bench chain.
pub mod mirror;
pub mod person;
pub mod pin_rules;
pub mod policy;
pub mod release;
pub mod thermal;
pub mod types;
// A board's history across the shop, for rework-cycle limits (#16).
pub mod board;
