//! statemachines/*.asl.json are generated: each is statemachines/templates/<machine>.json with every
//! `"Retry": ["policy", …]` replaced by those policies of statemachines/retry-policies.json, so a Retry block
//! is written once. Text in, text out: the rest of a template, layout included, is copied as it is, and the
//! committed files stay complete ASL for Step Functions, the CDK app, the local stack and the validators.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use provisio_asl::Definition;
use serde_json::Value;

use crate::{definition_path, machines, read, read_json, repo_root, states_of};

const POLICIES: &str = "statemachines/retry-policies.json";
const TEMPLATES: &str = "statemachines/templates";
/// Set (to anything) to write the definitions instead of comparing them.
const REGENERATE: &str = "REGENERATE_ASL";
const RETRY: &str = "\"Retry\": ";
/// Retrier fields, in the order they are written.
const FIELDS: [&str; 6] = [
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
];
/// A retrier that does not fit on one line this long is written one field a line.
const MAX_LINE: usize = 150;

/// A retrier: its fields in `FIELDS` order.
type Retrier = Vec<(&'static str, Value)>;

/// The named policies, with `ErrorEquals` group names resolved.
fn parse_policies(file: &Value) -> Result<BTreeMap<String, Retrier>, String> {
    let groups = file["errorGroups"].as_object();
    let policies = file["policies"]
        .as_object()
        .ok_or("no \"policies\" object")?;
    let mut out = BTreeMap::new();
    for (name, policy) in policies {
        let policy = policy
            .as_object()
            .ok_or(format!("policy {name} is not an object"))?;
        if let Some(unknown) = policy
            .keys()
            .find(|k| *k != "$comment" && !FIELDS.contains(&k.as_str()))
        {
            return Err(format!("policy {name}: {unknown} is not a Retry field"));
        }
        let mut retrier = Vec::new();
        for field in FIELDS {
            let Some(value) = policy.get(field) else {
                continue;
            };
            let value = match (field, value) {
                ("ErrorEquals", Value::String(group)) => groups
                    .and_then(|g| g.get(group))
                    .cloned()
                    .ok_or(format!("policy {name}: no error group {group}"))?,
                _ => value.clone(),
            };
            retrier.push((field, value));
        }
        out.insert(name.clone(), retrier);
    }
    Ok(out)
}

/// One line, with a space after each comma as the templates are written.
fn inline(value: &Value) -> String {
    match value {
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(inline).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

/// A retrier whose `{` sits at `indent` + 2 spaces, inside a `"Retry": [` line indented by `indent`.
fn render(retrier: &Retrier, indent: &str) -> String {
    let fields: Vec<String> = retrier
        .iter()
        .map(|(k, v)| format!("\"{k}\": {}", inline(v)))
        .collect();
    let one_line = format!("{{ {} }}", fields.join(", "));
    if indent.len() + 2 + one_line.len() <= MAX_LINE {
        return one_line;
    }
    let inner: Vec<String> = fields.iter().map(|f| format!("{indent}    {f}")).collect();
    format!("{{\n{}\n{indent}  }}", inner.join(",\n"))
}

/// The template with each Retry list of policy names expanded; every policy name used is added to `used`.
fn expand(
    template: &str,
    policies: &BTreeMap<String, Retrier>,
    used: &mut BTreeSet<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    let mut expanded = 0;
    while let Some(at) = rest.find(RETRY) {
        let open = at + RETRY.len();
        let close = open + rest[open..].find(']').ok_or("a Retry list is not closed")?;
        let list = &rest[open..=close];
        let names: Vec<String> = serde_json::from_str(list)
            .map_err(|e| format!("a template's Retry lists policy names, not {list}: {e}"))?;
        if names.is_empty() {
            return Err("an empty Retry list".into());
        }
        let line_start = rest[..at].rfind('\n').map_or(0, |i| i + 1);
        let indent = &rest[line_start..at];
        if !indent.chars().all(|c| c == ' ') {
            return Err(format!(
                "\"Retry\" must start its line: {}",
                &rest[line_start..=close]
            ));
        }
        let mut retriers = Vec::new();
        for name in names {
            let retrier = policies
                .get(&name)
                .ok_or(format!("no retry policy {name} in {POLICIES}"))?;
            retriers.push(format!("{indent}  {}", render(retrier, indent)));
            used.insert(name);
        }
        out.push_str(&rest[..open]);
        out.push_str(&format!("[\n{}\n{indent}]", retriers.join(",\n")));
        rest = &rest[close + 1..];
        expanded += 1;
    }
    out.push_str(rest);
    // A Retry the text search missed (written another way) would be left unexpanded.
    let definition: Value =
        serde_json::from_str(&out).map_err(|e| format!("expanded template is not JSON: {e}"))?;
    let retries = states_of(&definition)
        .iter()
        .filter(|(_, _, state)| state.get("Retry").is_some())
        .count();
    if retries != expanded {
        return Err(format!(
            "{retries} Retry fields, {expanded} written as `{RETRY}[\"policy\", …]`"
        ));
    }
    Ok(out)
}

/// Every machine's definition as its template and the policies produce it; the names of the policies used.
fn generated() -> (Vec<(String, String)>, BTreeSet<String>) {
    let policies =
        parse_policies(&read_json(POLICIES)).unwrap_or_else(|e| panic!("{POLICIES}: {e}"));
    let mut used = BTreeSet::new();
    let definitions = machines()
        .into_iter()
        .map(|machine| {
            let template = format!("{TEMPLATES}/{machine}.json");
            let text = expand(&read(&template), &policies, &mut used)
                .unwrap_or_else(|e| panic!("{template}: {e}"));
            (definition_path(&machine), text)
        })
        .collect();
    (definitions, used)
}

#[test]
fn committed_definitions_are_their_expanded_templates() {
    let regenerate = std::env::var_os(REGENERATE).is_some();
    for (path, expected) in generated().0 {
        if regenerate {
            std::fs::write(repo_root().join(&path), &expected)
                .unwrap_or_else(|e| panic!("write {path}: {e}"));
            continue;
        }
        let committed = read(&path);
        if let Some((line, (c, e))) = committed
            .lines()
            .zip(expected.lines())
            .enumerate()
            .find(|(_, (c, e))| c != e)
        {
            panic!(
                "{path} differs from its template at line {}:\n  committed: {c}\n  generated: {e}\n\
                 Edit {TEMPLATES}/ or {POLICIES}, then run `{REGENERATE}=1 cargo test -p provisio-asl --test statemachines`.",
                line + 1
            );
        }
        assert_eq!(
            committed, expected,
            "{path} differs from its template at the end; run `{REGENERATE}=1 cargo test -p provisio-asl --test statemachines`"
        );
    }
}

#[test]
fn every_template_is_a_state_machine_and_every_policy_is_used() {
    let templates: BTreeSet<String> = std::fs::read_dir(repo_root().join(TEMPLATES))
        .expect("read statemachines/templates")
        .map(|entry| {
            entry
                .expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let expected: BTreeSet<String> = machines().iter().map(|m| format!("{m}.json")).collect();
    assert_eq!(
        templates, expected,
        "one template per names.json state machine"
    );

    let policies = parse_policies(&read_json(POLICIES)).expect("policies");
    let used = generated().1;
    let unused: Vec<_> = policies.keys().filter(|p| !used.contains(*p)).collect();
    assert!(
        unused.is_empty(),
        "retry policies no template uses: {unused:?}"
    );
}

#[test]
fn generated_definitions_load_in_the_interpreter() {
    for (path, text) in generated().0 {
        // Every ${Name} placeholder stands for a function ARN.
        let substitutions: HashMap<String, String> = text
            .split("${")
            .skip(1)
            .filter_map(|s| s.split_once('}'))
            .map(|(name, _)| {
                (
                    name.to_string(),
                    format!("arn:aws:lambda:us-east-1:000000000000:function:{name}"),
                )
            })
            .collect();
        if let Err(e) = Definition::parse(&text, &substitutions) {
            panic!("{path}: {e}");
        }
    }
}

mod expansion {
    use super::*;

    fn policies() -> BTreeMap<String, Retrier> {
        parse_policies(&serde_json::json!({
            "errorGroups": { "store": ["Provisio.StoreUnavailable", "Provisio.Conflict"] },
            "policies": {
                "short": { "$comment": "why", "ErrorEquals": ["States.ALL"], "MaxAttempts": 2 },
                "long": { "ErrorEquals": "store", "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2,
                          "MaxDelaySeconds": 30, "JitterStrategy": "FULL" }
            }
        }))
        .expect("policies")
    }

    const TEMPLATE: &str = "{\n  \"States\": {\n    \"A\": {\n      \"Type\": \"Task\",\n      \"Retry\": [\"short\", \"long\"],\n      \"End\": true\n    }\n  }\n}\n";

    #[test]
    fn policies_are_expanded_in_order_short_ones_on_one_line() {
        let mut used = BTreeSet::new();
        let out = expand(TEMPLATE, &policies(), &mut used).expect("expand");
        assert_eq!(
            out,
            "{\n  \"States\": {\n    \"A\": {\n      \"Type\": \"Task\",\n      \"Retry\": [\n        \
             { \"ErrorEquals\": [\"States.ALL\"], \"MaxAttempts\": 2 },\n        {\n          \
             \"ErrorEquals\": [\"Provisio.StoreUnavailable\", \"Provisio.Conflict\"],\n          \
             \"IntervalSeconds\": 1,\n          \"MaxAttempts\": 3,\n          \"BackoffRate\": 2,\n          \
             \"MaxDelaySeconds\": 30,\n          \"JitterStrategy\": \"FULL\"\n        }\n      ],\n      \
             \"End\": true\n    }\n  }\n}\n"
        );
        assert_eq!(
            used,
            BTreeSet::from(["long".to_string(), "short".to_string()])
        );
    }

    #[test]
    fn unknown_policies_inline_retriers_and_unknown_fields_are_refused() {
        let unknown = TEMPLATE.replace("\"long\"", "\"lng\"");
        let err = expand(&unknown, &policies(), &mut BTreeSet::new()).expect_err("unknown policy");
        assert!(err.contains("no retry policy lng"), "{err}");

        let inline = TEMPLATE.replace(
            "[\"short\", \"long\"]",
            "[{ \"ErrorEquals\": [\"States.ALL\"] }]",
        );
        let err = expand(&inline, &policies(), &mut BTreeSet::new()).expect_err("inline retrier");
        assert!(err.contains("lists policy names"), "{err}");

        let spaced = TEMPLATE.replace(
            "\"Retry\": [\"short\", \"long\"]",
            "\"Retry\" : [\"short\"]",
        );
        let err = expand(&spaced, &policies(), &mut BTreeSet::new()).expect_err("missed Retry");
        assert!(err.contains("1 Retry fields, 0 written"), "{err}");

        let typo =
            serde_json::json!({ "policies": { "p": { "ErrorEquals": ["X"], "MaxAtempts": 2 } } });
        let err = parse_policies(&typo).expect_err("unknown field");
        assert!(err.contains("MaxAtempts is not a Retry field"), "{err}");
    }
}
