//! People: PIN hashing and the checks every signature and log-in goes through.

pub mod auth;
pub mod certs;
pub mod pin;
pub mod roster_file;
