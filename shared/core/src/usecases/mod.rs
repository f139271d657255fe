//! Use cases the Lambda handlers call.
