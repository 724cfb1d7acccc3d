//! CFX (IPC-2591) published live to a message broker over AMQP 1.0.
//!
//! The chain is the outbox: the publisher reads the store's records in seq order,
//! turns each into the same CFX messages the export writes (`export::cfx`), sends them,
//! and only once the broker has accepted all of a record's messages moves the durable
//! mark (`outbox`) past it. A crash or an outage therefore never loses or reorders a
//! message; what was sent but not yet marked is sent again with the same `UniqueID`.

pub mod amqp;
pub mod config;
pub mod live;
pub mod outbox;

pub use config::CfxConfig;
pub use live::{BrokerState, Link, LiveConfig};
