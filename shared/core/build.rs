//! Generates `names.rs` from shared/names.json so Rust and CDK read one list of table, error and event names.
use std::{env, fs, path::PathBuf};

/// A malformed names.json fails the build with this message.
type BuildResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn main() -> BuildResult {
    let src = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../names.json");
    println!("cargo:rerun-if-changed={}", src.display());
    let text = fs::read_to_string(&src).map_err(|e| format!("read shared/names.json: {e}"))?;
    let names: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("shared/names.json: {e}"))?;

    let mut out = String::new();
    let source = names["eventSource"]
        .as_str()
        .ok_or("shared/names.json: eventSource must be a string")?;
    out.push_str(&format!("/// EventBridge `source` of every Provisio event.\npub const EVENT_SOURCE: &str = {source:?};\n"));
    for (section, module) in [
        ("tables", "tables"),
        ("stateMachines", "state_machines"),
        ("errors", "errors"),
        ("eventTypes", "event_types"),
        ("environment", "environment"),
        ("routes", "routes"),
        ("schedules", "schedules"),
        ("queues", "queues"),
    ] {
        module_of(&mut out, module, &names[section])?;
    }
    let dest = PathBuf::from(env::var("OUT_DIR")?).join("names.rs");
    fs::write(dest, out).map_err(|e| format!("write names.rs: {e}"))?;
    Ok(())
}

/// One `pub const` per key: strings as `&str`, string arrays as `&[&str]`, whole numbers as `u64`, objects as
/// nested modules; `ALL` lists the string constants. Keys starting with `$` are comments.
fn module_of(out: &mut String, module: &str, section: &serde_json::Value) -> BuildResult {
    out.push_str(&format!("pub mod {module} {{\n"));
    let entries = section
        .as_object()
        .ok_or_else(|| format!("shared/names.json: {module} must be an object"))?;
    let mut all = Vec::new();
    for (key, value) in entries.iter().filter(|(k, _)| !k.starts_with('$')) {
        let name = screaming(key);
        match value {
            serde_json::Value::String(s) => {
                out.push_str(&format!("    pub const {name}: &str = {s:?};\n"));
                all.push(name);
            }
            serde_json::Value::Array(items) => {
                let items = items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(|s| format!("{s:?}"))
                            .ok_or_else(|| format!("shared/names.json: {key} must hold strings"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                out.push_str(&format!(
                    "    pub const {name}: &[&str] = &[{}];\n",
                    items.join(", ")
                ));
            }
            serde_json::Value::Number(n) => {
                let n = n.as_u64().ok_or_else(|| {
                    format!("shared/names.json: {key} must be a whole number >= 0")
                })?;
                out.push_str(&format!("    pub const {name}: u64 = {n};\n"));
            }
            nested => module_of(out, &name.to_lowercase(), nested)?,
        }
    }
    out.push_str(&format!(
        "    pub const ALL: &[&str] = &[{}];\n}}\n",
        all.join(", ")
    ));
    Ok(())
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
