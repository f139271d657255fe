//! Who answers for whom: delegates stand in for people away, a leaver's manager for the leaver; and what waits
//! for a caller.

use std::collections::BTreeMap;

use crate::Result;
use crate::model::*;
use crate::ports::Ports;

/// Who acts for `user` at `now`: a terminated person's manager, the delegate of someone away, else the user;
/// nobody for an unknown id.
pub(crate) async fn acting_for(p: &Ports, user: String, now: Timestamp) -> Result<Option<String>> {
    Ok(match p.identities.get(&user).await? {
        Some(who) if who.status == IdentityStatus::Terminated => who.manager_id,
        Some(who) => Some(who.replaced_by(now).map(str::to_string).unwrap_or(user)),
        None => None,
    })
}

/// Principals the caller answers for, each with whom it stands in for (None = as itself).
pub(crate) async fn acting_principals(
    p: &Ports,
    caller: &Caller,
) -> Result<BTreeMap<Principal, Option<String>>> {
    let now = p.clock.now();
    let mut out: BTreeMap<Principal, Option<String>> = caller
        .principals()
        .into_iter()
        .map(|pr| (pr, None))
        .collect();
    for who in p.identities.delegators_of(&caller.employee_id).await? {
        if who.replaced_by(now) == Some(caller.employee_id.as_str()) {
            out.entry(Principal::User(who.employee_id.clone()))
                .or_insert(Some(who.employee_id));
        }
    }
    Ok(out)
}

/// Approval tasks waiting for the caller, directly, through a group, or as a delegate.
pub async fn pending_for(p: &Ports, caller: &Caller) -> Result<Vec<ApprovalView>> {
    let mut views: BTreeMap<String, ApprovalView> = BTreeMap::new();
    for (principal, delegate_of) in acting_principals(p, caller).await? {
        for task in p.approvals.pending_for(&principal).await? {
            if task.requester_id == caller.employee_id || task.beneficiary_id == caller.employee_id
            {
                continue;
            }
            views
                .entry(task.approval_id.clone())
                .or_insert_with(|| task.view(delegate_of.clone()));
        }
    }
    let mut out: Vec<_> = views.into_values().collect();
    out.sort_by_key(|v| v.task.due_at);
    Ok(out)
}
