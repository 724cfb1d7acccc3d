//! Work instructions: the TOML schema, folder loading and validation.

pub mod diagnostic;
pub mod load;
pub mod release;
pub mod schema;
pub mod validate;

pub use diagnostic::Diagnostic;
pub use load::{Instruction, Library, Loaded, check_text, load_dir};
