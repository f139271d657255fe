//! The /Users endpoints. The SCIM `id` of a User is the identity's employee id; every write goes through the
//! lifecycle use case, so joiner, mover and leaver consequences follow.

use std::sync::atomic::{AtomicBool, Ordering};

use provisio_core::Error;
use provisio_core::model::{Identity, IdentityStatus, ScimAccount, live_scim_account};
use provisio_core::usecases::lifecycle::{self, Applied, Change};
use provisio_lambda::api::{ApiRequest, ApiResponse};
use serde_json::{Map, Value, json};

use crate::error::{Result, ScimError};
use crate::filter::{Common, Filter, Op, Resolved, Scope, sort_key};
use crate::query::{ListQuery, Projection, project};
use crate::resource::{self, Absent, Doc};
use crate::{Ctx, parse_body, schema, scim_json};

/// How often a write that lost a race with another write of the same identity is re-planned.
const ATTEMPTS: usize = 4;

/// Who a SCIM write is by, in the audit trail.
const SOURCE: &str = "scim";

/// Whether an employee number can serve as an id in URLs as it is.
fn url_safe(id: &str) -> bool {
    id.len() <= 128
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
}

fn new_employee_id() -> String {
    format!("scim-{}", uuid::Uuid::now_v7().simple())
}

/// Stores `after` through the lifecycle, if the identity is still `expected` (compared without the lifecycle's
/// bookkeeping). None when it changed between reading and writing: the caller plans again.
async fn commit(
    ctx: &Ctx<'_>,
    employee_id: &str,
    expected: Option<&Identity>,
    after: Identity,
) -> Result<Option<Identity>> {
    let strip = |i: &Identity| {
        let mut i = i.clone();
        i.last_change = None;
        i
    };
    let expected = expected.map(strip);
    let raced = AtomicBool::new(false);
    let change_id = format!("scim-{}", uuid::Uuid::now_v7());
    let change = Change {
        employee_id,
        change_id: &change_id,
        occurred_at: ctx.p.clock.now(),
        source: SOURCE,
    };
    let result = lifecycle::apply(ctx.p, &ctx.settings.lifecycle, change, |before| {
        if before.map(strip) == expected {
            Ok(after)
        } else {
            raced.store(true, Ordering::SeqCst);
            Err(Error::Conflict(
                "the identity changed during the write".into(),
            ))
        }
    })
    .await;
    match result {
        Ok(Applied::Applied(i) | Applied::Duplicate(i)) => Ok(Some(i)),
        Ok(Applied::Stale(_)) => Err(ScimError::Conflict(
            "a newer change of this identity was applied already; retry later".into(),
        )),
        Err(_) if raced.load(Ordering::SeqCst) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn too_busy() -> ScimError {
    ScimError::Conflict("the User is being changed concurrently; retry".into())
}

/// The identity behind a live User, or 404.
async fn live_user(ctx: &Ctx<'_>, id: &str) -> Result<(Identity, ScimAccount)> {
    let identity = ctx.p.identities.get(id).await?;
    match identity {
        Some(i) => match live_scim_account(&i).cloned() {
            Some(account) => Ok((i, account)),
            None => Err(ScimError::NotFound(format!("User {id}"))),
        },
        None => Err(ScimError::NotFound(format!("User {id}"))),
    }
}

fn strip_weak(tag: &str) -> &str {
    tag.trim().trim_start_matches("W/")
}

/// `If-Match` (RFC 7644 section 3.14): the write applies only to the version the client has seen.
fn check_if_match(req: &ApiRequest, version: &str) -> Result<()> {
    let Some(header) = req.header("if-match") else {
        return Ok(());
    };
    if header.trim() == "*"
        || header
            .split(',')
            .any(|t| strip_weak(t) == strip_weak(version))
    {
        Ok(())
    } else {
        Err(ScimError::PreconditionFailed(format!(
            "the User changed; its version is now {version}"
        )))
    }
}

/// 200 or 201 with the User, its `ETag`, and (on creation) its `Location`.
fn user_response(
    ctx: &Ctx<'_>,
    status: u16,
    identity: &Identity,
    projection: &Projection,
) -> Result<ApiResponse> {
    let account = live_scim_account(identity)
        .ok_or_else(|| ScimError::NotFound(format!("User {}", identity.employee_id)))?;
    let (resource, version) = resource::render(identity, account, ctx.base);
    let location = format!("{}/Users/{}", ctx.base, identity.employee_id);
    let mut resp = scim_json(status, &Value::Object(project(resource, projection)))
        .with_header("ETag", version);
    if status == 201 {
        resp = resp.with_header("Location", location);
    }
    Ok(resp)
}

/// Another live User already has this userName (case-insensitively).
async fn check_user_name_free(ctx: &Ctx<'_>, user_name: &str, own_id: Option<&str>) -> Result<()> {
    match ctx.p.identities.by_scim_user_name(user_name).await? {
        Some(other) if Some(other.employee_id.as_str()) != own_id => Err(ScimError::Uniqueness(
            "another User has this userName".into(),
        )),
        _ => Ok(()),
    }
}

/// POST /Users. The id is the enterprise employeeNumber when there is one (and it is URL-safe), else a new id.
/// An identity HR already created under that number, or one whose User was deleted, is taken over rather than
/// duplicated.
pub async fn create(
    ctx: &Ctx<'_>,
    req: &ApiRequest,
    projection: &Projection,
) -> Result<ApiResponse> {
    let doc = resource::normalize(&parse_body(req)?)?;
    let user_name = resource::user_name(&doc)?;
    resource::external_id(&doc)?;
    for _ in 0..ATTEMPTS {
        check_user_name_free(ctx, &user_name, None).await?;
        let employee_id = resource::employee_number(&doc)
            .filter(|n| url_safe(n))
            .map_or_else(new_employee_id, str::to_string);
        let before = ctx.p.identities.get(&employee_id).await?;
        if before.as_ref().and_then(live_scim_account).is_some() {
            return Err(ScimError::Uniqueness(
                "a User with this employeeNumber exists already".into(),
            ));
        }
        let after = resource::derive(
            &employee_id,
            before.as_ref(),
            None,
            &doc,
            Absent::Keep,
            ctx.p.clock.now(),
        )?;
        if let Some(identity) = commit(ctx, &employee_id, before.as_ref(), after).await? {
            return user_response(ctx, 201, &identity, projection);
        }
    }
    Err(too_busy())
}

/// GET /Users/{id}, with `If-None-Match` (304 when the client has the current version).
pub async fn get(
    ctx: &Ctx<'_>,
    id: &str,
    req: &ApiRequest,
    projection: &Projection,
) -> Result<ApiResponse> {
    let (identity, account) = live_user(ctx, id).await?;
    let (_, version) = resource::render(&identity, &account, ctx.base);
    if let Some(tags) = req.header("if-none-match")
        && (tags.trim() == "*"
            || tags
                .split(',')
                .any(|t| strip_weak(t) == strip_weak(&version)))
    {
        return Ok(ApiResponse {
            status: 304,
            content_type: crate::CONTENT_TYPE,
            headers: vec![("ETag".into(), version)],
            body: Vec::new().into(),
        });
    }
    user_response(ctx, 200, &identity, projection)
}

/// PUT /Users/{id}: the User as given. Attributes the identity holds that the body leaves out keep their value.
pub async fn replace(
    ctx: &Ctx<'_>,
    id: &str,
    req: &ApiRequest,
    projection: &Projection,
) -> Result<ApiResponse> {
    let doc = resource::normalize(&parse_body(req)?)?;
    let user_name = resource::user_name(&doc)?;
    resource::external_id(&doc)?;
    for _ in 0..ATTEMPTS {
        let (current, account) = live_user(ctx, id).await?;
        let old = resource::working_doc(&current, &account, ctx.base);
        check_if_match(req, &resource::version(id, &old))?;
        check_user_name_free(ctx, &user_name, Some(id)).await?;
        let after = resource::derive(
            id,
            Some(&current),
            Some(&old),
            &doc,
            Absent::Keep,
            ctx.p.clock.now(),
        )?;
        if let Some(identity) = commit(ctx, id, Some(&current), after).await? {
            return user_response(ctx, 200, &identity, projection);
        }
    }
    Err(too_busy())
}

/// PATCH /Users/{id}: the operations run on the User as the client sees it. A PATCH that changes nothing
/// writes nothing.
pub async fn patch(
    ctx: &Ctx<'_>,
    id: &str,
    req: &ApiRequest,
    projection: &Projection,
) -> Result<ApiResponse> {
    let body = parse_body(req)?;
    let body = Value::Object(body);
    for _ in 0..ATTEMPTS {
        let (current, account) = live_user(ctx, id).await?;
        let old = resource::working_doc(&current, &account, ctx.base);
        check_if_match(req, &resource::version(id, &old))?;
        let mut doc = old.clone();
        crate::patch::apply(&mut doc, &body)?;
        let doc = resource::normalize(&doc)?;
        let user_name = resource::user_name(&doc)?;
        if doc == old {
            return user_response(ctx, 200, &current, projection);
        }
        if ScimAccount::user_name_key(&user_name) != ScimAccount::user_name_key(&account.user_name)
        {
            check_user_name_free(ctx, &user_name, Some(id)).await?;
        }
        let after = resource::derive(
            id,
            Some(&current),
            Some(&old),
            &doc,
            Absent::Clear,
            ctx.p.clock.now(),
        )?;
        if let Some(identity) = commit(ctx, id, Some(&current), after).await? {
            return user_response(ctx, 200, &identity, projection);
        }
    }
    Err(too_busy())
}

/// DELETE /Users/{id}: a leaver. The identity becomes terminated (offboarding runs) and stays for the audit
/// trail; the User is gone (404) for SCIM clients.
pub async fn delete(ctx: &Ctx<'_>, id: &str, req: &ApiRequest) -> Result<ApiResponse> {
    for _ in 0..ATTEMPTS {
        let (current, account) = live_user(ctx, id).await?;
        let old = resource::working_doc(&current, &account, ctx.base);
        check_if_match(req, &resource::version(id, &old))?;
        let now = ctx.p.clock.now();
        let mut after = current.clone();
        after.status = IdentityStatus::Terminated;
        if let Some(scim) = after.scim.as_mut() {
            scim.deleted_at = Some(now);
            scim.last_modified = now;
        }
        if commit(ctx, id, Some(&current), after).await?.is_some() {
            return Ok(ApiResponse {
                status: 204,
                content_type: crate::CONTENT_TYPE,
                headers: vec![],
                body: Vec::new().into(),
            });
        }
    }
    Err(too_busy())
}

/// A lookup an index answers, found among the `and`-ed terms of a filter.
enum Lookup {
    UserName(String),
    ExternalId(String),
    Id(String),
}

fn lookup(filter: &Filter) -> Option<Lookup> {
    match filter {
        Filter::Compare {
            path,
            op: Op::Eq,
            value: Value::String(v),
        } => match path.resolve().ok()? {
            Resolved::Common(Common::Id) => Some(Lookup::Id(v.clone())),
            Resolved::Common(Common::ExternalId) => Some(Lookup::ExternalId(v.clone())),
            Resolved::Attr {
                schema: schema::Schema::User,
                attr,
                sub: None,
            } if attr.name == "userName" => Some(Lookup::UserName(v.clone())),
            _ => None,
        },
        Filter::And(a, b) => lookup(a).or_else(|| lookup(b)),
        _ => None,
    }
}

/// GET /Users and POST /.search: filtered, sorted and paged. Filters on userName, externalId or id read
/// through an index; other filters and sorting read every SCIM User (never the HR-only identities).
pub async fn list(ctx: &Ctx<'_>, query: &ListQuery) -> Result<ApiResponse> {
    let offset = query.start_index - 1;
    if let Some(filter) = &query.filter {
        // Checks the filter against the schema even when no User is there to evaluate it on.
        filter.matches(Scope::Resource, &Map::new())?;
    }
    let (total, page): (usize, Vec<Doc>) = if query.filter.is_none() && query.sort_by.is_none() {
        let users = ctx.p.identities.scim_users(offset, query.count).await?;
        let page = users
            .items
            .iter()
            .filter_map(|i| live_scim_account(i).map(|a| resource::render(i, a, ctx.base).0))
            .collect();
        (users.total, page)
    } else {
        let candidates = match query.filter.as_ref().and_then(lookup) {
            Some(Lookup::UserName(name)) => ctx
                .p
                .identities
                .by_scim_user_name(&name)
                .await?
                .into_iter()
                .collect(),
            Some(Lookup::ExternalId(e)) => ctx.p.identities.by_scim_external_id(&e).await?,
            Some(Lookup::Id(id)) => ctx.p.identities.get(&id).await?.into_iter().collect(),
            None => ctx.p.identities.scim_users(0, usize::MAX).await?.items,
        };
        let mut matched = Vec::new();
        for identity in &candidates {
            let Some(account) = live_scim_account(identity) else {
                continue;
            };
            let (resource, _) = resource::render(identity, account, ctx.base);
            if match &query.filter {
                Some(f) => f.matches(Scope::Resource, &resource)?,
                None => true,
            } {
                matched.push(resource);
            }
        }
        if let Some(sort_by) = &query.sort_by {
            let mut keyed = Vec::with_capacity(matched.len());
            for resource in matched {
                keyed.push((sort_key(sort_by, &resource)?, resource));
            }
            // Unassigned values sort last, either way.
            keyed.sort_by(|(a, _), (b, _)| match (a, b) {
                (Some(a), Some(b)) if query.descending => b.cmp(a),
                (Some(a), Some(b)) => a.cmp(b),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            });
            matched = keyed.into_iter().map(|(_, r)| r).collect();
        }
        let total = matched.len();
        let page = matched.into_iter().skip(offset).take(query.count).collect();
        (total, page)
    };
    let resources: Vec<Value> = page
        .into_iter()
        .map(|r| Value::Object(project(r, &query.projection)))
        .collect();
    Ok(scim_json(
        200,
        &json!({
            "schemas": [schema::LIST_RESPONSE],
            "totalResults": total,
            "startIndex": query.start_index,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    ))
}
