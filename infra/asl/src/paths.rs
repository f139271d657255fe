//! JSONPath handling: paths (`$.x`, `$$.Execution.Id`), reference paths for ResultPath, and
//! payload templates (`"key.$": "<path or intrinsic>"`).

use serde_json::{Map, Value};
use serde_json_path::JsonPath;

use crate::TaskFailure;
use crate::errors::RESULT_PATH_MATCH_FAILURE;
use crate::intrinsics::Call;

/// What paths are evaluated against: the effective input (`$`) and the context object (`$$`).
#[derive(Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub input: &'a Value,
    pub context: &'a Value,
}

/// One step of a reference path.
#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Field(String),
    Index(usize),
}

/// A JSONPath evaluated with serde_json_path.
#[derive(Debug, Clone)]
pub(crate) struct Path {
    raw: String,
    on_context: bool,
    query: JsonPath,
    /// Reference paths select one node; other paths (wildcards, filters, ...) select a list,
    /// which Step Functions presents as an array.
    singular: bool,
}

impl Path {
    /// `$`, built without parsing: `JsonPath::default()` is the root query with no segments.
    pub fn root() -> Path {
        Path {
            raw: "$".to_owned(),
            on_context: false,
            query: JsonPath::default(),
            singular: true,
        }
    }

    /// The default of InputPath/OutputPath, where JSON null (`None`) means "no input".
    pub fn default_filter() -> Option<Path> {
        Some(Path::root())
    }

    pub fn parse(raw: &str) -> Result<Path, String> {
        let (on_context, rooted) = match raw.strip_prefix("$$") {
            Some(rest) => (true, format!("${rest}")),
            None if raw.starts_with('$') => (false, raw.to_owned()),
            None => return Err(format!("path '{raw}' must start with '$'")),
        };
        // Step Functions field names may contain characters (e.g. '-') that RFC 9535 shorthand
        // does not allow, so reference paths are handed over in bracket notation.
        let (query, singular) = match reference_segments(&rooted) {
            Ok(segments) => (JsonPath::parse(&bracket_notation(&segments)), true),
            Err(_) => (JsonPath::parse(&rooted), false),
        };
        let query = query.map_err(|e| format!("invalid path '{raw}': {e}"))?;
        Ok(Path {
            raw: raw.to_owned(),
            on_context,
            query,
            singular,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The selected value; `None` when a reference path selects nothing.
    pub fn select(&self, scope: Scope<'_>) -> Option<Value> {
        let target = if self.on_context {
            scope.context
        } else {
            scope.input
        };
        let nodes = self.query.query(target);
        if self.singular {
            nodes.first().cloned()
        } else {
            Some(Value::Array(nodes.all().into_iter().cloned().collect()))
        }
    }

    /// Like [`Path::select`], but a missing value is a States.Runtime failure.
    pub fn require(&self, scope: Scope<'_>, field: &str) -> Result<Value, TaskFailure> {
        self.select(scope).ok_or_else(|| {
            TaskFailure::runtime(format!(
                "The JSONPath '{}' specified for the field '{field}' could not be found in the input",
                self.raw
            ))
        })
    }

    /// Applies InputPath/OutputPath semantics: `None` (JSON null) yields `{}`.
    pub fn filter(
        path: Option<&Path>,
        scope: Scope<'_>,
        field: &str,
    ) -> Result<Value, TaskFailure> {
        match path {
            Some(path) => path.require(scope, field),
            None => Ok(Value::Object(Map::new())),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Path {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Path::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A `$`-rooted reference path, which can also be written to (ResultPath).
#[derive(Debug, Clone)]
pub(crate) struct ReferencePath {
    raw: String,
    segments: Vec<Segment>,
}

impl ReferencePath {
    pub fn root() -> Option<ReferencePath> {
        Some(ReferencePath {
            raw: "$".into(),
            segments: Vec::new(),
        })
    }

    /// Returns `target` with `value` placed at this path, creating missing objects on the way.
    pub fn insert(&self, target: Value, value: Value) -> Result<Value, TaskFailure> {
        let Some((last, parents)) = self.segments.split_last() else {
            return Ok(value);
        };
        let mut target = target;
        let mut slot = &mut target;
        for segment in parents {
            slot = self.child(slot, segment, true)?;
        }
        *self.child(slot, last, false)? = value;
        Ok(target)
    }

    fn child<'v>(
        &self,
        node: &'v mut Value,
        segment: &Segment,
        container: bool,
    ) -> Result<&'v mut Value, TaskFailure> {
        let mismatch = || {
            TaskFailure::new(
                RESULT_PATH_MATCH_FAILURE,
                format!(
                    "Unable to apply ResultPath '{}' to the state input",
                    self.raw
                ),
            )
        };
        match (node, segment) {
            (Value::Object(map), Segment::Field(name)) => {
                let empty = if container {
                    Value::Object(Map::new())
                } else {
                    Value::Null
                };
                let child = map.entry(name.clone()).or_insert(empty);
                if container && !(child.is_object() || child.is_array()) {
                    // Like Step Functions, a scalar in the way is replaced by an object.
                    *child = Value::Object(Map::new());
                }
                Ok(child)
            }
            (Value::Array(items), Segment::Index(i)) => items.get_mut(*i).ok_or_else(mismatch),
            _ => Err(mismatch()),
        }
    }
}

impl<'de> serde::Deserialize<'de> for ReferencePath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        let segments = reference_segments(&raw)
            .map_err(|e| serde::de::Error::custom(format!("invalid ResultPath '{raw}': {e}")))?;
        Ok(ReferencePath { raw, segments })
    }
}

/// Parses `$`, `$.a.b`, `$['a']`, `$.a[0]` into segments; anything else is not a reference path.
fn reference_segments(path: &str) -> Result<Vec<Segment>, String> {
    let mut rest = path
        .strip_prefix('$')
        .ok_or("a reference path starts with '$'")?;
    let mut segments = Vec::new();
    while !rest.is_empty() {
        if let Some(after_dot) = rest.strip_prefix('.') {
            let end = after_dot.find(['.', '[']).unwrap_or(after_dot.len());
            let name = &after_dot[..end];
            if name.is_empty() || name.contains(['*', ' ', '(', ')', ']', '\'', '?', '@']) {
                return Err(format!("'{name}' is not a plain field name"));
            }
            segments.push(Segment::Field(name.to_owned()));
            rest = &after_dot[end..];
        } else if let Some(after_bracket) = rest.strip_prefix('[') {
            let (segment, remainder) = bracket_segment(after_bracket)?;
            segments.push(segment);
            rest = remainder;
        } else {
            return Err(format!("unexpected text '{rest}'"));
        }
    }
    Ok(segments)
}

/// Parses the inside of `[...]` (after the `[`): a quoted name or a non-negative index.
fn bracket_segment(text: &str) -> Result<(Segment, &str), String> {
    if let Some(quoted) = text.strip_prefix('\'') {
        let mut name = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, escaped)) => name.push(escaped),
                    None => break,
                },
                '\'' => {
                    let after = quoted[i + 1..]
                        .strip_prefix(']')
                        .ok_or("expected ']' after quoted name")?;
                    return Ok((Segment::Field(name), after));
                }
                other => name.push(other),
            }
        }
        return Err("unterminated quoted name".into());
    }
    let end = text.find(']').ok_or("unterminated '['")?;
    let index = text[..end]
        .parse::<usize>()
        .map_err(|_| format!("'{}' is not an array index", &text[..end]))?;
    Ok((Segment::Index(index), &text[end + 1..]))
}

fn bracket_notation(segments: &[Segment]) -> String {
    let mut out = String::from("$");
    for segment in segments {
        match segment {
            Segment::Field(name) => {
                let escaped = name.replace('\\', "\\\\").replace('\'', "\\'");
                out.push_str(&format!("['{escaped}']"));
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The value of a `.$` field: a path or an intrinsic function call.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Path(Path),
    Call(Call),
}

impl Expr {
    pub fn parse(text: &str) -> Result<Expr, String> {
        if text.starts_with('$') {
            Path::parse(text).map(Expr::Path)
        } else {
            Call::parse(text).map(Expr::Call)
        }
    }

    /// `field` names the definition field for error messages.
    pub fn evaluate(&self, scope: Scope<'_>, field: &str) -> Result<Value, TaskFailure> {
        match self {
            Expr::Path(path) => path.require(scope, field),
            Expr::Call(call) => call.evaluate(scope),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Expr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Expr::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A payload template (Parameters, ResultSelector, ItemSelector), compiled at parse time.
#[derive(Debug, Clone)]
pub(crate) enum Template {
    Literal(Value),
    Dynamic { field: String, expr: Expr },
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
}

impl Template {
    pub fn compile(value: &Value) -> Result<Template, String> {
        match value {
            Value::Object(map) => map
                .iter()
                .map(|(key, value)| match key.strip_suffix(".$") {
                    Some(name) => {
                        let text = value
                            .as_str()
                            .ok_or_else(|| format!("field '{key}' must be a string"))?;
                        let expr = Expr::parse(text).map_err(|e| format!("field '{key}': {e}"))?;
                        let dynamic = Template::Dynamic {
                            field: key.clone(),
                            expr,
                        };
                        Ok((name.to_owned(), dynamic))
                    }
                    None => Ok((key.clone(), Template::compile(value)?)),
                })
                .collect::<Result<_, String>>()
                .map(Template::Object),
            Value::Array(items) => items
                .iter()
                .map(Template::compile)
                .collect::<Result<_, _>>()
                .map(Template::Array),
            scalar => Ok(Template::Literal(scalar.clone())),
        }
    }

    pub fn evaluate(&self, scope: Scope<'_>) -> Result<Value, TaskFailure> {
        match self {
            Template::Literal(value) => Ok(value.clone()),
            Template::Dynamic { field, expr } => expr.evaluate(scope, field),
            Template::Object(fields) => fields
                .iter()
                .map(|(key, template)| Ok((key.clone(), template.evaluate(scope)?)))
                .collect::<Result<Map<_, _>, TaskFailure>>()
                .map(Value::Object),
            Template::Array(items) => items
                .iter()
                .map(|template| template.evaluate(scope))
                .collect::<Result<_, _>>()
                .map(Value::Array),
        }
    }

    /// Whether an object template defines `key`, statically or as `key.$`.
    pub fn has_field(&self, key: &str) -> bool {
        matches!(self, Template::Object(fields) if fields.iter().any(|(k, _)| k == key))
    }
}

impl<'de> serde::Deserialize<'de> for Template {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Value::deserialize(d)?;
        Template::compile(&raw).map_err(serde::de::Error::custom)
    }
}

/// Reads a value that must be a positive/non-negative integer, e.g. TimeoutSecondsPath.
pub(crate) fn require_u64(path: &Path, scope: Scope<'_>, field: &str) -> Result<u64, TaskFailure> {
    let value = path.require(scope, field)?;
    value.as_u64().ok_or_else(|| {
        TaskFailure::runtime(format!(
            "The value {value} at '{}' for the field '{field}' is not a non-negative integer",
            path.as_str()
        ))
    })
}

/// A number given literally (e.g. TimeoutSeconds) or by a path (TimeoutSecondsPath);
/// validation guarantees at most one of them.
pub(crate) fn literal_or_path(
    literal: Option<u64>,
    path: Option<&Path>,
    scope: Scope<'_>,
    path_field: &str,
) -> Result<Option<u64>, TaskFailure> {
    match (literal, path) {
        (Some(value), _) => Ok(Some(value)),
        (None, Some(path)) => require_u64(path, scope, path_field).map(Some),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod unit {
    use super::*;
    use serde_json::json;

    fn scope_of(input: &Value) -> Scope<'_> {
        Scope {
            input,
            context: input,
        }
    }

    #[test]
    fn reference_paths_select_single_values_and_others_select_lists() {
        let input = json!({"a": {"b-c": [1, 2, 3]}, "items": [{"id": 1}, {"id": 2}]});
        let scope = scope_of(&input);
        let one = Path::parse("$.a.b-c[1]").unwrap();
        assert_eq!(one.select(scope), Some(json!(2)));
        let many = Path::parse("$.items[*].id").unwrap();
        assert_eq!(many.select(scope), Some(json!([1, 2])));
        assert_eq!(Path::parse("$.missing").unwrap().select(scope), None);
        assert!(Path::parse("a.b").is_err());
    }

    #[test]
    fn result_path_insert_creates_objects_and_rejects_bad_indices() {
        let path: ReferencePath = serde_json::from_value(json!("$.a.b")).unwrap();
        assert_eq!(
            path.insert(json!({"x": 1, "a": 5}), json!(true)).unwrap(),
            json!({"x": 1, "a": {"b": true}})
        );
        let index: ReferencePath = serde_json::from_value(json!("$.list[1]")).unwrap();
        assert_eq!(
            index.insert(json!({"list": [0, 0]}), json!(9)).unwrap(),
            json!({"list": [0, 9]})
        );
        let err = index.insert(json!({"list": []}), json!(9)).unwrap_err();
        assert_eq!(err.error, RESULT_PATH_MATCH_FAILURE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_the_parsed_dollar_path() {
        let parsed = Path::parse("$").unwrap();
        let root = Path::root();
        assert_eq!(root.query, parsed.query);
        assert_eq!(
            (root.raw.as_str(), root.on_context, root.singular),
            (parsed.raw.as_str(), parsed.on_context, parsed.singular)
        );
        let input = serde_json::json!({"a": 1});
        assert_eq!(root.query.query(&input).all(), vec![&input]);
    }
}
