//! `traveler desk --hub URL`: the supervisor's terminal application on any PC.
//!
//! The review queue of every bench, live (the hub's LISTEN/NOTIFY, long-polled);
//! a job's whole record as the hub verified it, shown by the bench's own review
//! screen; approve or reject with comment, badge and PIN, decided at the hub by
//! the bench's rules (`POST /v1/reviews`). Elm-style like the bench: `update` is
//! the only place the state changes, `view` draws, `exec` talks to the hub.

pub mod exec;
pub mod keys;
pub mod open;
pub mod runtime;
pub mod state;
pub mod update;
pub mod view;

pub use exec::{Executor, follow, settle};
pub use state::DeskState;
pub use update::{Msg, start, update};
