//! Query parameters of GET /Users and POST /.search (RFC 7644 section 3.4.2 and 3.4.3), and the `attributes`
//! / `excludedAttributes` projection of any User response.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::error::{Result, ScimError};
use crate::filter::{self, AttrPath, Filter, Resolved};
use crate::resource::Doc;
use crate::schema::{self, DEFAULT_COUNT, ENTERPRISE, MAX_RESULTS, Schema};

/// Which attributes a response carries.
#[derive(Debug, Clone, Default)]
pub enum Projection {
    #[default]
    Default,
    Only(Vec<AttrPath>),
    Except(Vec<AttrPath>),
}

#[derive(Debug, Default)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// 1-based.
    pub start_index: usize,
    pub count: usize,
    pub sort_by: Option<AttrPath>,
    pub descending: bool,
    pub projection: Projection,
}

/// A query parameter, its name in any case.
fn param<'a>(query: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn paths(list: &[&str], what: &str) -> Result<Vec<AttrPath>> {
    list.iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| AttrPath::parse(s).map_err(|e| ScimError::InvalidValue(format!("{what}: {e}"))))
        .collect()
}

/// The projection of the `attributes` and `excludedAttributes` parameters (comma-separated lists).
pub fn projection(attributes: Option<&[&str]>, excluded: Option<&[&str]>) -> Result<Projection> {
    let attributes = attributes
        .map(|a| paths(a, "attributes"))
        .transpose()?
        .filter(|a| !a.is_empty());
    let excluded = excluded
        .map(|a| paths(a, "excludedAttributes"))
        .transpose()?
        .filter(|a| !a.is_empty());
    match (attributes, excluded) {
        (Some(_), Some(_)) => Err(ScimError::InvalidSyntax(
            "attributes and excludedAttributes are mutually exclusive".into(),
        )),
        (Some(a), None) => Ok(Projection::Only(a)),
        (None, Some(e)) => Ok(Projection::Except(e)),
        (None, None) => Ok(Projection::Default),
    }
}

fn split(s: Option<&str>) -> Option<Vec<&str>> {
    s.map(|s| s.split(',').collect())
}

/// The projection asked for in a URL's query.
pub fn projection_from_query(query: &HashMap<String, String>) -> Result<Projection> {
    let attributes = split(param(query, "attributes"));
    let excluded = split(param(query, "excludedAttributes"));
    projection(attributes.as_deref(), excluded.as_deref())
}

fn index(raw: Option<&str>, name: &str) -> Result<Option<i64>> {
    raw.map(|r| {
        r.trim()
            .parse::<i64>()
            .map_err(|_| ScimError::InvalidValue(format!("{name} must be an integer")))
    })
    .transpose()
}

fn list_query(
    filter: Option<&str>,
    start_index: Option<i64>,
    count: Option<i64>,
    sort_by: Option<&str>,
    sort_order: Option<&str>,
    projection: Projection,
) -> Result<ListQuery> {
    let filter = filter
        .filter(|f| !f.trim().is_empty())
        .map(filter::parse)
        .transpose()?;
    let sort_by = sort_by
        .filter(|s| !s.trim().is_empty())
        .map(|s| AttrPath::parse(s).map_err(|e| ScimError::InvalidValue(format!("sortBy: {e}"))))
        .transpose()?;
    let descending = match sort_order.map(str::trim) {
        None | Some("") => false,
        Some(o) if o.eq_ignore_ascii_case("ascending") => false,
        Some(o) if o.eq_ignore_ascii_case("descending") => true,
        Some(_) => {
            return Err(ScimError::InvalidValue(
                "sortOrder must be ascending or descending".into(),
            ));
        }
    };
    Ok(ListQuery {
        filter,
        // "A value less than 1 SHALL be interpreted as 1"; a negative count as 0 (section 3.4.2.4).
        start_index: start_index.unwrap_or(1).max(1) as usize,
        count: count.map_or(DEFAULT_COUNT, |c| (c.max(0) as usize).min(MAX_RESULTS)),
        sort_by,
        descending,
        projection,
    })
}

/// GET /Users parameters.
pub fn from_url(query: &HashMap<String, String>) -> Result<ListQuery> {
    list_query(
        param(query, "filter"),
        index(param(query, "startIndex"), "startIndex")?,
        index(param(query, "count"), "count")?,
        param(query, "sortBy"),
        param(query, "sortOrder"),
        projection_from_query(query)?,
    )
}

/// A POST /.search body (a SearchRequest).
pub fn from_search(body: &Value) -> Result<ListQuery> {
    let body = body.as_object().ok_or_else(|| {
        ScimError::InvalidSyntax("the body must be a SearchRequest object".into())
    })?;
    let get = |name: &str| {
        body.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    };
    let text = |name: &str| -> Result<Option<&str>> {
        get(name)
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| ScimError::InvalidValue(format!("{name} must be a string")))
            })
            .transpose()
    };
    let number = |name: &str| -> Result<Option<i64>> {
        match get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| ScimError::InvalidValue(format!("{name} must be an integer"))),
            Some(Value::String(s)) => index(Some(s), name),
            Some(_) => Err(ScimError::InvalidValue(format!(
                "{name} must be an integer"
            ))),
        }
    };
    let list = |name: &str| -> Result<Option<Vec<&str>>> {
        match get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.split(',').collect())),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .ok_or_else(|| ScimError::InvalidValue(format!("{name} must list strings")))
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(_) => Err(ScimError::InvalidValue(format!("{name} must list strings"))),
        }
    };
    let projection = projection(
        list("attributes")?.as_deref(),
        list("excludedAttributes")?.as_deref(),
    )?;
    list_query(
        text("filter")?,
        number("startIndex")?,
        number("count")?,
        text("sortBy")?,
        text("sortOrder")?,
        projection,
    )
}

/// Where a projection path points: the schema part and the attribute name (lower-cased), or the whole
/// extension (empty name).
fn target(path: &AttrPath) -> Option<(Schema, String, Option<String>)> {
    match path.resolve() {
        Ok(Resolved::Extension(schema)) => Some((schema, String::new(), None)),
        Ok(Resolved::Attr { schema, attr, sub }) => Some((
            schema,
            attr.name.to_ascii_lowercase(),
            sub.map(|s| s.name.to_ascii_lowercase()),
        )),
        Ok(Resolved::Common(_)) => Some((
            Schema::User,
            path.name.to_ascii_lowercase(),
            path.sub.as_ref().map(|s| s.to_ascii_lowercase()),
        )),
        _ => None,
    }
}

/// Keeps (or drops) the sub-attributes `subs` of a complex or multi-valued complex value.
fn filter_subs(value: &Value, subs: &[String], keep: bool) -> Value {
    let filter_obj = |o: &Map<String, Value>| {
        Value::Object(
            o.iter()
                .filter(|(k, _)| subs.contains(&k.to_ascii_lowercase()) == keep)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    };
    match value {
        Value::Object(o) => filter_obj(o),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| i.as_object().map_or(i.clone(), filter_obj))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.iter().all(is_empty),
        Value::Null => true,
        _ => false,
    }
}

/// Applies `projection` to the attributes of one schema part (`obj`: the User, or its extension object).
fn project_part(
    obj: &Map<String, Value>,
    schema: Schema,
    projection: &Projection,
    whole_part: bool,
) -> Map<String, Value> {
    let (paths, keep) = match projection {
        Projection::Default => return obj.clone(),
        Projection::Only(p) => (p, true),
        Projection::Except(p) => (p, false),
    };
    let targets: Vec<(String, Option<String>)> = paths
        .iter()
        .filter_map(target)
        .filter(|(s, _, _)| *s == schema)
        .map(|(_, name, sub)| (name, sub))
        .collect();
    let whole_extension = targets.iter().any(|(name, _)| name.is_empty());
    let mut out = Map::new();
    for (key, value) in obj {
        let lower = key.to_ascii_lowercase();
        // `schemas` and `id` are returned always (RFC 7643 section 3.1), the extension key is handled apart.
        if schema == Schema::User && (lower == "schemas" || lower == "id" || key == ENTERPRISE) {
            out.insert(key.clone(), value.clone());
            continue;
        }
        let named: Vec<&Option<String>> = targets
            .iter()
            .filter(|(name, _)| *name == lower)
            .map(|(_, sub)| sub)
            .collect();
        let whole = (whole_part && whole_extension) || named.iter().any(|s| s.is_none());
        let subs: Vec<String> = named.iter().filter_map(|s| (*s).clone()).collect();
        let projected = match (keep, whole, subs.is_empty()) {
            (true, true, _) => Some(value.clone()),
            (true, false, true) => None,
            (true, false, false) => Some(filter_subs(value, &subs, true)),
            (false, true, _) => None,
            (false, false, true) => Some(value.clone()),
            (false, false, false) => Some(filter_subs(value, &subs, false)),
        };
        if let Some(v) = projected.filter(|v| !is_empty(v)) {
            out.insert(key.clone(), v);
        }
    }
    out
}

/// A User resource with only the attributes `projection` asks for; `schemas` names the parts left.
pub fn project(resource: Doc, projection: &Projection) -> Doc {
    if matches!(projection, Projection::Default) {
        return resource;
    }
    let mut out = project_part(&resource, Schema::User, projection, false);
    match resource.get(ENTERPRISE).and_then(Value::as_object) {
        Some(ext) => {
            let ext = project_part(ext, Schema::Enterprise, projection, true);
            if ext.is_empty() {
                out.remove(ENTERPRISE);
            } else {
                out.insert(ENTERPRISE.into(), Value::Object(ext));
            }
        }
        None => {
            out.remove(ENTERPRISE);
        }
    }
    let mut schemas = vec![json!(schema::USER)];
    if out.contains_key(ENTERPRISE) {
        schemas.push(json!(ENTERPRISE));
    }
    out.insert("schemas".into(), Value::Array(schemas));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> Doc {
        json!({
            "schemas": [schema::USER, ENTERPRISE],
            "id": "E1",
            "meta": {"resourceType": "User", "version": "W/\"1\""},
            "userName": "ada",
            "externalId": "x1",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "a@example.com", "type": "work"}],
            ENTERPRISE: {"department": "R&D", "employeeNumber": "7"}
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn only(list: &[&str]) -> Doc {
        project(user(), &projection(Some(list), None).unwrap())
    }

    fn except(list: &[&str]) -> Doc {
        project(user(), &projection(None, Some(list)).unwrap())
    }

    #[test]
    fn attributes_keep_the_named_ones_plus_id_and_schemas() {
        assert_eq!(
            Value::Object(only(&["externalId"])),
            json!({"schemas": [schema::USER], "id": "E1", "externalId": "x1"})
        );
        assert_eq!(
            Value::Object(only(&["name.givenName", "emails.value", "meta.version"])),
            json!({"schemas": [schema::USER], "id": "E1", "name": {"givenName": "Ada"},
                   "emails": [{"value": "a@example.com"}], "meta": {"version": "W/\"1\""}})
        );
        assert_eq!(
            only(&["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"])
                [ENTERPRISE],
            json!({"department": "R&D"})
        );
        assert_eq!(
            only(&[ENTERPRISE])[ENTERPRISE],
            json!({"department": "R&D", "employeeNumber": "7"})
        );
    }

    #[test]
    fn excluded_attributes_drop_the_named_ones_but_never_id() {
        let out = except(&["name", "id", ENTERPRISE]);
        assert!(!out.contains_key("name"));
        assert!(!out.contains_key(ENTERPRISE));
        assert_eq!(out["id"], json!("E1"));
        assert_eq!(out["schemas"], json!([schema::USER]));
        assert_eq!(
            except(&["name.familyName"])["name"],
            json!({"givenName": "Ada"})
        );
    }

    #[test]
    fn paging_parameters_follow_the_rfc() {
        let q = |pairs: &[(&str, &str)]| {
            from_url(
                &pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        let d = q(&[]).unwrap();
        assert_eq!((d.start_index, d.count), (1, DEFAULT_COUNT));
        let d = q(&[("startIndex", "-4"), ("count", "-1")]).unwrap();
        assert_eq!((d.start_index, d.count), (1, 0));
        assert_eq!(q(&[("count", "100000")]).unwrap().count, MAX_RESULTS);
        assert!(matches!(
            q(&[("count", "many")]),
            Err(ScimError::InvalidValue(_))
        ));
        assert!(matches!(
            q(&[("attributes", "name"), ("excludedAttributes", "id")]),
            Err(ScimError::InvalidSyntax(_))
        ));
        let s = from_search(
            &json!({"filter": "userName eq \"a\"", "startIndex": 3, "count": "2",
            "attributes": ["userName"], "sortBy": "userName", "sortOrder": "descending"}),
        )
        .unwrap();
        assert!(s.filter.is_some() && s.descending && s.sort_by.is_some());
        assert_eq!((s.start_index, s.count), (3, 2));
    }
}
