//! The domain model, serialized camelCase: the same shapes are stored, returned by the API and used in seed files.

mod approval;
mod assignment;
mod caller;
mod catalog;
mod event;
mod identity;
mod license;
mod request;

pub use approval::*;
pub use assignment::*;
pub use caller::*;
pub use catalog::*;
pub use event::*;
pub use identity::*;
pub use license::*;
pub use request::*;

pub type Timestamp = chrono::DateTime<chrono::Utc>;
