use std::fmt::Debug;

use chrono::Duration;
use provisio_core::model::{
    ApprovalStatus, ApprovalTask, Assignment, AssignmentStatus, DecisionRecord, Principal, Request,
    Revocation,
};
use provisio_core::ports::{ApprovalStore, AssignmentStore, Ports, RequestStore};
use provisio_core::{Error, Result};

use crate::fixtures::{approval_task, assignment, decision, request, unique};

/// The create/get/save shape the optimistically locked stores share, so one check covers all three.
trait Optimistic {
    type Record: Clone + PartialEq + Debug;
    /// Names the record in assert messages.
    const KIND: &'static str;
    async fn create(&self, record: &Self::Record) -> Result<()>;
    async fn get(&self, id: &str) -> Result<Option<Self::Record>>;
    async fn save(&self, record: &mut Self::Record) -> Result<()>;
    fn version(record: &Self::Record) -> u64;
    /// Changes a stored field, so a saved edit is visible on read.
    fn edit(record: &mut Self::Record, note: &str);
}

impl Optimistic for dyn RequestStore {
    type Record = Request;
    const KIND: &'static str = "request";
    async fn create(&self, record: &Request) -> Result<()> {
        RequestStore::create(self, record).await
    }
    async fn get(&self, id: &str) -> Result<Option<Request>> {
        RequestStore::get(self, id).await
    }
    async fn save(&self, record: &mut Request) -> Result<()> {
        RequestStore::save(self, record).await
    }
    fn version(record: &Request) -> u64 {
        record.version
    }
    fn edit(record: &mut Request, note: &str) {
        record.justification = Some(note.into());
    }
}

impl Optimistic for dyn ApprovalStore {
    type Record = ApprovalTask;
    const KIND: &'static str = "approval";
    async fn create(&self, record: &ApprovalTask) -> Result<()> {
        ApprovalStore::create(self, record).await
    }
    async fn get(&self, id: &str) -> Result<Option<ApprovalTask>> {
        ApprovalStore::get(self, id).await
    }
    async fn save(&self, record: &mut ApprovalTask) -> Result<()> {
        ApprovalStore::save(self, record).await
    }
    fn version(record: &ApprovalTask) -> u64 {
        record.version
    }
    fn edit(record: &mut ApprovalTask, note: &str) {
        record.stage_name = note.into();
    }
}

impl Optimistic for dyn AssignmentStore {
    type Record = Assignment;
    const KIND: &'static str = "assignment";
    /// Assignments are created by saving version 0.
    async fn create(&self, record: &Assignment) -> Result<()> {
        AssignmentStore::save(self, &mut record.clone()).await
    }
    async fn get(&self, id: &str) -> Result<Option<Assignment>> {
        AssignmentStore::get(self, id).await
    }
    async fn save(&self, record: &mut Assignment) -> Result<()> {
        AssignmentStore::save(self, record).await
    }
    fn version(record: &Assignment) -> u64 {
        record.version
    }
    fn edit(record: &mut Assignment, note: &str) {
        record.pool_id = Some(note.into());
    }
}

async fn fetch<S: Optimistic + ?Sized>(store: &S, id: &str) -> S::Record {
    let kind = S::KIND;
    let found = store
        .get(id)
        .await
        .unwrap_or_else(|e| panic!("reading {kind} {id} failed: {e}"));
    found.unwrap_or_else(|| panic!("{kind} {id} was created but cannot be read back"))
}

/// Duplicate creates conflict; of two writers holding the same version, the first save wins and the second is
/// a `Conflict` that leaves the stored record as the first writer saved it.
async fn check_optimistic<S: Optimistic + ?Sized>(store: &S, record: S::Record, id: &str) {
    let kind = S::KIND;
    store
        .create(&record)
        .await
        .unwrap_or_else(|e| panic!("creating {kind} {id} failed: {e}"));
    let duplicate = store.create(&record).await;
    assert!(
        matches!(duplicate, Err(Error::Conflict(_))),
        "creating a {kind} whose id exists must be a Conflict, got {duplicate:?}"
    );

    let mut first = fetch(store, id).await;
    let mut second = first.clone();
    let read_version = S::version(&first);

    S::edit(&mut first, "first writer");
    store
        .save(&mut first)
        .await
        .unwrap_or_else(|e| panic!("saving {kind} {id} failed: {e}"));
    assert_eq!(
        S::version(&first),
        read_version + 1,
        "a save must bump the caller's {kind} version"
    );
    assert_eq!(
        fetch(store, id).await,
        first,
        "a saved {kind} must read back as saved, with the bumped version"
    );

    S::edit(&mut second, "second writer");
    let stale = store.save(&mut second).await;
    assert!(
        matches!(stale, Err(Error::Conflict(_))),
        "saving a stale {kind} must be a Conflict, got {stale:?}"
    );
    assert_eq!(
        S::version(&second),
        read_version,
        "a rejected save must leave the caller's {kind} version alone"
    );
    assert_eq!(
        fetch(store, id).await,
        first,
        "a rejected stale save must leave the stored {kind} unchanged"
    );
}

pub async fn requests_are_optimistic(ports: &Ports) {
    let id = unique("req");
    let record = request(&id, "E-requester", "E-beneficiary", ports.clock.now());
    check_optimistic(&*ports.requests, record, &id).await;
}

pub async fn approvals_are_optimistic(ports: &Ports) {
    let id = unique("apr");
    let approvers = vec![Principal::User("E-manager".into())];
    let record = approval_task(&id, &unique("req"), 0, approvers, ports.clock.now());
    check_optimistic(&*ports.approvals, record, &id).await;
}

pub async fn assignments_are_optimistic(ports: &Ports) {
    let record = assignment(&unique("emp"), "slack", ports.clock.now());
    let id = record.assignment_id.clone();
    check_optimistic(&*ports.assignments, record, &id).await;
}

/// list_for returns the requests an employee submitted or receives, newest first, and nobody else's.
pub async fn requests_list_for_newest_first(ports: &Ports) {
    let [me, colleague, stranger] = ["me", "colleague", "stranger"].map(unique);
    let t0 = ports.clock.now();
    let created = [
        (unique("req-mine"), &me, &me, t0),
        (
            unique("req-for-me"),
            &colleague,
            &me,
            t0 + Duration::minutes(2),
        ),
        (
            unique("req-by-me"),
            &me,
            &colleague,
            t0 + Duration::minutes(1),
        ),
        (
            unique("req-other"),
            &colleague,
            &stranger,
            t0 + Duration::minutes(3),
        ),
    ];
    for (id, requester, beneficiary, at) in &created {
        let record = request(id, requester, beneficiary, *at);
        ports
            .requests
            .create(&record)
            .await
            .expect("request create failed");
    }

    let listed: Vec<String> = ports
        .requests
        .list_for(&me)
        .await
        .expect("request list_for failed")
        .into_iter()
        .map(|r| r.request_id)
        .collect();
    let expected = [1, 2, 0].map(|i| created[i].0.clone());
    assert_eq!(
        listed, expected,
        "list_for must return requests by or for the employee, newest first"
    );
}

fn ids(tasks: Vec<ApprovalTask>) -> Vec<String> {
    let mut ids: Vec<String> = tasks.into_iter().map(|t| t.approval_id).collect();
    ids.sort();
    ids
}

/// pending_for finds the pending tasks naming a principal, and a task leaves it once decided.
pub async fn approvals_pending_for_excludes_decided(ports: &Ports) {
    let me = Principal::User(unique("manager"));
    let group = Principal::Group(unique("security"));
    let someone_else = Principal::User(unique("other"));
    let now = ports.clock.now();
    let [mine, shared, decided, theirs] =
        ["mine", "shared", "decided", "theirs"].map(|n| unique(&format!("apr-{n}")));
    let tasks = [
        approval_task(&mine, &unique("req"), 0, vec![me.clone()], now),
        approval_task(
            &shared,
            &unique("req"),
            0,
            vec![someone_else.clone(), group.clone()],
            now,
        ),
        approval_task(
            &decided,
            &unique("req"),
            0,
            vec![me.clone(), group.clone()],
            now,
        ),
        approval_task(&theirs, &unique("req"), 0, vec![someone_else], now),
    ];
    for task in &tasks {
        ports
            .approvals
            .create(task)
            .await
            .expect("approval create failed");
    }
    let mut done = tasks[2].clone();
    done.status = ApprovalStatus::Approved;
    done.decisions.push(decision("E-someone", now));
    ports
        .approvals
        .save(&mut done)
        .await
        .expect("approval save failed");

    let pending = |principal: Principal| async move {
        ids(ports
            .approvals
            .pending_for(&principal)
            .await
            .expect("approval pending_for failed"))
    };
    assert_eq!(
        pending(me).await,
        [mine],
        "pending_for(user) must hold exactly the user's pending tasks"
    );
    assert_eq!(
        pending(group).await,
        [shared],
        "pending_for(group) must hold exactly the group's pending tasks"
    );
}

/// needing_escalation holds the pending tasks whose next step is due, and lets a task go once its step is
/// recorded, until the following step falls due.
pub async fn approvals_needing_escalation_are_the_due_pending_ones(ports: &Ports) {
    let now = ports.clock.now();
    let approver = vec![Principal::User(unique("approver"))];
    let [overdue, fresh, decided] =
        ["overdue", "fresh", "decided"].map(|n| unique(&format!("apr-{n}")));
    // Opened three days ago with the fixture's 48-hour SLA: past due, not yet past twice the SLA.
    let opened = now - Duration::hours(72);
    let tasks = [
        approval_task(&overdue, &unique("req"), 0, approver.clone(), opened),
        approval_task(&fresh, &unique("req"), 0, approver.clone(), now),
        approval_task(&decided, &unique("req"), 0, approver, opened),
    ];
    for task in &tasks {
        ports
            .approvals
            .create(task)
            .await
            .expect("approval create failed");
    }
    let mut done = tasks[2].clone();
    done.status = ApprovalStatus::Approved;
    ports
        .approvals
        .save(&mut done)
        .await
        .expect("approval save failed");

    let ours = [&overdue, &fresh, &decided];
    let due = |at| async move {
        let tasks = ports
            .approvals
            .needing_escalation(at)
            .await
            .expect("approval needing_escalation failed");
        ids(tasks
            .into_iter()
            .filter(|t| ours.contains(&&t.approval_id))
            .collect())
    };
    assert_eq!(
        due(now).await,
        std::slice::from_ref(&overdue),
        "only the overdue pending task is due"
    );

    let mut reminded = fetch(&*ports.approvals, &overdue).await;
    reminded.reminded_at = Some(now);
    ports
        .approvals
        .save(&mut reminded)
        .await
        .expect("approval save failed");
    assert!(
        due(now).await.is_empty(),
        "after the reminder nothing is due until twice the SLA"
    );
    assert_eq!(
        due(now + Duration::hours(25)).await,
        [overdue],
        "escalation falls due at twice the SLA"
    );
}

/// for_request finds every stage task of a request; decided_by finds the tasks an employee decided.
pub async fn approvals_for_request_and_decided_by(ports: &Ports) {
    let request_id = unique("req");
    let [decider, delegate] = ["decider", "delegate"].map(unique);
    let now = ports.clock.now();
    let approver = || vec![Principal::User(decider.clone())];
    let first = approval_task(&unique("apr-stage0"), &request_id, 0, approver(), now);
    let second = approval_task(&unique("apr-stage1"), &request_id, 1, approver(), now);
    let elsewhere = approval_task(&unique("apr-other"), &unique("req"), 0, approver(), now);
    for task in [&first, &second, &elsewhere] {
        ports
            .approvals
            .create(task)
            .await
            .expect("approval create failed");
    }

    let mut decided = first.clone();
    decided.status = ApprovalStatus::Approved;
    decided.decisions.push(decision(&decider, now));
    ports
        .approvals
        .save(&mut decided)
        .await
        .expect("approval save failed");
    let mut delegated = elsewhere.clone();
    delegated.status = ApprovalStatus::Approved;
    delegated.decisions.push(DecisionRecord {
        principal: Principal::User(decider.clone()),
        on_behalf_of: Some(decider.clone()),
        ..decision(&delegate, now)
    });
    ports
        .approvals
        .save(&mut delegated)
        .await
        .expect("approval save failed");

    let for_request = ports
        .approvals
        .for_request(&request_id)
        .await
        .expect("approval for_request failed");
    assert_eq!(
        ids(for_request),
        ids(vec![first.clone(), second]),
        "for_request must return every task of the request and no other"
    );
    let by_decider = ports
        .approvals
        .decided_by(&decider)
        .await
        .expect("approval decided_by failed");
    assert_eq!(
        ids(by_decider),
        [first.approval_id],
        "decided_by must return the tasks the employee decided"
    );
    let by_delegate = ports
        .approvals
        .decided_by(&delegate)
        .await
        .expect("approval decided_by failed");
    assert_eq!(
        ids(by_delegate),
        [elsewhere.approval_id],
        "decided_by must credit the delegate who recorded the decision"
    );
}

/// list_by_holder returns every holding of one holder, ended ones included.
pub async fn assignments_list_by_holder(ports: &Ports) {
    let [holder, other] = ["holder", "other"].map(unique);
    let now = ports.clock.now();
    let vpn = assignment(&holder, "vpn", now);
    for mut record in [
        assignment(&holder, "slack", now),
        vpn.clone(),
        assignment(&other, "slack", now),
    ] {
        ports
            .assignments
            .save(&mut record)
            .await
            .expect("assignment create failed");
    }
    let stored = ports
        .assignments
        .get(&vpn.assignment_id)
        .await
        .expect("assignment get failed");
    let mut returned = stored.expect("a created assignment must read back");
    returned.status = AssignmentStatus::Returned;
    returned.ended_at = Some(now);
    ports
        .assignments
        .save(&mut returned)
        .await
        .expect("assignment save failed");

    let mut held: Vec<(String, AssignmentStatus)> = ports
        .assignments
        .list_by_holder(&holder)
        .await
        .expect("assignment list_by_holder failed")
        .into_iter()
        .map(|a| (a.item_id, a.status))
        .collect();
    held.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        held,
        [
            ("slack".to_string(), AssignmentStatus::Active),
            ("vpn".to_string(), AssignmentStatus::Returned)
        ],
        "list_by_holder must return every holding of the holder and no other"
    );
}

/// ending_by holds the active holdings whose end (expiry or scheduled revocation) has passed, and only those: not
/// permanent ones, not ones still running, not ones already ended, not one that was extended, and not one whose
/// revocation was withdrawn.
pub async fn assignments_expired_by_are_the_due_active_ones(ports: &Ports) {
    let now = ports.clock.now();
    let holder = unique("holder");
    let timed = |item: &str, expires_at: Option<chrono::DateTime<chrono::Utc>>| {
        let mut a = assignment(&holder, item, now - Duration::days(10));
        a.sources[0].expires_at = expires_at;
        a.expires_at = expires_at;
        a
    };
    let yesterday = Some(now - Duration::days(1));
    let mut holdings = [
        timed("overdue", yesterday),
        timed("extended", yesterday),
        timed("ended", yesterday),
        timed("running", Some(now + Duration::days(1))),
        timed("permanent", None),
        timed("revoked", None),
        timed("withdrawn", None),
        timed("revoked-later", Some(now + Duration::days(30))),
    ];
    let revoke_at = |at| {
        Some(Revocation {
            at,
            reason: "moved".into(),
        })
    };
    holdings[5].revocation = revoke_at(now - Duration::hours(1));
    holdings[6].revocation = revoke_at(now - Duration::hours(1));
    holdings[7].revocation = revoke_at(now + Duration::days(2));
    for a in &mut holdings {
        ports
            .assignments
            .save(a)
            .await
            .expect("assignment create failed");
    }
    let [_, extended, ended, _, _, _, withdrawn, _] = &mut holdings;
    withdrawn.revocation = None;
    ports
        .assignments
        .save(withdrawn)
        .await
        .expect("assignment save failed");
    extended.expires_at = Some(now + Duration::days(30));
    ports
        .assignments
        .save(extended)
        .await
        .expect("assignment save failed");
    ended.status = AssignmentStatus::Expired;
    ports
        .assignments
        .save(ended)
        .await
        .expect("assignment save failed");

    let due = |at| {
        let holder = holder.clone();
        async move {
            let mut ids: Vec<String> = ports
                .assignments
                .ending_by(at)
                .await
                .expect("assignment ending_by failed")
                .into_iter()
                .filter(|a| a.holder_id == holder)
                .map(|a| a.item_id)
                .collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(
        due(now).await,
        ["overdue", "revoked"],
        "only the active holdings past their expiry or scheduled revocation are due"
    );
    assert_eq!(
        due(now + Duration::days(2)).await,
        ["overdue", "revoked", "revoked-later", "running"],
        "a running holding falls due at its expiry or its revocation, whichever comes first"
    );
}
