//! Sub-commands of the `traveler` binary: argument structs and their handlers.
//! Handlers return the process exit code; only `main` exits.

pub mod app;
pub mod cfx;
pub mod check;
// Where read commands write (their own streams, or the local socket's frames).
pub mod console;
pub mod export;
// Controlled work instructions: release, status, diff, show.
pub mod instructions;
pub mod people;
// `traveler people … --hub URL`: the shop roster at the hub.
pub mod people_hub;
// A supervisor's decision at the shop hub (`review --hub`).
pub mod review;
pub mod station;
pub mod station_link;
pub mod store;
pub mod store_flag;

// The supervisor's desk application (`desk --hub`).
pub mod desk;

// Every table the command line prints.
pub mod table;
