//! A User as JSON: validated into a working document, derived into an identity, rendered back.
//!
//! The working document is the User without `id`, `meta` and `schemas`: canonical attribute names, the
//! enterprise extension under its URN, unassigned attributes absent. POST and PUT bodies are normalized into it;
//! PATCH operates on it.
//!
//! Who holds what: the identity holds title, department, costCenter, manager and the status behind `active`
//! (HR events change them too, and SCIM shows the current values); the SCIM account keeps the rest as sent.
//! email, displayName, employment type and location are derived into the identity when the User's source for
//! them changes, so a SCIM write that does not touch them does not undo an HR change.

use provisio_core::model::{
    EmploymentType, Identity, IdentityStatus, ScimAccount, Timestamp, live_scim_account,
};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::error::{Result, ScimError};
use crate::filter::{AttrPath, Common, Resolved};
use crate::schema::{self, Attr, ENTERPRISE, Mutability, Schema, Type};

pub type Doc = Map<String, Value>;

/// Longest userName or externalId accepted: they are index keys (DynamoDB allows 1024 bytes in a sort key).
const MAX_KEY_BYTES: usize = 512;

/// Core attributes the identity holds, and those of the enterprise extension.
const HELD: &[&str] = &["title"];
const HELD_EXTENSION: &[&str] = &["department", "costCenter", "manager"];

/// A User's attributes from a POST or PUT body. Unknown and read-only attributes are ignored; values of the
/// wrong type are `invalidValue`.
pub fn normalize(body: &Map<String, Value>) -> Result<Doc> {
    let mut doc = Doc::new();
    for (key, value) in body {
        // `schemas`, unknown names and other extensions: nothing this server keeps.
        let Ok(path) = AttrPath::parse(key) else {
            continue;
        };
        match path.resolve() {
            Ok(Resolved::Common(Common::ExternalId)) => {
                if let Some(v) = normalize_single(&EXTERNAL_ID, value)? {
                    doc.insert("externalId".into(), v);
                }
            }
            Ok(Resolved::Extension(schema)) => match value {
                Value::Object(attrs) => {
                    for (name, v) in attrs {
                        if let Some(attr) = schema::find(schema.attrs(), name)
                            && let Some(v) = normalize_value(attr, v)?
                        {
                            container(&mut doc, schema).insert(attr.name.into(), v);
                        }
                    }
                }
                Value::Null => {}
                _ => {
                    return Err(ScimError::InvalidValue(format!(
                        "{} must be an object",
                        schema.urn()
                    )));
                }
            },
            Ok(Resolved::Attr {
                schema,
                attr,
                sub: None,
            }) => {
                if let Some(v) = normalize_value(attr, value)? {
                    container(&mut doc, schema).insert(attr.name.into(), v);
                }
            }
            _ => {}
        }
    }
    drop_empty_extension(&mut doc);
    Ok(doc)
}

/// `externalId` as an attribute, for validation.
pub const EXTERNAL_ID: Attr = Attr {
    name: "externalId",
    ty: Type::String,
    multi: false,
    required: false,
    case_exact: true,
    mutability: Mutability::ReadWrite,
    unique: false,
    canonical: &[],
    reference_types: &[],
    sub: &[],
    description: "",
};

/// The object attributes of `schema` live in (the document itself, or the extension's object).
pub fn container(doc: &mut Doc, schema: Schema) -> &mut Doc {
    match schema {
        Schema::User => doc,
        Schema::Enterprise => object_in(doc.entry(ENTERPRISE).or_insert(Value::Null)),
    }
}

/// `slot` as an object, replacing anything else (null, a stray scalar) with an empty one.
fn object_in(slot: &mut Value) -> &mut Doc {
    match slot {
        Value::Object(map) => map,
        other => {
            *other = Value::Object(Map::new());
            object_in(other)
        }
    }
}

pub fn drop_empty_extension(doc: &mut Doc) {
    if doc
        .get(ENTERPRISE)
        .is_some_and(|e| e.as_object().is_none_or(Map::is_empty))
    {
        doc.remove(ENTERPRISE);
    }
}

/// A value for `attr`: None when it unassigns (null, empty). Multi-valued attributes take an array (a single
/// value is wrapped) without duplicates, with `primary: true` at most once.
pub fn normalize_value(attr: &Attr, value: &Value) -> Result<Option<Value>> {
    if !attr.multi {
        return normalize_single(attr, value);
    }
    let items = match value {
        Value::Null => return Ok(None),
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let mut out: Vec<Value> = Vec::new();
    for item in &items {
        if let Some(v) = normalize_single(attr, item)?
            && !out.contains(&v)
        {
            out.push(v);
        }
    }
    check_primary(attr, &out)?;
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

/// RFC 7643 section 2.4: `primary: true` appears at most once in a multi-valued attribute.
pub fn check_primary(attr: &Attr, values: &[Value]) -> Result<()> {
    let primaries = values
        .iter()
        .filter(|v| v.get("primary") == Some(&Value::Bool(true)))
        .count();
    if primaries > 1 {
        return Err(ScimError::InvalidValue(format!(
            "{}: primary may be true for one value only",
            attr.name
        )));
    }
    Ok(())
}

/// One value of `attr` (an element, for multi-valued ones).
pub fn normalize_single(attr: &Attr, value: &Value) -> Result<Option<Value>> {
    if attr.mutability == Mutability::ReadOnly || value.is_null() {
        return Ok(None);
    }
    match attr.ty {
        Type::String | Type::Reference | Type::DateTime => match value {
            Value::String(_) => Ok(Some(value.clone())),
            // Identity providers sometimes send employee numbers unquoted.
            Value::Number(n) => Ok(Some(Value::String(n.to_string()))),
            _ => Err(ScimError::InvalidValue(format!(
                "{} must be a string",
                attr.name
            ))),
        },
        Type::Boolean => match value {
            Value::Bool(_) => Ok(Some(value.clone())),
            // Entra ID sends "True"/"False" in PATCH operations.
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(Value::Bool(true))),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(Value::Bool(false))),
            _ => Err(ScimError::InvalidValue(format!(
                "{} must be true or false",
                attr.name
            ))),
        },
        Type::Complex => {
            // Entra ID sends the manager as its bare id: a scalar stands for the `value` sub-attribute.
            if (value.is_string() || value.is_number())
                && let Some(sub) = schema::find(attr.sub, "value")
            {
                return Ok(normalize_single(sub, value)?
                    .map(|v| Value::Object(Map::from_iter([(sub.name.to_string(), v)]))));
            }
            let Value::Object(given) = value else {
                return Err(ScimError::InvalidValue(format!(
                    "{} must be an object",
                    attr.name
                )));
            };
            let mut out = Map::new();
            for (name, v) in given {
                if let Some(sub) = schema::find(attr.sub, name)
                    && let Some(v) = normalize_single(sub, v)?
                {
                    out.insert(sub.name.into(), v);
                }
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
    }
}

fn text<'a>(obj: &'a Doc, name: &str) -> Option<&'a str> {
    obj.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn extension(doc: &Doc) -> Option<&Doc> {
    doc.get(ENTERPRISE).and_then(Value::as_object)
}

/// The userName of a document: required, at most `MAX_KEY_BYTES` bytes.
pub fn user_name(doc: &Doc) -> Result<String> {
    let name = text(doc, "userName")
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ScimError::InvalidValue("userName is required".into()))?;
    if ScimAccount::user_name_key(name).len() > MAX_KEY_BYTES {
        return Err(ScimError::InvalidValue(format!(
            "userName is longer than {MAX_KEY_BYTES} bytes"
        )));
    }
    Ok(name.to_string())
}

pub fn external_id(doc: &Doc) -> Result<Option<String>> {
    match text(doc, "externalId") {
        Some(e) if e.len() > MAX_KEY_BYTES => Err(ScimError::InvalidValue(format!(
            "externalId is longer than {MAX_KEY_BYTES} bytes"
        ))),
        other => Ok(other.map(str::to_string)),
    }
}

/// enterprise `employeeNumber`, if given.
pub fn employee_number(doc: &Doc) -> Option<&str> {
    extension(doc).and_then(|e| text(e, "employeeNumber"))
}

/// The value of a multi-valued attribute that stands for all: the primary one, else the `work` one, else the
/// first.
fn preferred<'a>(doc: &'a Doc, name: &str) -> Option<&'a Doc> {
    let values: Vec<&Doc> = doc
        .get(name)?
        .as_array()?
        .iter()
        .filter_map(Value::as_object)
        .collect();
    values
        .iter()
        .find(|v| v.get("primary") == Some(&Value::Bool(true)))
        .or_else(|| {
            values.iter().find(|v| {
                v.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case("work"))
            })
        })
        .or(values.first())
        .copied()
}

fn email_source(doc: &Doc) -> Option<String> {
    preferred(doc, "emails")
        .and_then(|e| text(e, "value"))
        .map(str::to_string)
}

fn display_name_source(doc: &Doc) -> Option<String> {
    let name = doc.get("name").and_then(Value::as_object);
    text(doc, "displayName")
        .map(str::to_string)
        .or_else(|| name.and_then(|n| text(n, "formatted")).map(str::to_string))
        .or_else(|| {
            let n = name?;
            let full = [text(n, "givenName"), text(n, "familyName")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!full.is_empty()).then_some(full)
        })
}

fn employment_type_source(doc: &Doc) -> Option<EmploymentType> {
    text(doc, "userType").map(|t| {
        if t.eq_ignore_ascii_case("contractor") {
            EmploymentType::Contractor
        } else {
            EmploymentType::Fte
        }
    })
}

fn location_source(doc: &Doc) -> Option<String> {
    preferred(doc, "addresses")
        .and_then(|a| text(a, "country"))
        .map(str::to_string)
}

/// A derived attribute: the User's source for it when this write changed that source, else what the identity
/// has (an HR update stays), else the source or `default` for a new identity.
fn follow<T: PartialEq>(new: Option<T>, old: Option<T>, before: Option<T>, default: T) -> T {
    match (new, before) {
        (Some(n), _) if old.as_ref() != Some(&n) => n,
        (_, Some(b)) => b,
        (Some(n), None) => n,
        (None, None) => default,
    }
}

/// How a write treats the attributes the identity holds when the User does not have them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absent {
    /// POST and PUT: not asserted, the identity keeps its value (RFC 7644 section 3.5.1 lets a server keep or
    /// default what a PUT omits; an HR attribute the identity provider does not map survives).
    Keep,
    /// PATCH: the operations removed it (the document they ran on showed it), so it is cleared.
    Clear,
}

/// The identity a SCIM write makes of `before` (None: a new employee `employee_id`). `old` is the User the
/// write started from (None when there was no live SCIM account), `new` the User it asserts.
pub fn derive(
    employee_id: &str,
    before: Option<&Identity>,
    old: Option<&Doc>,
    new: &Doc,
    absent: Absent,
    now: Timestamp,
) -> Result<Identity> {
    let user_name = user_name(new)?;
    let external_id = external_id(new)?;
    let ext = extension(new);
    let held = |value: Option<&str>, was: Option<&str>| -> String {
        match (value, absent) {
            (Some(v), _) => v.to_string(),
            (None, Absent::Clear) => String::new(),
            (None, Absent::Keep) => was.unwrap_or_default().to_string(),
        }
    };
    let mut identity = match before {
        Some(b) => b.clone(),
        None => Identity {
            employee_id: employee_id.to_string(),
            email: String::new(),
            display_name: String::new(),
            department: String::new(),
            job_title: String::new(),
            location: String::new(),
            cost_center: String::new(),
            manager_id: None,
            employment_type: EmploymentType::Fte,
            status: IdentityStatus::Active,
            groups: vec![],
            delegates: vec![],
            last_change: None,
            scim: None,
        },
    };
    identity.job_title = held(text(new, "title"), before.map(|b| b.job_title.as_str()));
    identity.department = held(
        ext.and_then(|e| text(e, "department")),
        before.map(|b| b.department.as_str()),
    );
    identity.cost_center = held(
        ext.and_then(|e| text(e, "costCenter")),
        before.map(|b| b.cost_center.as_str()),
    );
    let manager = ext
        .and_then(|e| e.get("manager"))
        .and_then(Value::as_object)
        .and_then(|m| text(m, "value"));
    identity.manager_id = match (manager, absent) {
        (Some(m), _) => Some(m.to_string()),
        (None, Absent::Clear) => None,
        (None, Absent::Keep) => before.and_then(|b| b.manager_id.clone()),
    };
    let was = before.map(|b| b.status);
    identity.status = match (new.get("active").and_then(Value::as_bool), absent) {
        (Some(false), _) => IdentityStatus::Terminated,
        // Active again (a rehire), or `active` removed, which no longer says the person left.
        (Some(true), _) | (None, Absent::Clear) => match was {
            None | Some(IdentityStatus::Terminated) => IdentityStatus::Active,
            Some(s) => s,
        },
        (None, Absent::Keep) => was.unwrap_or(IdentityStatus::Active),
    };
    identity.email = follow(
        email_source(new),
        old.and_then(email_source),
        before.map(|b| b.email.clone()),
        user_name.clone(),
    );
    identity.display_name = follow(
        display_name_source(new),
        old.and_then(display_name_source),
        before.map(|b| b.display_name.clone()),
        user_name.clone(),
    );
    identity.employment_type = follow(
        employment_type_source(new),
        old.and_then(employment_type_source),
        before.map(|b| b.employment_type),
        EmploymentType::Fte,
    );
    identity.location = follow(
        location_source(new),
        old.and_then(location_source),
        before.map(|b| b.location.clone()),
        String::new(),
    );

    let mut attributes = new.clone();
    for name in ["userName", "externalId"].iter().chain(HELD) {
        attributes.remove(*name);
    }
    if let Some(Value::Object(ext)) = attributes.get_mut(ENTERPRISE) {
        for name in HELD_EXTENSION {
            ext.remove(*name);
        }
    }
    drop_empty_extension(&mut attributes);
    let created = before
        .and_then(live_scim_account)
        .map_or(now, |a| a.created);
    identity.scim = Some(ScimAccount {
        user_name,
        external_id,
        attributes,
        created,
        last_modified: now,
        deleted_at: None,
    });
    Ok(identity)
}

/// The User as the identity provider sees it, without `id`, `meta` and `schemas`: the SCIM account's attributes
/// with the current values of those the identity holds.
pub fn working_doc(identity: &Identity, account: &ScimAccount, base: &str) -> Doc {
    let mut doc = account.attributes.clone();
    doc.insert("userName".into(), json!(account.user_name));
    if let Some(external_id) = &account.external_id {
        doc.insert("externalId".into(), json!(external_id));
    }
    let set = |doc: &mut Doc, name: &str, value: &str| {
        if value.is_empty() {
            doc.remove(name);
        } else {
            doc.insert(name.into(), json!(value));
        }
    };
    set(&mut doc, "title", &identity.job_title);
    // `active` shows when the identity provider asserted it, or when the person left (also through HR).
    let terminated = identity.status == IdentityStatus::Terminated;
    if doc.contains_key("active") || terminated {
        doc.insert("active".into(), json!(!terminated));
    }
    let ext = container(&mut doc, Schema::Enterprise);
    set(ext, "department", &identity.department);
    set(ext, "costCenter", &identity.cost_center);
    match identity.manager_id.as_deref().filter(|m| !m.is_empty()) {
        Some(manager) => {
            ext.insert(
                "manager".into(),
                json!({"value": manager, "$ref": format!("{base}/Users/{manager}")}),
            );
        }
        None => {
            ext.remove("manager");
        }
    }
    drop_empty_extension(&mut doc);
    doc
}

/// JSON with object keys sorted at every level, whatever map type serde_json was built with: a stable input
/// for the version hash.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The weak ETag of a User: a hash of what the identity provider sees, so HR changes show as new versions too.
pub fn version(employee_id: &str, doc: &Doc) -> String {
    let mut text = String::new();
    canonical(&Value::Object(doc.clone()), &mut text);
    let digest = Sha256::new()
        .chain_update(employee_id.as_bytes())
        .chain_update([0])
        .chain_update(text.as_bytes())
        .finalize();
    format!("W/\"{}\"", hex::encode(&digest[..12]))
}

/// A User resource: the working document plus `schemas`, `id` and `meta`.
pub fn render(identity: &Identity, account: &ScimAccount, base: &str) -> (Doc, String) {
    let doc = working_doc(identity, account, base);
    let version = version(&identity.employee_id, &doc);
    let mut schemas = vec![json!(schema::USER)];
    if doc.contains_key(ENTERPRISE) {
        schemas.push(json!(ENTERPRISE));
    }
    // lastModified moves with HR changes too, not only with SCIM writes.
    let last_modified = identity
        .last_change
        .as_ref()
        .map(|c| c.occurred_at)
        .filter(|at| *at > account.last_modified)
        .unwrap_or(account.last_modified);
    let mut out = Doc::new();
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), json!(identity.employee_id));
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": account.created,
            "lastModified": last_modified,
            "location": format!("{base}/Users/{}", identity.employee_id),
            "version": version,
        }),
    );
    out.extend(doc);
    (out, version)
}
