//! The Provisio local stack: the HTTP API, the state machines from statemachines/ (interpreted), the same handler
//! functions the Lambda binaries run, an in-memory store, a virtual clock and `/_local` control endpoints — in
//! one process.

pub mod auth;
pub mod clock;
pub mod http;
pub mod seed;
pub mod stack;

pub use stack::{Config, LocalStack, Store};
