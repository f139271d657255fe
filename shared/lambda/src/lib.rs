//! Lambda glue shared by every Provisio function: the transport-neutral HTTP request/response the handlers
//! speak (API Gateway on AWS, axum in the local stack), problem+json errors, verified claims, Diagnostic names
//! for Step Functions, and the runtime loops main.rs files call.

pub mod api;
pub mod claims;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod runtime;
pub mod task;
pub mod wiring;

pub use api::{ApiRequest, ApiResponse};
pub use task::TaskError;
