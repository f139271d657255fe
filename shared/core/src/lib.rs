//! Provisio domain: what a request, an approval, a seat and a holding are, the rules over them (CEL), the ports
//! the outside world plugs into, and the use cases the Lambda handlers call. No AWS or Lambda types live here.

pub mod audit;
pub mod error;
pub mod model;
pub mod policy;
pub mod ports;
pub mod signature;
pub mod usecases;

pub use error::{Error, FieldError, Result};

/// Table, state machine, error and event names shared with the CDK app (generated from shared/names.json).
pub mod names {
    include!(concat!(env!("OUT_DIR"), "/names.rs"));
}
