//! hr-webhook: not built yet.
