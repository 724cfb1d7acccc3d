//! People: PIN hashing, the checks every signature and log-in goes through, the
//! admin's checks on roster changes, roster import and certification reports.

pub mod admin;
pub mod auth;
pub mod certs;
pub mod pin;
pub mod roster_file;
// When the bench last caught up with the shop roster at the hub.
pub mod roster_cache;
