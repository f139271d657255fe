//! Lambda entry point: wiring only. The behaviour lives in lib.rs.

fn main() {}
