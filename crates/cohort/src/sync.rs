//! `cohort sync ldap` and the sync `cohort serve --ldap-sync-config` runs on a schedule:
//! read the directory ([`crate::ldap`]), plan, apply through the services, report.

use crate::ldap;
use cohort_app::App;
use std::path::PathBuf;

/// The sync `serve` runs every `every` (the first at once); each run's outcome is logged.
pub async fn scheduled_ldap_sync(app: App, config: PathBuf, every: std::time::Duration, prune: bool) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let run = async {
            let config = ldap::Config::read(&config)?;
            let (users, groups) = ldap::read(&config).await?;
            let plan = app.directory_plan(&config.space, &users, &groups, prune).await.map_err(|e| e.to_string())?;
            let counts = plan.counts();
            let report = app.directory_apply(&config.space, plan, |_, _| {}).await.map_err(|e| e.to_string())?;
            Ok::<_, String>((counts, report.failed))
        };
        match run.await {
            Ok((c, failed)) => {
                tracing::info!(
                    made = c.users_made,
                    changed = c.users_changed,
                    groups = c.groups_made,
                    renamed = c.groups_renamed,
                    added = c.members_added,
                    removed = c.members_removed,
                    users_left = c.users_left,
                    groups_left = c.groups_left,
                    pruned = prune,
                    refused = failed.len(),
                    "ldap sync"
                );
                for f in failed {
                    tracing::warn!(step = %f, "ldap sync step refused");
                }
            }
            Err(e) => tracing::warn!(error = %e, "ldap sync failed"),
        }
    }
}

/// `cohort sync ldap`: reads the directory, prints the plan (dry run) or carries it out with a
/// progress bar, then a summary; fails if any step was refused.
pub async fn sync_ldap(app: &App, config: &std::path::Path, dry_run: bool, prune: bool) -> Result<(), String> {
    let config = ldap::Config::read(config)?;
    let (users, groups) = ldap::read(&config).await?;
    eprintln!("{}: {} people, {} groups", config.url, users.len(), groups.len());
    let plan = app.directory_plan(&config.space, &users, &groups, prune).await.map_err(|e| e.to_string())?;
    let c = plan.counts();
    let summary = format!(
        "users: {} to make, {} to change; groups: {} to make, {} to rename; members: {} to add, {} to remove",
        c.users_made, c.users_changed, c.groups_made, c.groups_renamed, c.members_added, c.members_removed
    );
    // What the directory no longer lists: acted on with --prune, else only said.
    let left = if prune {
        format!("; left the directory: {} users to deactivate, {} groups to delete", c.users_left, c.groups_left)
    } else {
        format!("; left the directory (kept without --prune): {} users, {} groups", c.users_left, c.groups_left)
    };
    let summary = summary + &left;
    if dry_run {
        for u in &plan.create_users {
            println!("make user {} ({})", u.username, u.external_id);
        }
        for (id, u) in &plan.update_users {
            println!("change user {id} to {} {:?} {:?}", u.username, u.email, u.full_name);
        }
        for (g, members) in &plan.create_groups {
            println!("make group {} ({}) with {} members", g.name, g.external_id, members.len());
        }
        for (id, name) in &plan.rename_groups {
            println!("rename group {id} to {name}");
        }
        for (id, add) in &plan.add {
            println!("add {} members to group {id}", add.len());
        }
        for (id, gone) in &plan.remove {
            println!("remove {} members from group {id}: {}", gone.len(), gone.iter().cloned().collect::<Vec<_>>().join(", "));
        }
        let (user_verb, group_verb) = if prune { ("deactivate", "delete") } else { ("keep", "keep") };
        for (id, username) in &plan.left_users {
            println!("{user_verb} user {username} ({id}): no longer in the directory");
        }
        for (id, name) in &plan.left_groups {
            println!("{group_verb} group {name} ({id}): no longer in the directory");
        }
        println!("dry run, nothing changed: {summary}");
        return Ok(());
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} steps {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report = app
        .directory_apply(&config.space, plan, |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
        .await
        .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    println!(
        "synced: {}",
        summary
            .replace("to make", "made")
            .replace("to change", "changed")
            .replace("to rename", "renamed")
            .replace("to add", "added")
            .replace("to remove", "removed")
            .replace("to deactivate", "deactivated")
            .replace("to delete", "deleted")
    );
    if report.failed.is_empty() {
        return Ok(());
    }
    for f in &report.failed {
        eprintln!("refused: {f}");
    }
    Err(format!("{} steps were refused", report.failed.len()))
}
