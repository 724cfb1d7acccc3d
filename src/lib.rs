//! traveler: the digital traveler of an electronics rework bench.
//!
//! Module directions (see ARCHITECTURE): `domain` imports nothing of ours;
//! `instruction` only `domain`; `store`, `station` and `export` never import `tui`;
//! only the binary and `tui` know there is a terminal.

pub mod cfx;
pub mod cli;
pub mod config;
pub mod core;
pub mod demo;
pub mod domain;
pub mod export;
pub mod hub;
pub mod instruction;
pub mod local;
pub mod logging;
pub mod memory;
pub mod people;
pub mod private_fs;
pub mod station;
pub mod store;
pub mod tui;

// The supervisor's desk: reviews across every bench from the hub (#16).
pub mod desk;
