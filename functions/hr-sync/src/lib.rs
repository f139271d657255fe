//! hr-sync: not built yet.
