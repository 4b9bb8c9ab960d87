//! What a directory sync reads of a space: its users and groups by their directory ids.

use crate::StoreError;
use crate::db::{Conn, Value};
use cohort_core::directory::{HeldGroup, HeldUser};
use std::collections::BTreeSet;

/// The users with these external ids.
pub async fn users(c: &Conn, external_ids: &[String]) -> Result<Vec<HeldUser>, StoreError> {
    let mut out = Vec::new();
    for chunk in external_ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let args: Vec<Value> = chunk.iter().map(Value::from).collect();
        let sql = format!("SELECT id, external_id, username, email, full_name FROM users WHERE external_id IN ({marks})");
        for r in c.query(&sql, &args).await? {
            out.push(HeldUser { id: r.get(0)?, external_id: r.get(1)?, username: r.get(2)?, email: r.get(3)?, full_name: r.get(4)? });
        }
    }
    Ok(out)
}

/// The space's groups with these external ids, and their members (any status).
pub async fn groups(c: &Conn, space_id: &str, external_ids: &[String]) -> Result<Vec<HeldGroup>, StoreError> {
    let mut out = Vec::new();
    for chunk in external_ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let mut args: Vec<Value> = vec![space_id.into()];
        args.extend(chunk.iter().map(Value::from));
        let sql = format!("SELECT id, external_id, name FROM groups WHERE space_id = ? AND external_id IN ({marks})");
        for r in c.query(&sql, &args).await? {
            out.push(HeldGroup { id: r.get(0)?, external_id: r.get(1)?, name: r.get(2)?, members: BTreeSet::new() });
        }
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
