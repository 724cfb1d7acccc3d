//! domain
pub mod thermal;
