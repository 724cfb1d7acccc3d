//! The shop hub: every bench's chain in PostgreSQL, verified on arrival.
//!
//! ```text
//! bench: traveler (store) --sync task: hello, records after the hub's head--> hub serve
//! hub:   traveler hub serve (stateless, axum) --tokio-postgres--> PostgreSQL
//! desk:  traveler where-used|history|reviews|verify --hub URL ----------------> hub serve
//! ```
//!
//! The bench never waits for the hub: its chain is the outbox and the hub's head is
//! the acknowledgement (`sync`). The hub checks every record against the chain it
//! holds (`check`, pure) and the database checks again (CHECK constraint and trigger in
//! `migrations/`), so history is never rewritten and a fork is refused and recorded.

pub mod backup;
pub mod check;
pub mod cli;
pub mod client;
pub mod config;
pub mod db;
pub mod export;
pub mod identity;
pub mod migrate;
pub mod queries;
pub mod server;
pub mod sync;
pub mod wire;

// The hub's own chain of decisions, the shop roster and reviews at the hub (#16).
pub mod chain;
pub mod mirror;
pub mod review;
pub mod roster;

// The desk: its reads and the live changes it follows (#16).
pub mod desk;
pub mod notify;

// A board's jobs at every bench, for rework-cycle limits and history (#16).
pub mod boards;
// Instruction releases and the shop policy set at the hub, followed by every bench.
pub mod policy;
pub mod release;
// The hub→bench mirror of hub records benches follow (#16: one roster).
pub mod feed;
pub mod people;
pub mod pull;

pub use config::HubConfig;
pub use sync::{SyncState, spawn};
