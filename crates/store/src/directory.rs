//! What a directory sync reads of a space: its users and groups by their directory ids.

use crate::StoreError;
use crate::db::{Conn, Value};
use cohort_core::directory::{HeldGroup, HeldUser};
use std::collections::BTreeSet;

const USER: &str = "SELECT id, external_id, username, email, full_name, active, scim_space_id FROM users";

fn held_user(r: &crate::db::Row, space_id: &str) -> Result<HeldUser, StoreError> {
    let provisioned_by: Option<String> = r.get(6)?;
    Ok(HeldUser {
        id: r.get(0)?,
        external_id: r.get(1)?,
        username: r.get(2)?,
        email: r.get(3)?,
        full_name: r.get(4)?,
        active: r.get(5)?,
        provisioned: provisioned_by.as_deref() == Some(space_id),
    })
}

/// The users with these external ids, and every user the space provisioned with one (the
/// sync owns those, and notices when the directory drops them).
pub async fn users(c: &Conn, space_id: &str, external_ids: &[String]) -> Result<Vec<HeldUser>, StoreError> {
    let mut out = Vec::new();
    for r in c.query(&format!("{USER} WHERE scim_space_id = ? AND external_id IS NOT NULL"), &[space_id.into()]).await? {
        out.push(held_user(&r, space_id)?);
    }
    let found: std::collections::HashSet<&str> = out.iter().map(|u| u.external_id.as_str()).collect();
    let rest: Vec<String> = external_ids.iter().filter(|e| !found.contains(e.as_str())).cloned().collect();
    out.extend(by_external_id(c, space_id, &rest).await?);
    Ok(out)
}

/// The users with these external ids, and no others.
pub async fn by_external_id(c: &Conn, space_id: &str, external_ids: &[String]) -> Result<Vec<HeldUser>, StoreError> {
    let mut out = Vec::new();
    for chunk in external_ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let args: Vec<Value> = chunk.iter().map(Value::from).collect();
        for r in c.query(&format!("{USER} WHERE external_id IN ({marks})"), &args).await? {
            out.push(held_user(&r, space_id)?);
        }
    }
    Ok(out)
}

/// The space's groups that carry a directory id, and their members (any status).
pub async fn groups(c: &Conn, space_id: &str) -> Result<Vec<HeldGroup>, StoreError> {
    let mut out = Vec::new();
    let sql = "SELECT id, external_id, name FROM groups WHERE space_id = ? AND external_id IS NOT NULL";
    for r in c.query(sql, &[space_id.into()]).await? {
        out.push(HeldGroup { id: r.get(0)?, external_id: r.get(1)?, name: r.get(2)?, members: BTreeSet::new() });
    }
    // The members of every group found, many groups a query (not one query a group).
    let at: std::collections::HashMap<String, usize> = out.iter().enumerate().map(|(i, g)| (g.id.clone(), i)).collect();
    let ids: Vec<String> = out.iter().map(|g| g.id.clone()).collect();
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let args: Vec<Value> = chunk.iter().map(Value::from).collect();
        for r in c.query(&format!("SELECT group_id, user_id FROM memberships WHERE group_id IN ({marks})"), &args).await? {
            let group: String = r.get(0)?;
            if let Some(&i) = at.get(&group) {
                out[i].members.insert(r.get(1)?);
            }
        }
    }
    Ok(out)
}
