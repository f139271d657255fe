//! Choice rules: comparison operators, And/Or/Not, parsed at load time.

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};

use crate::TaskFailure;
use crate::paths::{Path, Scope};

/// A top-level rule of a Choice state.
#[derive(Debug, Clone)]
pub(crate) struct ChoiceRule {
    pub condition: Condition,
    pub next: String,
}

#[derive(Debug, Clone)]
pub(crate) enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    Test { variable: Path, test: Test },
}

#[derive(Debug, Clone)]
pub(crate) enum Test {
    Compare {
        kind: Kind,
        op: Comparison,
        operand: Operand,
        /// The operator as written, for error messages.
        operator: String,
    },
    Matches(Vec<Glob>),
    Is {
        check: TypeCheck,
        expected: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Comparison {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Literal(Value),
    Path(Path),
}

#[derive(Debug, Clone, Copy, PartialEq)]
/// The `Is*` operators.
pub(crate) enum TypeCheck {
    Null,
    Present,
    Numeric,
    String,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Glob {
    Char(char),
    Star,
}

const KINDS: [(&str, Kind); 4] = [
    ("String", Kind::String),
    ("Numeric", Kind::Numeric),
    ("Boolean", Kind::Boolean),
    ("Timestamp", Kind::Timestamp),
];

const COMPARISONS: [(&str, Comparison); 5] = [
    ("LessThanEquals", Comparison::LessThanEquals),
    ("GreaterThanEquals", Comparison::GreaterThanEquals),
    ("LessThan", Comparison::LessThan),
    ("GreaterThan", Comparison::GreaterThan),
    ("Equals", Comparison::Equals),
];

const TYPE_CHECKS: [(&str, TypeCheck); 6] = [
    ("IsNull", TypeCheck::Null),
    ("IsPresent", TypeCheck::Present),
    ("IsNumeric", TypeCheck::Numeric),
    ("IsString", TypeCheck::String),
    ("IsBoolean", TypeCheck::Boolean),
    ("IsTimestamp", TypeCheck::Timestamp),
];

impl<'de> serde::Deserialize<'de> for ChoiceRule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Value::deserialize(d)?;
        parse_rule(&raw).map_err(serde::de::Error::custom)
    }
}

fn parse_rule(raw: &Value) -> Result<ChoiceRule, String> {
    let object = raw.as_object().ok_or("a choice rule must be an object")?;
    let next = object
        .get("Next")
        .and_then(Value::as_str)
        .ok_or("a top-level choice rule needs a string 'Next'")?;
    Ok(ChoiceRule {
        condition: parse_condition(object)?,
        next: next.to_owned(),
    })
}

fn parse_nested(raw: &Value) -> Result<Condition, String> {
    let object = raw
        .as_object()
        .ok_or("a nested choice rule must be an object")?;
    if object.contains_key("Next") {
        return Err("a nested choice rule must not have 'Next'".into());
    }
    parse_condition(object)
}

fn parse_condition(object: &Map<String, Value>) -> Result<Condition, String> {
    let mut operators = object
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "Next" | "Comment" | "Variable"));
    let (Some((operator, operand)), None) = (operators.next(), operators.next()) else {
        return Err(format!(
            "a choice rule needs exactly one operator, found keys {:?}",
            object.keys().collect::<Vec<_>>()
        ));
    };
    let variable = object.get("Variable");
    let boolean = match operator.as_str() {
        "And" | "Or" => {
            let rules = operand
                .as_array()
                .filter(|rules| !rules.is_empty())
                .ok_or_else(|| format!("'{operator}' needs a non-empty array of rules"))?
                .iter()
                .map(parse_nested)
                .collect::<Result<Vec<_>, _>>()?;
            Some(if operator == "And" {
                Condition::And(rules)
            } else {
                Condition::Or(rules)
            })
        }
        "Not" => Some(Condition::Not(Box::new(parse_nested(operand)?))),
        _ => None,
    };
    match (boolean, variable) {
        (Some(_), Some(_)) => Err(format!("'{operator}' rules must not have 'Variable'")),
        (Some(condition), None) => Ok(condition),
        (None, None) => Err(format!("'{operator}' needs a 'Variable'")),
        (None, Some(variable)) => {
            let variable = variable
                .as_str()
                .ok_or("'Variable' must be a string")
                .and_then(|raw| Path::parse(raw).map_err(|_| "'Variable' must be a path"))
                .map_err(str::to_owned)?;
            Ok(Condition::Test {
                variable,
                test: parse_test(operator, operand)?,
            })
        }
    }
}

fn parse_test(operator: &str, operand: &Value) -> Result<Test, String> {
    if operator == "StringMatches" {
        let pattern = operand.as_str().ok_or("'StringMatches' needs a string")?;
        return Ok(Test::Matches(parse_glob(pattern)));
    }
    if let Some(&(_, check)) = TYPE_CHECKS.iter().find(|(name, _)| *name == operator) {
        let expected = operand
            .as_bool()
            .ok_or_else(|| format!("'{operator}' needs true or false"))?;
        return Ok(Test::Is { check, expected });
    }
    let unknown = || format!("unknown choice operator '{operator}'");
    let (base, by_path) = match operator.strip_suffix("Path") {
        Some(base) => (base, true),
        None => (operator, false),
    };
    let (&(kind_name, kind), rest) = KINDS
        .iter()
        .find_map(|entry| base.strip_prefix(entry.0).map(|rest| (entry, rest)))
        .ok_or_else(unknown)?;
    let &(_, op) = COMPARISONS
        .iter()
        .find(|(name, _)| *name == rest)
        .filter(|(_, op)| kind != Kind::Boolean || *op == Comparison::Equals)
        .ok_or_else(unknown)?;
    let operand = if by_path {
        let path = operand
            .as_str()
            .ok_or_else(|| format!("'{operator}' needs a path string"))?;
        Operand::Path(Path::parse(path)?)
    } else if kind_of(operand, kind) {
        Operand::Literal(operand.clone())
    } else {
        return Err(format!(
            "'{operator}' needs a {kind_name} operand, got {operand}"
        ));
    };
    Ok(Test::Compare {
        kind,
        op,
        operand,
        operator: operator.to_owned(),
    })
}

fn parse_glob(pattern: &str) -> Vec<Glob> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            // `\*` is a literal star and `\\` a literal backslash.
            '\\' => Glob::Char(chars.next().unwrap_or('\\')),
            '*' => Glob::Star,
            other => Glob::Char(other),
        });
    }
    out
}

fn glob_matches(pattern: &[Glob], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // Position after the last star and the text position it was tried at, for backtracking.
    let mut retry: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Glob::Star) => {
                retry = Some((p + 1, t));
                p += 1;
            }
            Some(Glob::Char(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match retry {
                Some((star_p, star_t)) => {
                    p = star_p;
                    t = star_t + 1;
                    retry = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|g| *g == Glob::Star)
}

fn timestamp(value: &Value) -> Option<DateTime<FixedOffset>> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
}

fn kind_of(value: &Value, kind: Kind) -> bool {
    match kind {
        Kind::String => value.is_string(),
        Kind::Numeric => value.is_number(),
        Kind::Boolean => value.is_boolean(),
        Kind::Timestamp => timestamp(value).is_some(),
    }
}

/// Orders two values as `kind`; `None` when either is not of that kind (the rule is then false).
fn order(kind: Kind, left: &Value, right: &Value) -> Option<Ordering> {
    match kind {
        Kind::String => Some(left.as_str()?.cmp(right.as_str()?)),
        Kind::Numeric => left.as_f64()?.partial_cmp(&right.as_f64()?),
        Kind::Boolean => Some(left.as_bool()?.cmp(&right.as_bool()?)),
        Kind::Timestamp => Some(timestamp(left)?.cmp(&timestamp(right)?)),
    }
}

impl Comparison {
    fn accepts(self, ordering: Ordering) -> bool {
        match self {
            Comparison::Equals => ordering.is_eq(),
            Comparison::LessThan => ordering.is_lt(),
            Comparison::GreaterThan => ordering.is_gt(),
            Comparison::LessThanEquals => ordering.is_le(),
            Comparison::GreaterThanEquals => ordering.is_ge(),
        }
    }
}

impl TypeCheck {
    fn holds(self, value: &Value) -> bool {
        match self {
            TypeCheck::Null => value.is_null(),
            TypeCheck::Present => true,
            TypeCheck::Numeric => value.is_number(),
            TypeCheck::String => value.is_string(),
            TypeCheck::Boolean => value.is_boolean(),
            TypeCheck::Timestamp => timestamp(value).is_some(),
        }
    }
}

impl Condition {
    pub fn evaluate(&self, scope: Scope<'_>) -> Result<bool, TaskFailure> {
        match self {
            Condition::And(rules) => all_or_any(rules, scope, true),
            Condition::Or(rules) => all_or_any(rules, scope, false),
            Condition::Not(rule) => Ok(!rule.evaluate(scope)?),
            Condition::Test { variable, test } => {
                let value = variable.select(scope);
                match (test, value) {
                    (Test::Is { check, expected }, Some(value)) => {
                        Ok(check.holds(&value) == *expected)
                    }
                    // A missing variable is only ever "not present".
                    (Test::Is { check, expected }, None) => {
                        Ok(*check == TypeCheck::Present && !expected)
                    }
                    (_, None) => Err(TaskFailure::runtime(format!(
                        "Invalid path '{}': The choice state's condition path references an invalid value.",
                        variable.as_str()
                    ))),
                    (Test::Matches(pattern), Some(value)) => {
                        Ok(value.as_str().is_some_and(|s| glob_matches(pattern, s)))
                    }
                    (
                        Test::Compare {
                            kind,
                            op,
                            operand,
                            operator,
                        },
                        Some(value),
                    ) => {
                        let operand = match operand {
                            Operand::Literal(literal) => literal.clone(),
                            Operand::Path(path) => path.require(scope, operator)?,
                        };
                        Ok(order(*kind, &value, &operand).is_some_and(|o| op.accepts(o)))
                    }
                }
            }
        }
    }
}

/// Short-circuits like AWS: And stops at the first false rule, Or at the first true one.
fn all_or_any(rules: &[Condition], scope: Scope<'_>, all: bool) -> Result<bool, TaskFailure> {
    for rule in rules {
        if rule.evaluate(scope)? != all {
            return Ok(!all);
        }
    }
    Ok(all)
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn glob_handles_stars_and_escapes() {
        let cases = [
            ("*.log", "app.log", true),
            ("*.log", "app.txt", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("log-\\*", "log-*", true),
            ("log-\\*", "log-1", false),
            ("*", "", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(
                glob_matches(&parse_glob(pattern), text),
                expected,
                "{pattern} vs {text}"
            );
        }
    }
}
