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
// The shop-wide policy set at the hub (local review allowed or desk-only).
pub mod shop_policy;
pub mod thermal;
pub mod types;
// A board's history across the shop, for rework-cycle limits (#16).
pub mod board;
// Whether a bench lock becomes a lock of the whole shop, by chain order (#16).
pub mod lock_promotion;
// Whether the hub may decide a review of a submission (#16).
pub mod hub_review;
