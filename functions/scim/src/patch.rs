//! PATCH (RFC 7644 section 3.5.2): add, replace and remove, with and without `path`, on the working document of
//! a User. The caller validates the result as a whole afterwards.
//!
//! Beyond the RFC letter, for what identity providers send: operation names in any case (Entra ID sends
//! "Replace"), dotted and bracketed paths as keys of a path-less value, `add`/`replace` through a filter of
//! equalities that matches nothing creates the value (Entra ID's `emails[type eq "work"].value`), and `remove`
//! through a filter that matches nothing does nothing.

use serde_json::{Map, Value};

use crate::error::{Result, ScimError};
use crate::filter::{self, AttrPath, Common, Filter, Resolved, Scope};
use crate::resource::{
    Doc, EXTERNAL_ID, check_primary, container, drop_empty_extension, normalize_single,
    normalize_value,
};
use crate::schema::{self, Attr, Type};

/// Most operations one PATCH request may carry.
const MAX_OPERATIONS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Add,
    Replace,
    Remove,
}

/// A PATCH path: `attrPath`, `attrPath[valFilter]` or `attrPath[valFilter].subAttr`.
struct PatchPath {
    attr: AttrPath,
    filter: Option<Filter>,
}

fn parse_path(text: &str) -> Result<PatchPath> {
    let invalid = |e: String| ScimError::InvalidPath(e);
    let Some(open) = text.find('[') else {
        return Ok(PatchPath {
            attr: AttrPath::parse(text).map_err(invalid)?,
            filter: None,
        });
    };
    let close = text
        .rfind(']')
        .filter(|c| *c > open)
        .ok_or_else(|| invalid(format!("{text:?}: '[' without ']'")))?;
    let mut attr = AttrPath::parse(&text[..open]).map_err(invalid)?;
    if attr.sub.is_some() {
        return Err(invalid(format!("{text:?}: brackets follow an attribute")));
    }
    let filter = filter::parse(&text[open + 1..close])?;
    let rest = &text[close + 1..];
    if !rest.is_empty() {
        let sub = rest
            .strip_prefix('.')
            .filter(|s| !s.is_empty() && !s.contains('.'))
            .ok_or_else(|| invalid(format!("{text:?}: unexpected text after ']'")))?;
        attr.sub = Some(sub.to_string());
    }
    Ok(PatchPath {
        attr,
        filter: Some(filter),
    })
}

/// Applies a PatchOp request body to `doc`.
pub fn apply(doc: &mut Doc, body: &Value) -> Result<()> {
    let body = body
        .as_object()
        .ok_or_else(|| ScimError::InvalidSyntax("the body must be a PatchOp object".into()))?;
    if let Some(schemas) = field(body, "schemas") {
        let ok = schemas.as_array().is_some_and(|s| {
            s.iter().any(|u| {
                u.as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(schema::PATCH_OP))
            })
        });
        if !ok {
            return Err(ScimError::InvalidSyntax(format!(
                "schemas must hold {}",
                schema::PATCH_OP
            )));
        }
    }
    let operations = field(body, "Operations")
        .and_then(Value::as_array)
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| ScimError::InvalidSyntax("Operations must be a non-empty array".into()))?;
    if operations.len() > MAX_OPERATIONS {
        return Err(ScimError::InvalidSyntax(format!(
            "at most {MAX_OPERATIONS} operations per request"
        )));
    }
    for operation in operations {
        let operation = operation
            .as_object()
            .ok_or_else(|| ScimError::InvalidSyntax("each operation must be an object".into()))?;
        let kind = match field(operation, "op").and_then(Value::as_str) {
            Some(op) if op.eq_ignore_ascii_case("add") => Kind::Add,
            Some(op) if op.eq_ignore_ascii_case("replace") => Kind::Replace,
            Some(op) if op.eq_ignore_ascii_case("remove") => Kind::Remove,
            _ => {
                return Err(ScimError::InvalidSyntax(
                    "op must be add, replace or remove".into(),
                ));
            }
        };
        let path = match field(operation, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if p.trim().is_empty() => None,
            Some(Value::String(p)) => Some(p.trim()),
            Some(_) => return Err(ScimError::InvalidPath("path must be a string".into())),
        };
        let value = field(operation, "value").unwrap_or(&Value::Null);
        match path {
            Some(path) => apply_at(doc, kind, path, value)?,
            None if kind == Kind::Remove => {
                return Err(ScimError::NoTarget("remove needs a path".into()));
            }
            None => {
                let Value::Object(values) = value else {
                    return Err(ScimError::InvalidValue(
                        "without a path, value must be an object of attributes".into(),
                    ));
                };
                for (key, value) in values {
                    // Read-only and message attributes in a whole-resource value are ignored (Okta sends `id`).
                    if ["schemas", "id", "meta"]
                        .iter()
                        .any(|k| k.eq_ignore_ascii_case(key))
                    {
                        continue;
                    }
                    apply_at(doc, kind, key, value)?;
                }
            }
        }
    }
    drop_empty_extension(doc);
    Ok(())
}

/// A member of a JSON object, its name in any case.
fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn apply_at(doc: &mut Doc, kind: Kind, path: &str, value: &Value) -> Result<()> {
    let path = parse_path(path)?;
    let resolved = path.attr.resolve().map_err(ScimError::InvalidPath)?;
    match (resolved, &path.filter) {
        (Resolved::Ignored, _) => Ok(()),
        (Resolved::Common(Common::Id | Common::Meta(_)), _) => Err(ScimError::Mutability(format!(
            "{} is read-only",
            path.attr.name
        ))),
        (Resolved::Common(Common::ExternalId), None) => {
            match kind {
                Kind::Remove => {
                    doc.remove("externalId");
                }
                _ => match normalize_single(&EXTERNAL_ID, value)? {
                    Some(v) => {
                        doc.insert("externalId".into(), v);
                    }
                    None => {
                        doc.remove("externalId");
                    }
                },
            }
            Ok(())
        }
        (Resolved::Extension(schema), None) => {
            match kind {
                Kind::Remove => {
                    doc.remove(schema.urn());
                }
                _ => {
                    let Value::Object(values) = value else {
                        return Err(ScimError::InvalidValue(format!(
                            "{} takes an object of its attributes",
                            schema.urn()
                        )));
                    };
                    for (name, v) in values {
                        if let Some(attr) = schema::find(schema.attrs(), name) {
                            set_attr(container(doc, schema), kind, attr, v)?;
                        }
                    }
                }
            }
            Ok(())
        }
        (Resolved::Attr { schema, attr, sub }, None) => {
            let target = container(doc, schema);
            match sub {
                None if kind == Kind::Remove => remove_attr(target, attr, value),
                None => set_attr(target, kind, attr, value),
                Some(sub) => on_sub_attribute(target, kind, attr, sub, value),
            }
        }
        (Resolved::Attr { schema, attr, .. }, Some(filter)) => {
            if !(attr.multi && attr.ty == Type::Complex) {
                return Err(ScimError::InvalidPath(format!(
                    "{} is not a multi-valued complex attribute",
                    attr.name
                )));
            }
            let sub = match &path.attr.sub {
                None => None,
                Some(name) => match schema::find(attr.sub, name) {
                    Some(s) => Some(s),
                    // A standard sub-attribute Provisio does not keep.
                    None => return Ok(()),
                },
            };
            filtered(container(doc, schema), kind, attr, filter, sub, value)
        }
        (_, Some(_)) => Err(ScimError::InvalidPath(format!(
            "{} takes no filter",
            path.attr.name
        ))),
    }
}

/// add or replace of a whole attribute.
fn set_attr(target: &mut Doc, kind: Kind, attr: &Attr, value: &Value) -> Result<()> {
    let Some(new) = normalize_value(attr, value)? else {
        // Setting null (or an empty array) unassigns (RFC 7644 section 3.5.2.3 and 3.3).
        if kind == Kind::Replace || value.is_null() {
            target.remove(attr.name);
        }
        return Ok(());
    };
    match (attr.multi, attr.ty, target.get_mut(attr.name)) {
        // add to a multi-valued attribute appends what is not there yet.
        (true, _, Some(Value::Array(existing))) if kind == Kind::Add => {
            let added = new.as_array().cloned().unwrap_or_default();
            let promotes = added.iter().any(is_primary);
            if promotes {
                existing.iter_mut().for_each(demote);
            }
            for v in added {
                if !existing.contains(&v) {
                    existing.push(v);
                }
            }
            check_primary(attr, existing)?;
        }
        // add and replace of a complex attribute set the given sub-attributes, others stay (section 3.5.2.3).
        (false, Type::Complex, Some(Value::Object(existing))) => {
            if let Value::Object(given) = new {
                existing.extend(given);
            }
        }
        _ => {
            target.insert(attr.name.into(), new);
        }
    }
    Ok(())
}

/// remove of a whole attribute; for a multi-valued one, a value (Entra ID style) removes only the values that
/// match it.
fn remove_attr(target: &mut Doc, attr: &Attr, value: &Value) -> Result<()> {
    if attr.multi && !value.is_null() {
        let Some(Value::Array(given)) = normalize_value(attr, value)? else {
            return Ok(());
        };
        if let Some(Value::Array(existing)) = target.get_mut(attr.name) {
            existing.retain(|v| !given.iter().any(|g| contains_all(v, g)));
            if existing.is_empty() {
                target.remove(attr.name);
            }
        }
        return Ok(());
    }
    target.remove(attr.name);
    Ok(())
}

/// Whether `value` has every member of `pattern`.
fn contains_all(value: &Value, pattern: &Value) -> bool {
    match (value, pattern) {
        (Value::Object(v), Value::Object(p)) => p.iter().all(|(k, pv)| v.get(k) == Some(pv)),
        (v, p) => v == p,
    }
}

fn is_primary(v: &Value) -> bool {
    v.get("primary") == Some(&Value::Bool(true))
}

fn demote(v: &mut Value) {
    if let Some(obj) = v.as_object_mut()
        && obj.get("primary") == Some(&Value::Bool(true))
    {
        obj.insert("primary".into(), Value::Bool(false));
    }
}

/// `attr.sub` without a filter: on a complex attribute, its sub-attribute; on a multi-valued one, that
/// sub-attribute of every value (a first value when there is none).
fn on_sub_attribute(
    target: &mut Doc,
    kind: Kind,
    attr: &Attr,
    sub: &Attr,
    value: &Value,
) -> Result<()> {
    let new = match kind {
        Kind::Remove => None,
        _ => normalize_single(sub, value)?,
    };
    match target.get_mut(attr.name) {
        Some(Value::Array(items)) => {
            for item in items.iter_mut() {
                set_member(item, sub, new.clone());
            }
            items.retain(|i| i.as_object().is_some_and(|o| !o.is_empty()));
            if items.is_empty() {
                target.remove(attr.name);
            }
        }
        Some(existing @ Value::Object(_)) => {
            set_member(existing, sub, new);
            if existing.as_object().is_some_and(Map::is_empty) {
                target.remove(attr.name);
            }
        }
        _ => {
            if let Some(new) = new {
                let mut obj = Map::new();
                obj.insert(sub.name.into(), new);
                let value = if attr.multi {
                    Value::Array(vec![Value::Object(obj)])
                } else {
                    Value::Object(obj)
                };
                target.insert(attr.name.into(), value);
            }
        }
    }
    Ok(())
}

fn set_member(item: &mut Value, sub: &Attr, new: Option<Value>) {
    if let Some(obj) = item.as_object_mut() {
        match new {
            Some(v) => {
                obj.insert(sub.name.into(), v);
            }
            None => {
                obj.remove(sub.name);
            }
        }
    }
}

/// `attr[filter]` and `attr[filter].sub`.
fn filtered(
    target: &mut Doc,
    kind: Kind,
    attr: &'static Attr,
    filter: &Filter,
    sub: Option<&Attr>,
    value: &Value,
) -> Result<()> {
    let mut items = match target.remove(attr.name) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let mut matched = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(obj) = item.as_object()
            && filter.matches(Scope::Element(attr), obj)?
        {
            matched.push(i);
        }
    }
    // What add/replace put in place: a sub-attribute value, or a whole value (an object of sub-attributes).
    let new = match (kind, sub) {
        (Kind::Remove, _) => None,
        (_, Some(sub)) => normalize_single(sub, value)?,
        (_, None) => normalize_single(attr, value)?,
    };
    match kind {
        Kind::Remove => {
            if let Some(sub) = sub {
                for &i in &matched {
                    set_member(&mut items[i], sub, None);
                }
                items.retain(|i| i.as_object().is_some_and(|o| !o.is_empty()));
            } else {
                let mut index = 0;
                items.retain(|_| {
                    let keep = !matched.contains(&index);
                    index += 1;
                    keep
                });
            }
        }
        _ if matched.is_empty() => {
            // Nothing matches: create the value the filter describes, if it describes one.
            let Some(terms) = filter.equalities() else {
                return Err(ScimError::NoTarget(format!(
                    "no value of {} matches the filter",
                    attr.name
                )));
            };
            let mut created = Map::new();
            for (name, v) in terms {
                if let Some(s) = schema::find(attr.sub, &name)
                    && let Some(v) = normalize_single(s, &v)?
                {
                    created.insert(s.name.into(), v);
                }
            }
            match (sub, new) {
                (Some(sub), Some(v)) => {
                    created.insert(sub.name.into(), v);
                }
                (None, Some(Value::Object(given))) => created.extend(given),
                _ => {}
            }
            if is_primary(&Value::Object(created.clone())) {
                items.iter_mut().for_each(demote);
            }
            items.push(Value::Object(created));
        }
        _ => {
            let promotes = match (&new, sub) {
                (Some(v), None) => is_primary(v),
                (Some(Value::Bool(true)), Some(s)) => s.name == "primary",
                _ => false,
            };
            if promotes {
                for (i, item) in items.iter_mut().enumerate() {
                    if !matched.contains(&i) {
                        demote(item);
                    }
                }
            }
            for &i in &matched {
                match (sub, &new) {
                    (Some(sub), new) => set_member(&mut items[i], sub, new.clone()),
                    (None, Some(Value::Object(given))) => {
                        if kind == Kind::Replace {
                            items[i] = Value::Object(given.clone());
                        } else if let Some(obj) = items[i].as_object_mut() {
                            obj.extend(given.clone());
                        }
                    }
                    (None, _) => {}
                }
            }
            items.retain(|i| i.as_object().is_some_and(|o| !o.is_empty()));
        }
    }
    check_primary(attr, &items)?;
    if !items.is_empty() {
        target.insert(attr.name.into(), Value::Array(items));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc() -> Doc {
        json!({
            "userName": "ada",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
            "active": true,
            schema::ENTERPRISE: {"department": "Engineering"}
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn patched(ops: Value) -> Result<Doc> {
        let mut d = doc();
        apply(
            &mut d,
            &json!({"schemas": [schema::PATCH_OP], "Operations": ops}),
        )?;
        Ok(d)
    }

    #[test]
    fn replace_without_path_sets_each_attribute_in_any_case() {
        let d = patched(json!([{"op": "Replace", "value": {
            "active": "False",
            "name.givenName": "Augusta",
            "id": "ignored",
            schema::ENTERPRISE: {"department": "Research", "costCenter": "CC-1"}
        }}]))
        .unwrap();
        assert_eq!(d["active"], json!(false));
        assert_eq!(
            d["name"],
            json!({"givenName": "Augusta", "familyName": "Lovelace"})
        );
        assert_eq!(
            d[schema::ENTERPRISE],
            json!({"department": "Research", "costCenter": "CC-1"})
        );
    }

    #[test]
    fn add_appends_to_multi_valued_and_moves_primary() {
        let d = patched(json!([{"op": "add", "path": "emails",
            "value": [{"value": "ada@home.example", "type": "home", "primary": true}]}]))
        .unwrap();
        assert_eq!(
            d["emails"],
            json!([
                {"value": "ada@example.com", "type": "work", "primary": false},
                {"value": "ada@home.example", "type": "home", "primary": true}
            ])
        );
    }

    #[test]
    fn filtered_paths_update_create_and_remove_values() {
        let d = patched(json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "lovelace@example.com"},
            {"op": "add", "path": "addresses[type eq \"work\"].country", "value": "GB"},
        ]))
        .unwrap();
        assert_eq!(d["emails"][0]["value"], json!("lovelace@example.com"));
        assert_eq!(d["addresses"], json!([{"type": "work", "country": "GB"}]));

        let d = patched(json!([{"op": "remove", "path": "emails[type eq \"work\"]"}])).unwrap();
        assert!(!d.contains_key("emails"));
        let d = patched(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])).unwrap();
        assert_eq!(
            d["emails"].as_array().unwrap().len(),
            1,
            "no match: nothing removed"
        );
    }

    #[test]
    fn remove_by_path_and_extension_paths() {
        let d = patched(json!([
            {"op": "remove", "path": "name.givenName"},
            {"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"},
            {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
             "value": {"value": "E001"}},
        ]))
        .unwrap();
        assert_eq!(d["name"], json!({"familyName": "Lovelace"}));
        assert_eq!(d[schema::ENTERPRISE], json!({"manager": {"value": "E001"}}));
        let d = patched(json!([{"op": "remove", "path": schema::ENTERPRISE}])).unwrap();
        assert!(!d.contains_key(schema::ENTERPRISE));
    }

    #[test]
    fn an_extension_path_creates_the_missing_extension_object() {
        let d = patched(json!([
            {"op": "remove", "path": schema::ENTERPRISE},
            {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
             "value": "Research"},
        ]))
        .unwrap();
        assert_eq!(d[schema::ENTERPRISE], json!({"department": "Research"}));
    }

    #[test]
    fn standard_attributes_not_kept_are_ignored_and_unknown_ones_rejected() {
        let d = patched(
            json!([{"op": "add", "path": "phoneNumbers[type eq \"work\"].value", "value": "123"}]),
        )
        .unwrap();
        assert_eq!(d, doc());
        assert!(matches!(
            patched(json!([{"op": "add", "path": "shoeSize", "value": "9"}])),
            Err(ScimError::InvalidPath(_))
        ));
        assert!(matches!(
            patched(json!([{"op": "replace", "path": "id", "value": "x"}])),
            Err(ScimError::Mutability(_))
        ));
    }

    #[test]
    fn malformed_requests_are_rejected_with_their_scim_type() {
        assert!(matches!(
            patched(json!([{"op": "move", "path": "title"}])),
            Err(ScimError::InvalidSyntax(_))
        ));
        assert!(matches!(
            patched(json!([])),
            Err(ScimError::InvalidSyntax(_))
        ));
        assert!(matches!(
            patched(json!([{"op": "remove"}])),
            Err(ScimError::NoTarget(_))
        ));
        assert!(matches!(
            patched(
                json!([{"op": "replace", "path": "emails[type co \"x\"].value", "value": "a@b"}])
            ),
            Err(ScimError::NoTarget(_))
        ));
        assert!(matches!(
            patched(json!([{"op": "replace", "path": "active", "value": "maybe"}])),
            Err(ScimError::InvalidValue(_))
        ));
        assert!(matches!(
            patched(json!([{"op": "replace", "path": "emails[type eq \"work\"", "value": "x"}])),
            Err(ScimError::InvalidPath(_))
        ));
    }
}
