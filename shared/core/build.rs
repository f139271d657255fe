//! Generates `names.rs` from shared/names.json so Rust and CDK read one list of table, error and event names.
use std::{env, fs, path::PathBuf};

fn main() {
    let src = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("../names.json");
    println!("cargo:rerun-if-changed={}", src.display());
    let names: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&src).expect("read shared/names.json"))
            .expect("shared/names.json is valid JSON");

    let mut out = String::new();
    let source = names["eventSource"].as_str().expect("eventSource");
    out.push_str(&format!("/// EventBridge `source` of every Provisio event.\npub const EVENT_SOURCE: &str = {source:?};\n"));
    for (section, module) in [
        ("tables", "tables"),
        ("stateMachines", "state_machines"),
        ("errors", "errors"),
        ("eventTypes", "event_types"),
    ] {
        out.push_str(&format!("pub mod {module} {{\n"));
        let entries = names[section].as_object().expect("section is an object");
        for (key, value) in entries {
            let value = value.as_str().expect("names are strings");
            out.push_str(&format!(
                "    pub const {}: &str = {value:?};\n",
                screaming(key)
            ));
        }
        let all: Vec<String> = entries.keys().map(|k| screaming(k)).collect();
        out.push_str(&format!(
            "    pub const ALL: &[&str] = &[{}];\n}}\n",
            all.join(", ")
        ));
    }
    let dest = PathBuf::from(env::var("OUT_DIR").unwrap()).join("names.rs");
    fs::write(dest, out).expect("write names.rs");
}

fn screaming(camel: &str) -> String {
    let mut s = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            s.push('_');
        }
        s.push(c.to_ascii_uppercase());
    }
    s
}
