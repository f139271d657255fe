//! Attribute paths and filters (RFC 7644 section 3.4.2.2 and 3.5.2): the whole grammar (`eq ne co sw ew gt ge
//! lt le pr`, `and`, `or`, `not`, parentheses, `attr[valFilter]`, schema URN prefixes), evaluated on a rendered
//! User with the schema's types and case sensitivity.
//!
//! Hand-written: the one Rust crate for SCIM filters (`scim-filter` 0.2) only filters whole serialized
//! collections, compares without the schema's `caseExact`, cannot evaluate PATCH value paths, and brings nom 7
//! and rust_decimal for a grammar this small.

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};

use crate::error::{Result, ScimError};
use crate::schema::{self, Attr, IGNORED, Schema, Type};

/// Longest filter accepted, and deepest nesting: filters come from the network.
const MAX_FILTER_LEN: usize = 4096;
const MAX_DEPTH: usize = 32;

/// `[URN ":"] name ["." sub]`, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    /// The schema URN the path starts with, if any.
    pub urn: Option<String>,
    /// Empty when the path is only a schema URN (the whole extension).
    pub name: String,
    pub sub: Option<String>,
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn starts_with_ci(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

impl AttrPath {
    pub fn parse(text: &str) -> std::result::Result<AttrPath, String> {
        let text = text.trim();
        let (urn, rest) = if starts_with_ci(text, "urn:") {
            let known = [schema::USER, schema::ENTERPRISE]
                .into_iter()
                .find_map(|urn| {
                    if text.len() == urn.len() && starts_with_ci(text, urn) {
                        Some((urn, ""))
                    } else if starts_with_ci(text, urn) && text[urn.len()..].starts_with(':') {
                        Some((urn, &text[urn.len() + 1..]))
                    } else {
                        None
                    }
                });
            match known {
                Some((urn, rest)) => (Some(urn.to_string()), rest),
                // Some other extension: its attribute name follows the last colon.
                None => match text.rsplit_once(':') {
                    Some((urn, rest)) => (Some(urn.to_string()), rest),
                    None => return Err(format!("{text:?} is not an attribute path")),
                },
            }
        } else {
            (None, text)
        };
        if rest.is_empty() {
            return match urn {
                Some(urn) => Ok(AttrPath {
                    urn: Some(urn),
                    name: String::new(),
                    sub: None,
                }),
                None => Err("empty attribute path".into()),
            };
        }
        let mut parts = rest.split('.');
        let name = parts.next().unwrap_or_default();
        let sub = parts.next();
        if parts.next().is_some() || !is_name(name) || sub.is_some_and(|s| !is_name(s)) {
            return Err(format!("{text:?} is not an attribute path"));
        }
        Ok(AttrPath {
            urn,
            name: name.to_string(),
            sub: sub.map(str::to_string),
        })
    }
}

/// The attributes every resource has, outside the schema table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Common {
    Id,
    ExternalId,
    Meta(Option<&'static str>),
}

/// What a path designates on a User.
#[derive(Debug, Clone, Copy)]
pub enum Resolved {
    Common(Common),
    Attr {
        schema: Schema,
        attr: &'static Attr,
        sub: Option<&'static Attr>,
    },
    /// The whole enterprise extension (its URN alone).
    Extension(Schema),
    /// A standard attribute (or sub-attribute) this server does not keep, or another extension's.
    Ignored,
}

const META: &[&str] = &[
    "resourceType",
    "created",
    "lastModified",
    "location",
    "version",
];

impl AttrPath {
    /// What the path designates at the top of a User. Unknown core attributes are `invalidPath` (the caller maps
    /// it to `invalidFilter` in filters).
    pub fn resolve(&self) -> std::result::Result<Resolved, String> {
        let schema = match &self.urn {
            None => Schema::User,
            Some(urn) => match Schema::from_urn(urn) {
                Some(s) => s,
                None => return Ok(Resolved::Ignored),
            },
        };
        if self.name.is_empty() {
            return match schema {
                Schema::Enterprise => Ok(Resolved::Extension(schema)),
                Schema::User => Err("the core User schema is not an attribute".into()),
            };
        }
        if schema == Schema::User {
            let common = if self.name.eq_ignore_ascii_case("id") {
                Some(Common::Id)
            } else if self.name.eq_ignore_ascii_case("externalId") {
                Some(Common::ExternalId)
            } else if self.name.eq_ignore_ascii_case("meta") {
                match &self.sub {
                    None => Some(Common::Meta(None)),
                    Some(sub) => match META.iter().find(|m| m.eq_ignore_ascii_case(sub)) {
                        Some(m) => Some(Common::Meta(Some(m))),
                        None => return Err(format!("meta has no sub-attribute {sub:?}")),
                    },
                }
            } else {
                None
            };
            if let Some(common) = common {
                if self.sub.is_some() && !matches!(common, Common::Meta(_)) {
                    return Err(format!("{} has no sub-attributes", self.name));
                }
                return Ok(Resolved::Common(common));
            }
        }
        let Some(attr) = schema::find(schema.attrs(), &self.name) else {
            if schema == Schema::User && IGNORED.iter().any(|i| i.eq_ignore_ascii_case(&self.name))
            {
                return Ok(Resolved::Ignored);
            }
            return Err(format!("unknown attribute {:?}", self.name));
        };
        let sub = match &self.sub {
            None => None,
            Some(sub) if attr.ty == Type::Complex => match schema::find(attr.sub, sub) {
                Some(s) => Some(s),
                // A standard sub-attribute Provisio does not keep (e.g. addresses.streetAddress).
                None => return Ok(Resolved::Ignored),
            },
            Some(sub) => return Err(format!("{} has no sub-attribute {sub:?}", attr.name)),
        };
        Ok(Resolved::Attr { schema, attr, sub })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: Op,
        value: Value,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[filter]`: some value of a multi-valued attribute matches `filter`.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

pub fn parse(text: &str) -> Result<Filter> {
    if text.len() > MAX_FILTER_LEN {
        return Err(ScimError::InvalidFilter(format!(
            "filter is longer than {MAX_FILTER_LEN} characters"
        )));
    }
    let mut p = Parser { s: text, pos: 0 };
    let filter = p.or_expr(0)?;
    p.skip_ws();
    if p.pos < p.s.len() {
        return Err(p.error("unexpected text"));
    }
    Ok(filter)
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn error(&self, what: &str) -> ScimError {
        ScimError::InvalidFilter(format!("{what} at position {} of the filter", self.pos + 1))
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.s.len() - trimmed.len();
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// A case-insensitive keyword followed by whitespace or `(`.
    fn keyword(&mut self, word: &str) -> bool {
        let rest = self.rest();
        // `get`: the byte after the keyword's length may fall inside a multibyte character.
        let follows = rest.get(word.len()..).and_then(|r| r.chars().next());
        if starts_with_ci(rest, word) && follows.is_some_and(|c| c.is_whitespace() || c == '(') {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn or_expr(&mut self, depth: usize) -> Result<Filter> {
        let mut left = self.and_expr(depth)?;
        loop {
            self.skip_ws();
            if !self.keyword("or") {
                return Ok(left);
            }
            let right = self.and_expr(depth)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
    }

    fn and_expr(&mut self, depth: usize) -> Result<Filter> {
        let mut left = self.unary(depth)?;
        loop {
            self.skip_ws();
            if !self.keyword("and") {
                return Ok(left);
            }
            let right = self.unary(depth)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self, depth: usize) -> Result<Filter> {
        if depth > MAX_DEPTH {
            return Err(self.error("filter nests too deeply"));
        }
        self.skip_ws();
        if self.eat('(') {
            let inner = self.or_expr(depth + 1)?;
            self.skip_ws();
            return if self.eat(')') {
                Ok(inner)
            } else {
                Err(self.error("expected ')'"))
            };
        }
        if self.keyword("not") {
            self.skip_ws();
            if !self.eat('(') {
                return Err(self.error("expected '(' after not"));
            }
            let inner = self.or_expr(depth + 1)?;
            self.skip_ws();
            if !self.eat(')') {
                return Err(self.error("expected ')'"));
            }
            return Ok(Filter::Not(Box::new(inner)));
        }
        self.attr_expr(depth)
    }

    fn word(&mut self) -> &str {
        let start = self.pos;
        let len = self
            .rest()
            .find(|c: char| c.is_whitespace() || "()[]\"".contains(c))
            .unwrap_or(self.rest().len());
        self.pos += len;
        &self.s[start..self.pos]
    }

    fn attr_expr(&mut self, depth: usize) -> Result<Filter> {
        let at = self.pos;
        let word = self.word();
        if word.is_empty() {
            return Err(self.error("expected an attribute path"));
        }
        let path = AttrPath::parse(word).map_err(|e| {
            ScimError::InvalidFilter(format!("{e} at position {} of the filter", at + 1))
        })?;
        if self.eat('[') {
            let inner = self.or_expr(depth + 1)?;
            self.skip_ws();
            if !self.eat(']') {
                return Err(self.error("expected ']'"));
            }
            return Ok(Filter::ValuePath {
                path,
                filter: Box::new(inner),
            });
        }
        self.skip_ws();
        let op = self.word().to_ascii_lowercase();
        let op = match op.as_str() {
            "pr" => return Ok(Filter::Present(path)),
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            "" => return Err(self.error("expected an operator")),
            _ => return Err(self.error("unknown operator")),
        };
        self.skip_ws();
        let value = self.value()?;
        Ok(Filter::Compare { path, op, value })
    }

    fn value(&mut self) -> Result<Value> {
        if self.peek() == Some('"') {
            // A JSON string: find the closing quote that is not escaped, let serde_json decode the escapes.
            let start = self.pos;
            let mut escaped = false;
            for (i, c) in self.rest().char_indices().skip(1) {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => {
                        let end = start + i + 1;
                        self.pos = end;
                        return serde_json::from_str(&self.s[start..end])
                            .map_err(|_| self.error("invalid string"));
                    }
                    _ => {}
                }
            }
            return Err(self.error("unterminated string"));
        }
        let word = self.word().to_string();
        match word.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "null" => Ok(Value::Null),
            "" => Err(self.error("expected a value")),
            _ => word
                .parse::<serde_json::Number>()
                .map(Value::Number)
                .map_err(|_| self.error("expected a quoted string, a number, true, false or null")),
        }
    }
}

/// What a compared value is: its type and whether case matters.
#[derive(Debug, Clone, Copy)]
struct Leaf {
    ty: Type,
    case_exact: bool,
}

impl Leaf {
    fn of(attr: &Attr) -> Leaf {
        Leaf {
            ty: attr.ty,
            case_exact: attr.case_exact,
        }
    }
}

/// Where a filter is evaluated: on a User, or on one value of a multi-valued complex attribute.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Resource,
    Element(&'static Attr),
}

fn push_values<'v>(out: &mut Vec<&'v Value>, v: Option<&'v Value>) {
    match v {
        Some(Value::Array(items)) => out.extend(items.iter()),
        Some(Value::Null) | None => {}
        Some(v) => out.push(v),
    }
}

/// The values `path` designates in `obj` and how to compare them.
fn values<'v>(
    scope: Scope,
    path: &AttrPath,
    obj: &'v Map<String, Value>,
) -> Result<(Vec<&'v Value>, Leaf)> {
    let invalid = |e: String| ScimError::InvalidFilter(e);
    let mut out = Vec::new();
    match scope {
        Scope::Element(parent) => {
            if path.urn.is_some() || path.sub.is_some() {
                return Err(invalid(format!(
                    "only sub-attributes of {} may be used inside its brackets",
                    parent.name
                )));
            }
            let attr = schema::find(parent.sub, &path.name).ok_or_else(|| {
                invalid(format!(
                    "{} has no sub-attribute {:?}",
                    parent.name, path.name
                ))
            })?;
            push_values(&mut out, obj.get(attr.name));
            Ok((out, Leaf::of(attr)))
        }
        Scope::Resource => match path.resolve().map_err(invalid)? {
            Resolved::Common(Common::Id) => {
                push_values(&mut out, obj.get("id"));
                Ok((out, leaf(Type::String, true)))
            }
            Resolved::Common(Common::ExternalId) => {
                push_values(&mut out, obj.get("externalId"));
                Ok((out, leaf(Type::String, true)))
            }
            Resolved::Common(Common::Meta(sub)) => {
                let Some(sub) = sub else {
                    return Err(invalid("compare a sub-attribute of meta".into()));
                };
                push_values(&mut out, obj.get("meta").and_then(|m| m.get(sub)));
                let ty = match sub {
                    "created" | "lastModified" => Type::DateTime,
                    _ => Type::String,
                };
                Ok((out, leaf(ty, sub != "resourceType")))
            }
            Resolved::Attr { schema, attr, sub } => {
                let container = match schema {
                    Schema::User => Some(obj),
                    Schema::Enterprise => obj.get(schema::ENTERPRISE).and_then(Value::as_object),
                };
                let value = container.and_then(|c| c.get(attr.name));
                // A multi-valued complex attribute without a sub-attribute compares its `value`s.
                let sub = sub.or_else(|| {
                    (attr.multi && attr.ty == Type::Complex)
                        .then(|| schema::find(attr.sub, "value"))
                        .flatten()
                });
                match sub {
                    Some(sub) => {
                        let mut parents = Vec::new();
                        push_values(&mut parents, value);
                        for p in parents {
                            push_values(&mut out, p.get(sub.name));
                        }
                        Ok((out, Leaf::of(sub)))
                    }
                    None => {
                        push_values(&mut out, value);
                        Ok((out, Leaf::of(attr)))
                    }
                }
            }
            Resolved::Extension(_) => Err(invalid("compare an attribute of the extension".into())),
            Resolved::Ignored => Err(invalid(format!(
                "{} is not an attribute this server keeps",
                path.name
            ))),
        },
    }
}

fn leaf(ty: Type, case_exact: bool) -> Leaf {
    Leaf { ty, case_exact }
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn date(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok()
}

/// Whether `op` and `expected` make sense for an attribute like `leaf`, whatever its value.
fn check(op: Op, leaf: Leaf, expected: &Value) -> Result<()> {
    let fail = |m: &str| Err(ScimError::InvalidFilter(m.into()));
    match leaf.ty {
        Type::Complex => fail("compare a sub-attribute of a complex attribute"),
        Type::Boolean if !matches!(op, Op::Eq | Op::Ne) => {
            fail("boolean attributes support only eq and ne")
        }
        Type::Boolean if boolean(expected).is_none() => {
            fail("a boolean attribute compares with true or false")
        }
        Type::Boolean => Ok(()),
        _ if !expected.is_string() => fail("a string attribute compares with a quoted string"),
        _ => Ok(()),
    }
}

/// A boolean, also quoted (some clients quote them).
fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Compares one value; `check` has accepted the operator and the expected value.
fn compare(op: Op, leaf: Leaf, actual: &Value, expected: &Value) -> bool {
    use std::cmp::Ordering;
    let ordered = |o: Ordering| match op {
        Op::Eq => o == Ordering::Equal,
        Op::Ne => o != Ordering::Equal,
        Op::Gt => o == Ordering::Greater,
        Op::Ge => o != Ordering::Less,
        Op::Lt => o == Ordering::Less,
        Op::Le => o != Ordering::Greater,
        Op::Co | Op::Sw | Op::Ew => false,
    };
    match (actual, expected) {
        (Value::Bool(a), e) => boolean(e).is_some_and(|e| ordered(a.cmp(&e))),
        (Value::String(a), Value::String(e)) => {
            if leaf.ty == Type::DateTime
                && !matches!(op, Op::Co | Op::Sw | Op::Ew)
                && let (Some(a), Some(e)) = (date(a), date(e))
            {
                return ordered(a.cmp(&e));
            }
            let (a, e) = if leaf.case_exact {
                (a.clone(), e.clone())
            } else {
                (a.to_lowercase(), e.to_lowercase())
            };
            match op {
                Op::Co => a.contains(&e),
                Op::Sw => a.starts_with(&e),
                Op::Ew => a.ends_with(&e),
                _ => ordered(a.cmp(&e)),
            }
        }
        _ => false,
    }
}

impl Filter {
    /// Whether `obj` (a rendered User, or one value of a multi-valued attribute) matches.
    pub fn matches(&self, scope: Scope, obj: &Map<String, Value>) -> Result<bool> {
        match self {
            Filter::And(a, b) => Ok(a.matches(scope, obj)? && b.matches(scope, obj)?),
            Filter::Or(a, b) => Ok(a.matches(scope, obj)? || b.matches(scope, obj)?),
            Filter::Not(f) => Ok(!f.matches(scope, obj)?),
            Filter::Present(path) => {
                let (values, _) = values(scope, path, obj)?;
                Ok(values.into_iter().any(present))
            }
            Filter::Compare { path, op, value } => {
                let (values, leaf) = values(scope, path, obj)?;
                if value.is_null() {
                    let assigned = values.into_iter().any(present);
                    return match op {
                        Op::Eq => Ok(!assigned),
                        Op::Ne => Ok(assigned),
                        _ => Err(ScimError::InvalidFilter(
                            "null compares only with eq and ne".into(),
                        )),
                    };
                }
                check(*op, leaf, value)?;
                if *op == Op::Ne {
                    return Ok(!values.into_iter().any(|v| compare(Op::Eq, leaf, v, value)));
                }
                Ok(values.into_iter().any(|v| compare(*op, leaf, v, value)))
            }
            Filter::ValuePath { path, filter } => {
                let Scope::Resource = scope else {
                    return Err(ScimError::InvalidFilter(
                        "brackets cannot nest inside brackets".into(),
                    ));
                };
                let attr = multi_valued(path).map_err(ScimError::InvalidFilter)?;
                let container = match path.urn.as_deref().and_then(Schema::from_urn) {
                    Some(Schema::Enterprise) => {
                        obj.get(schema::ENTERPRISE).and_then(Value::as_object)
                    }
                    _ => Some(obj),
                };
                let mut elements = Vec::new();
                push_values(&mut elements, container.and_then(|c| c.get(attr.name)));
                for element in elements {
                    if let Some(element) = element.as_object()
                        && filter.matches(Scope::Element(attr), element)?
                    {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
        }
    }

    /// `sub eq "value"` terms joined by `and`: what a new value must hold to match this filter (for PATCH
    /// operations that add a value through a filter, e.g. `emails[type eq "work"].value`). None for any other
    /// filter.
    pub fn equalities(&self) -> Option<Vec<(String, Value)>> {
        match self {
            Filter::Compare {
                path,
                op: Op::Eq,
                value,
            } if path.urn.is_none() && path.sub.is_none() && !value.is_null() => {
                Some(vec![(path.name.clone(), value.clone())])
            }
            Filter::And(a, b) => {
                let mut terms = a.equalities()?;
                terms.extend(b.equalities()?);
                Some(terms)
            }
            _ => None,
        }
    }
}

/// What `path` sorts a User by (`sortBy`): its first value, lower-cased unless case-exact; None when unassigned.
pub fn sort_key(path: &AttrPath, obj: &Map<String, Value>) -> Result<Option<String>> {
    let (values, leaf) = values(Scope::Resource, path, obj)?;
    Ok(values.into_iter().find(|v| present(v)).map(|v| match v {
        Value::String(s) if !leaf.case_exact => s.to_lowercase(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }))
}

/// The multi-valued complex attribute `path` names (brackets apply only to those).
pub fn multi_valued(path: &AttrPath) -> std::result::Result<&'static Attr, String> {
    match path.resolve()? {
        Resolved::Attr {
            attr, sub: None, ..
        } if attr.multi && attr.ty == Type::Complex => Ok(attr),
        _ => Err(format!(
            "{} is not a multi-valued complex attribute",
            path.name
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user() -> Map<String, Value> {
        json!({
            "id": "E100",
            "externalId": "ext-1",
            "userName": "Ada.Lovelace@example.com",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "active": true,
            "title": "Engineer",
            "emails": [
                {"value": "ada@example.com", "type": "work", "primary": true},
                {"value": "ada@home.example", "type": "home"}
            ],
            "meta": {"created": "2026-11-01T10:00:00Z", "lastModified": "2026-11-20T10:00:00Z"},
            schema::ENTERPRISE: {"department": "Engineering", "manager": {"value": "E001"}}
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn matches(filter: &str) -> bool {
        parse(filter)
            .unwrap_or_else(|e| panic!("{filter}: {e}"))
            .matches(Scope::Resource, &user())
            .unwrap_or_else(|e| panic!("{filter}: {e}"))
    }

    #[test]
    fn user_name_compares_case_insensitively_and_external_id_exactly() {
        assert!(matches(r#"userName eq "ada.lovelace@EXAMPLE.com""#));
        assert!(matches(r#"externalId eq "ext-1""#));
        assert!(!matches(r#"externalId eq "EXT-1""#));
        assert!(matches(r#"id eq "E100""#));
        assert!(matches(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "ada""#
        ));
    }

    #[test]
    fn every_operator_and_logic_works() {
        assert!(matches(r#"title co "gine""#));
        assert!(matches(r#"title sw "Eng" and title ew "eer""#));
        assert!(matches(r#"title ne "Manager""#));
        assert!(matches(r#"title gt "A" and title lt "F""#));
        assert!(matches(r#"title ge "Engineer" and title le "Engineer""#));
        assert!(matches("title pr and not (nickName pr)"));
        assert!(matches(r#"title eq "x" or active eq true"#));
        assert!(!matches(
            r#"title eq "x" or (active eq true and title eq "y")"#
        ));
        assert!(matches(r#"active eq true AND NOT(active eq false)"#));
        assert!(matches(r#"nickName eq null"#));
    }

    #[test]
    fn dates_compare_as_instants() {
        assert!(matches(
            r#"meta.lastModified gt "2026-11-20T09:00:00+00:00""#
        ));
        assert!(!matches(
            r#"meta.created ge "2026-11-01T11:00:00+01:00" and meta.created lt "2026-11-01T10:00:00Z""#
        ));
    }

    #[test]
    fn multi_valued_and_extension_attributes() {
        assert!(matches(
            r#"emails[type eq "work" and value co "@example.com"]"#
        ));
        assert!(!matches(r#"emails[type eq "other"]"#));
        assert!(matches(r#"emails.value eq "ADA@HOME.EXAMPLE""#));
        assert!(matches(r#"emails eq "ada@example.com""#));
        assert!(matches(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "engineering""#
        ));
        assert!(matches(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "E001""#
        ));
    }

    #[test]
    fn bad_filters_are_invalid_filter_errors() {
        for bad in [
            "userName",
            r#"userName eq"#,
            r#"userName eq "unterminated"#,
            r#"userName zz "x""#,
            r#"(userName eq "x""#,
            r#"userName eq "x" trailing"#,
            r#"nosuch eq "x""#,
            r#"active gt true"#,
            r#"userName eq 42"#,
        ] {
            let result = parse(bad).and_then(|f| f.matches(Scope::Resource, &user()));
            assert!(
                matches!(result, Err(ScimError::InvalidFilter(_))),
                "{bad}: {result:?}"
            );
        }
    }

    #[test]
    fn a_multibyte_character_where_a_keyword_could_end_is_an_error_not_a_panic() {
        // Found by the scim_filter fuzz target: the keyword check sliced inside the character.
        for bad in [
            "em\u{4dc}ch-e,",
            "an\u{e9} pr",
            "(userName pr) o\u{4dc}",
            "n\u{4dc}",
        ] {
            let result = parse(bad).and_then(|f| f.matches(Scope::Resource, &user()));
            assert!(
                matches!(result, Err(ScimError::InvalidFilter(_))),
                "{bad}: {result:?}"
            );
        }
    }

    #[test]
    fn equalities_describe_a_value_to_create() {
        let f = parse(r#"type eq "work" and primary eq true"#).unwrap();
        assert_eq!(
            f.equalities(),
            Some(vec![
                ("type".into(), json!("work")),
                ("primary".into(), json!(true))
            ])
        );
        assert_eq!(parse(r#"type co "w""#).unwrap().equalities(), None);
    }
}
