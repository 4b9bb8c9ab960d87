//! Seed 000's realtime subscriptions, as the `pocketbase` JavaScript SDK's `subscribe` uses
//! them: a client connects (and is given an id), then says which topics it follows —
//! `groups/*`, `groups/ID`, `group_members/*`, `group_members/ID` — with the credential whose
//! reads decide what it is told. Its events are the change feed's from the moment it
//! connected, as far as that credential may read them ([`App::changes`]), each turned into a
//! create, update or delete of a `groups` or `group_members` record.
//!
//! Clients live in this instance's memory only as long as their connection: every instance
//! reads the one change log, so a change made anywhere reaches every instance's clients.

use crate::App;
use crate::changes::{FeedRow, MAX_WAIT};
use cohort_core::auth::Principal;
use cohort_core::model::{Group, Member};
use cohort_core::{Error, Result};
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The most topics one client follows, and the longest topic (PocketBase's limits).
pub const MAX_TOPICS: usize = 1000;
pub const MAX_TOPIC_LEN: usize = 2500;

/// How many changes one read of the feed looks at.
const PAGE: i64 = 200;

/// The collections a client can follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Groups,
    GroupMembers,
}

/// What happened to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// A record as an event carries it: as it stands now, or what is known of one that is gone.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A group with its owners (its "moderators").
    Group {
        group: Box<Group>,
        owners: Vec<String>,
    },
    GroupGone {
        id: String,
    },
    Member(Box<Member>),
    /// A membership that is gone: its id, group and user, and its role when the change said.
    MemberGone {
        id: String,
        group_id: String,
        user_id: String,
        role: Option<String>,
    },
}

impl Record {
    fn collection(&self) -> Collection {
        match self {
            Record::Group { .. } | Record::GroupGone { .. } => Collection::Groups,
            Record::Member(_) | Record::MemberGone { .. } => Collection::GroupMembers,
        }
    }

    fn id(&self) -> &str {
        match self {
            Record::Group { group, .. } => &group.id,
            Record::GroupGone { id } | Record::MemberGone { id, .. } => id,
            Record::Member(m) => &m.membership.id,
        }
    }

    fn group_id(&self) -> &str {
        match self {
            Record::Group { group, .. } => &group.id,
            Record::GroupGone { id } => id,
            Record::Member(m) => &m.membership.group_id,
            Record::MemberGone { group_id, .. } => group_id,
        }
    }
}

/// One message for a client: the topic as the client wrote it (its SSE event name), and
/// the action on the record.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub topic: String,
    pub action: Action,
    pub record: Arc<Record>,
}

/// A topic a client follows: the collection, and one record or all (`*`). `key` is the topic
/// as sent, options and all (`groups/*?options=…`): events are named by it.
#[derive(Debug, Clone, PartialEq)]
struct Topic {
    key: String,
    collection: Collection,
    record: Option<String>,
}

impl Topic {
    /// A topic of a collection this surface serves; `None` for any other (followed, never told).
    fn parse(key: &str) -> Option<Topic> {
        // Events are named by the topic: a line break or NUL could not be sent as a name.
        if key.contains(['\r', '\n', '\0']) {
            return None;
        }
        let name = key.split_once('?').map_or(key, |(n, _)| n);
        let (collection, record) = name.split_once('/')?;
        let collection = match collection {
            "groups" | "pbc_cohort_groups" => Collection::Groups,
            "group_members" | "pbc_cohort_group_members" => Collection::GroupMembers,
            _ => return None,
        };
        if record.is_empty() {
            return None;
        }
        let record = (record != "*").then(|| record.to_string());
        Some(Topic { key: key.to_string(), collection, record })
    }

    fn matches(&self, r: &Record) -> bool {
        self.collection == r.collection() && self.record.as_deref().is_none_or(|id| id == r.id())
    }
}

/// What a client follows and as whom.
#[derive(Default)]
struct Following {
    principal: Option<Arc<Principal>>,
    topics: Vec<Topic>,
    /// Groups named by `groups/ID` topics that the principal could read when it subscribed
    /// (see [`Connection::known`]).
    named: Vec<String>,
}

/// One client's shared state: set by its subscriptions, read by its connection.
struct Slot {
    following: Mutex<Following>,
    /// Woken when the subscriptions change, so a waiting connection reads them again.
    changed: Notify,
    from: Option<IpAddr>,
    /// Where a connection this client takes over from had got to (see [`Ended`]).
    resume: Mutex<Option<Ended>>,
}

/// A connection that ended, kept a little while: the SDK reconnects as a new client and
/// subscribes again to the same topics, and that client carries on from where this one
/// stopped, so nothing that happened in between goes untold.
#[derive(Clone)]
struct Ended {
    from: Option<IpAddr>,
    principal: Arc<Principal>,
    topics: Vec<String>,
    /// The last change it had told (or had nothing to tell of).
    after: i64,
    known: HashSet<String>,
    at: Instant,
}

/// The most ended connections kept (the oldest go first).
const MAX_ENDED: usize = 10_000;

/// How long an ended connection waits to be taken over.
const RESUME_WITHIN: std::time::Duration = std::time::Duration::from_secs(30);

/// This instance's realtime clients, by id, and the connections that just ended.
#[derive(Default)]
pub struct Clients {
    by_id: Mutex<HashMap<String, Arc<Slot>>>,
    ended: Mutex<VecDeque<Ended>>,
}

impl Clients {
    fn get(&self, id: &str) -> Option<Arc<Slot>> {
        self.by_id.lock().unwrap_or_else(PoisonError::into_inner).get(id).cloned()
    }

    /// Takes the ended connection a client subscribing from `from` as `p` to `topics`
    /// carries on from, if one.
    fn take_ended(&self, from: Option<IpAddr>, p: &Principal, topics: &[String]) -> Option<Ended> {
        let mut ended = self.ended.lock().unwrap_or_else(PoisonError::into_inner);
        ended.retain(|e| e.at.elapsed() < RESUME_WITHIN);
        let at = ended.iter().position(|e| e.from == from && same_caller(&e.principal, p) && e.topics == topics)?;
        ended.remove(at)
    }
}

/// Whether two credentials are the same caller: the same user, by the same key or by
/// sessions (a refreshed session is the same caller), or the same key.
fn same_caller(a: &Principal, b: &Principal) -> bool {
    a.user_id() == b.user_id() && a.key_id == b.key_id
}

impl App {
    /// Connects a realtime client from `from`: it follows nothing until subscribed, and is
    /// told of the changes from now on. Dropping the connection forgets the client.
    pub fn realtime_connect(&self, from: Option<IpAddr>) -> Result<Connection> {
        let id = crate::secrets::new_secret("")?;
        let slot = Arc::new(Slot { following: Mutex::default(), changed: Notify::new(), from, resume: Mutex::default() });
        self.realtime.by_id.lock().unwrap_or_else(PoisonError::into_inner).insert(id.clone(), slot.clone());
        Ok(Connection { app: self.clone(), id, slot, after: self.index().revision(), known: HashSet::new(), pending: VecDeque::new() })
    }

    /// How many realtime clients are connected to this instance.
    pub fn realtime_clients(&self) -> usize {
        self.realtime.by_id.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Sets what client `client_id` follows (replacing what it followed), as `p`: the client
    /// is told only of records `p` may read. A client bound to one caller is not taken over
    /// by another (403), nor from another address (400); an unknown client is 404.
    pub fn realtime_subscribe(&self, p: &Arc<Principal>, client_id: &str, topics: &[String], from: Option<IpAddr>) -> Result<()> {
        if client_id.is_empty() || client_id.len() > 255 {
            return Err(Error::validation("clientId", "Missing or invalid client id."));
        }
        if topics.len() > MAX_TOPICS {
            return Err(Error::validation("subscriptions", format!("at most {MAX_TOPICS} subscriptions")));
        }
        if topics.iter().any(|t| t.len() > MAX_TOPIC_LEN) {
            return Err(Error::validation("subscriptions", format!("a subscription is at most {MAX_TOPIC_LEN} characters")));
        }
        // Told as a list across groups is: a key acting for no user and bound to no space
        // reads none.
        crate::groups::list_viewer(p, "realtime events")?;
        let slot = self.realtime.get(client_id).ok_or(Error::NotFound("realtime client"))?;
        // A client id is a secret of its connection; from elsewhere it is someone else's.
        if slot.from.is_some() && from.is_some() && slot.from != from {
            return Err(Error::invalid("Invalid realtime client."));
        }
        let topics: Vec<Topic> = topics.iter().filter_map(|t| Topic::parse(t)).collect();
        let named =
            self.readable_groups(p, topics.iter().filter(|t| t.collection == Collection::Groups).filter_map(|t| t.record.as_deref()));
        {
            let mut f = slot.following.lock().unwrap_or_else(PoisonError::into_inner);
            if f.principal.as_ref().is_some_and(|bound| !same_caller(bound, p)) {
                return Err(Error::denied("The current and the previous request authorization don't match."));
            }
            // A client's first subscriptions may be a reconnecting SDK's: it carries on
            // where its last connection stopped.
            if f.principal.is_none() {
                let mut keys: Vec<String> = topics.iter().map(|t| t.key.clone()).collect();
                keys.sort();
                *slot.resume.lock().unwrap_or_else(PoisonError::into_inner) = self.realtime.take_ended(from, p, &keys);
            }
            *f = Following { principal: Some(p.clone()), topics, named };
        }
        slot.changed.notify_one();
        Ok(())
    }

    /// The records a change is about, as `p` may see them now, with what happened to each.
    async fn records_of(&self, p: &Principal, r: &FeedRow) -> Vec<(Action, Record)> {
        let kind = crate::changes::kind_of(r);
        let group_id = r.group_id.clone().unwrap_or_else(|| r.entity_id.clone());
        match kind {
            "group.created" | "group.updated" | "group.moved" => {
                let action = if kind == "group.created" { Action::Create } else { Action::Update };
                // A group gone or hidden since is told by its own later change, if at all.
                let Ok(group) = self.get_group(p, &group_id).await else { return vec![] };
                let owners = self.group_owners(std::slice::from_ref(&group_id)).await.ok().and_then(|mut o| o.remove(&group_id));
                vec![(action, Record::Group { group: Box::new(group), owners: owners.unwrap_or_default() })]
            }
            "group.deleted" => vec![(Action::Delete, Record::GroupGone { id: group_id })],
            _ => {
                let Some(action) = member_action(kind) else { return vec![] };
                let mut out = Vec::new();
                for (id, user_id, role) in memberships_of(r) {
                    let record = match action {
                        Action::Delete => Record::MemberGone { id, group_id: group_id.clone(), user_id, role },
                        // Gone or hidden since: told by its own later change, if at all.
                        _ => match self.membership(p, &id).await {
                            Ok(m) => Record::Member(Box::new(m)),
                            Err(_) => continue,
                        },
                    };
                    out.push((action, record));
                }
                out
            }
        }
    }
}

/// The action a membership change is to its record, if it is one.
fn member_action(kind: &str) -> Option<Action> {
    match kind {
        "member.added" | "member.joined" => Some(Action::Create),
        "member.updated" | "member.role_changed" => Some(Action::Update),
        "member.removed" | "member.expired" | "member.left" => Some(Action::Delete),
        _ => None,
    }
}

/// The memberships a membership change names: `(id, user, role)` of each, from its one
/// membership or a batch's list.
fn memberships_of(r: &FeedRow) -> Vec<(String, String, Option<String>)> {
    let shown = r.after.as_ref().or(r.before.as_ref());
    let role_in = |v: &serde_json::Value| v.get("role").and_then(|x| x.as_str()).map(str::to_string);
    match shown.and_then(|s| s.get("members")).and_then(|m| m.as_array()) {
        Some(list) => {
            let shared = shown.and_then(role_in);
            list.iter()
                .filter_map(|m| {
                    let id = m.get("membership_id")?.as_str()?.to_string();
                    let user = m.get("user_id")?.as_str()?.to_string();
                    Some((id, user, role_in(m).or_else(|| shared.clone())))
                })
                .collect()
        }
        None => {
            let id = r.target_id.clone().unwrap_or_else(|| r.entity_id.clone());
            let Some(user) = r.user_id.clone() else { return vec![] };
            vec![(id, user, shown.and_then(role_in))]
        }
    }
}

/// A connected client: reads the change feed for it and tells it what its topics match.
/// Dropped when its connection ends, which forgets the client.
pub struct Connection {
    app: App,
    id: String,
    slot: Arc<Slot>,
    /// The last change read.
    after: i64,
    /// The groups this client is known to have been allowed to read: a deleted group is gone
    /// from the access index, so its deletion is told to those who were shown it on this
    /// connection (or subscribed to it by id), besides the site's readers.
    known: HashSet<String>,
    /// Messages read and not yet told, with the revision of the change each is of.
    pending: VecDeque<(i64, Message)>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        let realtime = &self.app.realtime;
        realtime.by_id.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.id);
        let f = self.slot.following.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(principal) = f.principal.clone() else { return };
        let mut topics: Vec<String> = f.topics.iter().map(|t| t.key.clone()).collect();
        topics.sort();
        // What was read and not told is told again by the connection that carries on.
        let after = self.pending.front().map_or(self.after, |(revision, _)| revision - 1);
        let ended = Ended { from: self.slot.from, principal, topics, after, known: std::mem::take(&mut self.known), at: Instant::now() };
        let mut list = realtime.ended.lock().unwrap_or_else(PoisonError::into_inner);
        list.retain(|e| e.at.elapsed() < RESUME_WITHIN);
        if list.len() >= MAX_ENDED {
            list.pop_front();
        }
        list.push_back(ended);
    }
}

impl Connection {
    /// The client's id, which its subscriptions name.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The next message for the client; `None` once `until` has come without one.
    pub async fn next(&mut self, until: std::time::Instant) -> Result<Option<Message>> {
        let until = Instant::from_std(until);
        loop {
            if let Some((_, m)) = self.pending.pop_front() {
                return Ok(Some(m));
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let (principal, topics, named) = {
                let f = self.slot.following.lock().unwrap_or_else(PoisonError::into_inner);
                (f.principal.clone(), f.topics.clone(), f.named.clone())
            };
            let Some(p) = principal.filter(|_| !topics.is_empty()) else {
                // Nothing followed yet: the changes wait, read once there is something to tell.
                let _ = tokio::time::timeout(left, self.slot.changed.notified()).await;
                continue;
            };
            self.known.extend(named);
            if let Some(e) = self.slot.resume.lock().unwrap_or_else(PoisonError::into_inner).take() {
                self.after = self.after.min(e.after);
                self.known.extend(e.known);
            }
            let page = tokio::select! {
                page = self.app.changes_knowing(&p, self.after, PAGE, left.min(MAX_WAIT), &self.known) => page?,
                // New subscriptions: read again as they say (reading changes nothing).
                () = self.slot.changed.notified() => continue,
            };
            self.after = page.next_revision;
            for row in &page.events {
                for (action, record) in self.app.records_of(&p, row).await {
                    if action != Action::Delete {
                        self.known.insert(record.group_id().to_string());
                    }
                    let record = Arc::new(record);
                    for t in topics.iter().filter(|t| t.matches(&record)) {
                        self.pending.push_back((row.seq, Message { topic: t.key.clone(), action, record: record.clone() }));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_name_a_collection_and_a_record_or_all() {
        let all = Topic::parse("groups/*").map(|t| (t.collection, t.record));
        assert_eq!(all, Some((Collection::Groups, None)));
        let one = Topic::parse("group_members/mem_1?options=%7B%7D").map(|t| (t.collection, t.record, t.key));
        assert_eq!(one, Some((Collection::GroupMembers, Some("mem_1".into()), "group_members/mem_1?options=%7B%7D".into())));
        assert!(Topic::parse("posts/*").is_none() && Topic::parse("groups").is_none() && Topic::parse("groups/").is_none());
        assert!(Topic::parse("groups/*\nevent: x").is_none());
    }

    #[test]
    fn a_batch_names_each_of_its_memberships() {
        let row = FeedRow {
            seq: 1,
            at: 0,
            kind: "member.batch".into(),
            entity_id: "evt_1".into(),
            group_id: Some("grp_1".into()),
            space_id: None,
            user_id: None,
            action: Some("member.added".into()),
            actor_id: None,
            target_type: Some("group".into()),
            target_id: Some("grp_1".into()),
            before: None,
            after: Some(serde_json::json!({"role": "member", "members": [
                {"membership_id": "mem_1", "user_id": "usr_1"},
                {"membership_id": "mem_2", "user_id": "usr_2", "role": "admin"}
            ]})),
        };
        assert_eq!(
            memberships_of(&row),
            vec![("mem_1".into(), "usr_1".into(), Some("member".into())), ("mem_2".into(), "usr_2".into(), Some("admin".into()))]
        );
        assert_eq!(member_action("member.removed"), Some(Action::Delete));
        assert_eq!(member_action("invitation.sent"), None);
    }
}
