//! instruction
