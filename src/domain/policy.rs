//! policy gates
