//! The membership engine: the one place a membership is made, changed or removed, whatever
//! path asks (members and bulk adds, join requests, invitations, a new group's owner, the
//! seed dialects, SCIM, expiry, deleting a user).
//!
//! Callers decide who may (with the policy); the engine keeps what holds whoever asks, in the
//! caller's transaction: a seat per active member (`max_members`, by a conditional update on
//! the group row), at least one active owner (`last_owner`, likewise), the history of active
//! periods, and the audit trail: one event (with its change-log row) per membership, whose
//! before and after are the membership's own fields, or for a batch one event about the
//! group listing every membership, and one change-log row the index applies in one step.

use crate::App;
use crate::Change;
use cohort_core::access::DirectMembership;
use cohort_core::auth::Principal;
use cohort_core::error::Conflict;
use cohort_core::model::{AuditEvent, MemberStatus, Membership};
use cohort_core::{Error, Result, id, time};
use cohort_store::{Conn, audit, groups, members};

/// A membership to make.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub user_id: String,
    /// The role's slug (resolved and authorized by the caller).
    pub role: String,
    pub permissions: Vec<String>,
    pub status: MemberStatus,
    pub expires_at: Option<time::Millis>,
    /// Whether the caller asked for the user to be told; recorded on the audit event.
    pub notify: bool,
}

impl Grant {
    /// An active membership with `role` and nothing else.
    pub fn active(user_id: impl Into<String>, role: impl Into<String>) -> Grant {
        Grant {
            user_id: user_id.into(),
            role: role.into(),
            permissions: vec![],
            status: MemberStatus::Active,
            expires_at: None,
            notify: false,
        }
    }
}

/// The fields of a membership its audit events show.
#[derive(serde::Serialize, PartialEq)]
struct Shown<'a> {
    role: &'a str,
    permissions: &'a [String],
    status: &'static str,
    expires_at: Option<i64>,
}

impl<'a> Shown<'a> {
    fn of(m: &'a Membership) -> Shown<'a> {
        Shown { role: &m.role, permissions: &m.permissions, status: m.status.as_str(), expires_at: m.expires_at }
    }
}

/// What a membership's audit events show of it ([`Shown`]).
pub(crate) fn snapshot(m: &Membership) -> serde_json::Value {
    serde_json::to_value(Shown::of(m)).unwrap_or_default()
}

/// Takes a seat or answers `group_full` with the group's numbers.
async fn take_seat(c: &Conn, group_id: &str) -> Result<()> {
    if groups::take_seat(c, group_id).await? {
        return Ok(());
    }
    group_full(c, group_id).await
}

async fn group_full<T>(c: &Conn, group_id: &str) -> Result<T> {
    let (current, max) = groups::seats(c, group_id).await?;
    Err(Error::GroupFull { max_members: max.unwrap_or(current), current_members: current })
}

/// One side of a membership change: its role and status, or nothing.
type State<'a> = Option<(&'a str, MemberStatus)>;

/// Moves the group's counters (and the membership history) from one state of a user's
/// membership to another: the `max_members` and `last_owner` rules live here.
async fn shift(c: &Conn, group_id: &str, user_id: &str, before: State<'_>, after: State<'_>) -> Result<()> {
    let active = |s: State<'_>| s.is_some_and(|(_, st)| st == MemberStatus::Active);
    let owner = |s: State<'_>| s.is_some_and(|(r, st)| st == MemberStatus::Active && r == "owner");
    if owner(before) && !owner(after) && !groups::drop_owner(c, group_id).await? {
        return Err(Error::conflict(Conflict::LastOwner, "the group must keep at least one active owner"));
    }
    let now = time::now();
    if active(before) && !active(after) {
        groups::free_seat(c, group_id).await?;
        members::history_close(c, &id::new(id::Kind::Membership), group_id, user_id, now).await?;
    }
    if !active(before) && active(after) {
        // The membership row's write opens the period (`active_since`).
        take_seat(c, group_id).await?;
    }
    if !owner(before) && owner(after) {
        groups::add_owner(c, group_id).await?;
    }
    Ok(())
}

fn made(p: &Principal, group_id: &str, g: Grant, now: time::Millis) -> Membership {
    Membership {
        id: id::new(id::Kind::Membership),
        group_id: group_id.to_string(),
        user_id: g.user_id,
        role: g.role,
        permissions: g.permissions,
        status: g.status,
        joined_at: now,
        expires_at: g.expires_at,
        last_active: None,
        added_by: p.actor_id(),
        updated_at: now,
        version: 1,
    }
}

/// Makes one membership; `action` names its audit event (`member.added`, …). 409
/// `member_exists` if the user is in the group already, 422 `group_full` without a seat.
pub(crate) async fn grant(c: &Conn, p: &Principal, group_id: &str, g: Grant, action: &str) -> Result<Membership> {
    if members::get(c, group_id, &g.user_id).await?.is_some() {
        return Err(Error::conflict(Conflict::MemberExists, "User is already a member of this group"));
    }
    shift(c, group_id, &g.user_id, None, Some((&g.role, g.status))).await?;
    let notify = g.notify;
    let m = made(p, group_id, g, time::now());
    members::insert(c, &m).await?;
    let mut after = snapshot(&m);
    after["notify"] = notify.into();
    let seq = Change::new(action, "membership", &m.id).group(group_id).user(&m.user_id).after(after).record(c, p).await?;
    note(c, seq, std::slice::from_ref(&m), true);
    Ok(m)
}

/// Makes many memberships of one group, none of whose users is in it yet: the seats in one
/// conditional update (all of them, or 422 `group_full` and nothing), the rows, their
/// history and their audit events many per statement.
pub(crate) async fn grant_many(c: &Conn, p: &Principal, group_id: &str, grants: Vec<Grant>, action: &str) -> Result<Vec<Membership>> {
    if grants.is_empty() {
        return Ok(vec![]);
    }
    let active = grants.iter().filter(|g| g.status == MemberStatus::Active).count() as i64;
    if active > 0 && !groups::take_seats(c, group_id, active).await? {
        return group_full(c, group_id).await;
    }
    let owners = grants.iter().filter(|g| g.status == MemberStatus::Active && g.role == "owner").count() as i64;
    if owners > 0 {
        groups::add_owners(c, group_id, owners).await?;
    }
    let now = time::now();
    let notify: Vec<bool> = grants.iter().map(|g| g.notify).collect();
    // Made and written in user order, so that the ids (which grow with time) and the
    // (group, user) index both grow row by row: each index fills its pages one after
    // another instead of splitting them at random, on disk and in the writer's cache.
    let mut grants: Vec<(usize, Grant)> = grants.into_iter().enumerate().collect();
    grants.sort_by(|a, b| a.1.user_id.cmp(&b.1.user_id));
    let (mut home, mut made): (Vec<usize>, Vec<Membership>) = grants.into_iter().map(|(i, g)| (i, made(p, group_id, g, now))).unzip();
    members::insert_many(c, &made).await?;
    // Back into the callers' order, in place: `home[k]` is where `made[k]` belongs.
    for k in 0..made.len() {
        while home[k] != k {
            let to = home[k];
            made.swap(k, to);
            home.swap(k, to);
        }
    }
    let seq = audit::record_batch(c, &batch_event(p, action, group_id, None, Some(listed(&made, Some(&notify))))).await?;
    note(c, seq, &made, true);
    Ok(made)
}

/// Changes a membership to `after` (role, permissions, status, expiry); `reason`, when
/// given, is recorded with the new state.
pub(crate) async fn change(
    c: &Conn,
    p: &Principal,
    before: &Membership,
    mut after: Membership,
    reason: Option<&str>,
) -> Result<Membership> {
    shift(c, &before.group_id, &before.user_id, Some((&before.role, before.status)), Some((&after.role, after.status))).await?;
    after.updated_at = time::now();
    after.version = before.version + 1;
    members::update(c, &after).await?;
    let mut shown = snapshot(&after);
    if let Some(r) = reason {
        shown["reason"] = r.into();
    }
    // A new role is its own kind of change (what GitLab and the feed's readers call it).
    let action = if after.role != before.role { "member.role_changed" } else { "member.updated" };
    let seq = Change::new(action, "membership", &after.id)
        .group(&after.group_id)
        .user(&after.user_id)
        .before(snapshot(before))
        .after(shown)
        .record(c, p)
        .await?;
    note(c, seq, std::slice::from_ref(&after), true);
    Ok(after)
}

/// Removes a membership; `action` names its audit event (`member.removed`,
/// `member.expired`). 409 `last_owner` for a group's last active owner.
pub(crate) async fn revoke(c: &Conn, p: &Principal, m: &Membership, action: &str) -> Result<()> {
    shift(c, &m.group_id, &m.user_id, Some((&m.role, m.status)), None).await?;
    members::delete(c, &m.id).await?;
    let seq = Change::new(action, "membership", &m.id).group(&m.group_id).user(&m.user_id).before(snapshot(m)).record(c, p).await?;
    note(c, seq, std::slice::from_ref(m), false);
    Ok(())
}

/// Removes many memberships of one group. An active owner goes through [`revoke`]'s counter
/// one by one, so the group keeps its last owner; the others give their seats back in one
/// update, and rows, history and audit events go many per statement.
pub(crate) async fn revoke_many(c: &Conn, p: &Principal, group_id: &str, gone: Vec<Membership>) -> Result<()> {
    if gone.is_empty() {
        return Ok(());
    }
    let now = time::now();
    let mut freed = Vec::new();
    for m in gone.iter().filter(|m| m.status == MemberStatus::Active) {
        if m.role == "owner" {
            shift(c, group_id, &m.user_id, Some((&m.role, m.status)), None).await?;
        } else {
            freed.push((id::new(id::Kind::Membership), m.user_id.clone()));
        }
    }
    if !freed.is_empty() {
        groups::free_seats(c, group_id, freed.len() as i64).await?;
        members::history_close_many(c, group_id, &freed, now).await?;
    }
    let ids: Vec<String> = gone.iter().map(|m| m.id.clone()).collect();
    members::delete_many(c, &ids).await?;
    let seq = audit::record_batch(c, &batch_event(p, "member.removed", group_id, Some(listed(&gone, None)), None)).await?;
    note(c, seq, &gone, false);
    Ok(())
}

/// Removes every membership of a group that is being deleted, as one `member.removed`
/// batch: those who follow the group's members (the feed, webhooks, realtime) are told each
/// went with it. No owner is kept and no seat given back: the group goes too.
pub(crate) async fn dissolve(c: &Conn, p: &Principal, group_id: &str) -> Result<i64> {
    let gone = members::of_group(c, group_id).await?;
    if gone.is_empty() {
        return Ok(0);
    }
    let closed: Vec<(String, String)> =
        gone.iter().filter(|m| m.status == MemberStatus::Active).map(|m| (id::new(id::Kind::Membership), m.user_id.clone())).collect();
    members::history_close_many(c, group_id, &closed, time::now()).await?;
    let ids: Vec<String> = gone.iter().map(|m| m.id.clone()).collect();
    members::delete_many(c, &ids).await?;
    let seq = audit::record_batch(c, &batch_event(p, "member.removed", group_id, Some(listed(&gone, None)), None)).await?;
    note(c, seq, &gone, false);
    Ok(gone.len() as i64)
}

/// Notes on the transaction what change `seq` left of these memberships (`kept`: as they
/// are; else gone), which the access index takes once it commits instead of reading them back.
fn note(c: &Conn, seq: i64, ms: &[Membership], kept: bool) {
    let left = ms.iter().map(|m| (m.group_id.clone(), m.user_id.clone(), kept.then(|| DirectMembership::from(m)))).collect();
    c.note_memberships(seq, left);
}

/// A batch of memberships as its audit event lists them: the fields they share once (those
/// of the first), and each membership's id and user with only the fields where it differs.
/// Ten thousand members of one role take ~60 bytes each rather than ~150.
fn listed(ms: &[Membership], notify: Option<&[bool]>) -> serde_json::Value {
    // Each membership's fields as its own event would show them ([`snapshot`]), with `notify`.
    let fields = |i: usize| {
        let mut v = snapshot(&ms[i]);
        if let Some(n) = notify {
            v["notify"] = n[i].into();
        }
        v
    };
    if ms.is_empty() {
        return serde_json::json!({"members": []});
    }
    let mut shared = fields(0);
    let first = Shown::of(&ms[0]);
    let members: Vec<serde_json::Value> = (0..ms.len())
        .map(|i| {
            let mut entry = serde_json::Map::new();
            entry.insert("membership_id".into(), ms[i].id.as_str().into());
            entry.insert("user_id".into(), ms[i].user_id.as_str().into());
            // Most of a batch shows what its first shows: only the others are spelled out.
            let differs = Shown::of(&ms[i]) != first || notify.is_some_and(|n| n[i] != n[0]);
            if i > 0
                && differs
                && let serde_json::Value::Object(own) = fields(i)
            {
                entry.extend(own.into_iter().filter(|(k, v)| shared.get(k) != Some(v)));
            }
            serde_json::Value::Object(entry)
        })
        .collect();
    shared["members"] = members.into();
    shared
}

/// One audit event for a batch of one group's memberships: about the group, with the
/// memberships listed under `members` (the change log names it once, and the access index
/// applies the whole batch from it in one step).
fn batch_event(
    p: &Principal,
    action: &str,
    group_id: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> AuditEvent {
    AuditEvent {
        id: id::new(id::Kind::Event),
        at: time::now(),
        actor_id: p.actor_id(),
        action: action.to_string(),
        target_type: "group".into(),
        target_id: group_id.to_string(),
        group_id: Some(group_id.to_string()),
        before,
        after,
    }
}

impl App {
    /// How many more active members `group_id` takes now (`None`: no limit), with its row
    /// locked until the transaction ends, so the answer holds for the rest of it.
    pub(crate) async fn free_seats(&self, c: &Conn, group_id: &str) -> Result<Option<i64>> {
        groups::lock(c, group_id).await?;
        let (current, max) = groups::seats(c, group_id).await?;
        Ok(max.map(|m| (m - current).max(0)))
    }
}
