//! `cohort sync ldap`: reads people and groups from an LDAP directory (OpenLDAP, Active
//! Directory) into a [`Snapshot`], for [`cohort_app::App::directory_plan`] to compare with a
//! space. The directory is only read.

use cohort_core::directory::{DirGroup, DirUser};
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use serde::Deserialize;
use std::collections::HashMap;

/// The sync's configuration file (JSON).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `ldap://host:389`, or `ldaps://host:636` for TLS from the first byte.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    #[serde(default)]
    pub starttls: bool,
    /// A PEM file of the CA(s) the directory's certificate is checked against, beside the
    /// system's roots. A certificate is always checked: there is no switch to skip that.
    pub tls_ca_file: Option<String>,
    pub bind_dn: String,
    /// A file whose first line is the bind password…
    pub password_file: Option<String>,
    /// …or the environment variable holding it (default `COHORT_LDAP_PASSWORD`).
    pub password_env: Option<String>,
    /// The space the groups are kept in (default: the default space).
    #[serde(default = "default_space")]
    pub space: String,
    pub users_base_dn: String,
    pub groups_base_dn: String,
    /// `openldap` or `active_directory`: the filters and attributes below default to it.
    #[serde(default)]
    pub preset: Preset,
    pub user_filter: Option<String>,
    pub group_filter: Option<String>,
    #[serde(default)]
    pub attributes: Attributes,
}

fn default_space() -> String {
    "spc_default".into()
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    #[default]
    Openldap,
    ActiveDirectory,
}

/// Which attribute holds what; each defaults to the preset's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attributes {
    pub username: Option<String>,
    pub email: Option<String>,
    pub full_name: Option<String>,
    pub external_id: Option<String>,
    pub group_name: Option<String>,
    /// The attributes listing a group's members by DN (`member`, `uniqueMember`).
    pub members: Option<Vec<String>>,
    /// The attribute listing a person's groups by DN (`memberOf`), read besides the groups'
    /// member lists; `""` reads none.
    pub member_of: Option<String>,
}

/// The attribute names and filters in effect.
struct Mapping {
    user_filter: String,
    group_filter: String,
    username: String,
    email: String,
    full_name: String,
    external_id: String,
    group_name: String,
    members: Vec<String>,
    member_of: Option<String>,
}

impl Config {
    pub fn read(path: &std::path::Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn password(&self) -> Result<String, String> {
        if let Some(f) = &self.password_file {
            let text = std::fs::read_to_string(f).map_err(|e| format!("reading the password file {f}: {e}"))?;
            return Ok(text.lines().next().unwrap_or("").to_string());
        }
        let var = self.password_env.clone().unwrap_or_else(|| "COHORT_LDAP_PASSWORD".into());
        std::env::var(&var).map_err(|_| format!("no bind password: set {var} or password_file"))
    }

    /// StartTLS, the CA to trust, and a bound on connecting (a directory that does not
    /// answer is an error, not a hang).
    fn settings(&self) -> Result<LdapConnSettings, String> {
        if self.starttls && self.url.starts_with("ldaps:") {
            return Err("starttls is for ldap:// URLs; ldaps:// is TLS already".into());
        }
        let mut settings = LdapConnSettings::new().set_starttls(self.starttls).set_conn_timeout(std::time::Duration::from_secs(30));
        if let Some(file) = &self.tls_ca_file {
            let pem = std::fs::read(file).map_err(|e| format!("reading the CA file {file}: {e}"))?;
            let mut tls = native_tls::TlsConnector::builder();
            let certs = native_tls::Certificate::stack_from_pem(&pem).map_err(|e| format!("{file}: {e}"))?;
            if certs.is_empty() {
                return Err(format!("{file}: no PEM certificate in it"));
            }
            for cert in certs {
                tls.add_root_certificate(cert);
            }
            settings = settings.set_connector(tls.build().map_err(|e| format!("{file}: {e}"))?);
        }
        Ok(settings)
    }

    fn mapping(&self) -> Mapping {
        let a = &self.attributes;
        let ad = self.preset == Preset::ActiveDirectory;
        let pick = |v: &Option<String>, openldap: &str, active_directory: &str| {
            v.clone().unwrap_or_else(|| if ad { active_directory } else { openldap }.to_string())
        };
        Mapping {
            user_filter: pick(&self.user_filter, "(objectClass=inetOrgPerson)", "(&(objectCategory=person)(objectClass=user))"),
            group_filter: pick(&self.group_filter, "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))", "(objectClass=group)"),
            username: pick(&a.username, "uid", "sAMAccountName"),
            email: pick(&a.email, "mail", "mail"),
            full_name: pick(&a.full_name, "cn", "displayName"),
            external_id: pick(&a.external_id, "entryUUID", "objectGUID"),
            group_name: pick(&a.group_name, "cn", "cn"),
            members: a
                .members
                .clone()
                .unwrap_or_else(|| if ad { vec!["member".into()] } else { vec!["member".into(), "uniqueMember".into()] }),
            // Active Directory keeps memberOf on every person; OpenLDAP only with its memberof
            // overlay, and then it mirrors `member`.
            member_of: Some(pick(&a.member_of, "", "memberOf")).filter(|m| !m.is_empty()),
        }
    }
}

/// A DN as compared: lower case, without spaces around its separators.
fn dn_key(dn: &str) -> String {
    dn.split(',').map(|rdn| rdn.trim().replace(" =", "=").replace("= ", "=")).collect::<Vec<_>>().join(",").to_lowercase()
}

/// An attribute's first value; `objectGUID` (binary) as its GUID's usual text.
fn first(e: &SearchEntry, name: &str) -> Option<String> {
    let lower = name.to_lowercase();
    if let Some((_, v)) = e.attrs.iter().find(|(k, _)| k.to_lowercase() == lower) {
        return v.first().cloned();
    }
    let (_, v) = e.bin_attrs.iter().find(|(k, _)| k.to_lowercase() == lower)?;
    v.first().map(|b| guid(b))
}

/// Active Directory's GUID bytes as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (its first three
/// fields are little-endian); any other binary value as hex.
fn guid(b: &[u8]) -> String {
    let hex = |bytes: &[u8]| bytes.iter().map(|x| format!("{x:02x}")).collect::<String>();
    if b.len() != 16 {
        return hex(b);
    }
    let rev = |r: std::ops::Range<usize>| hex(&b[r].iter().rev().copied().collect::<Vec<u8>>());
    format!("{}-{}-{}-{}-{}", rev(0..4), rev(4..6), rev(6..8), hex(&b[8..10]), hex(&b[10..16]))
}

fn all<'a>(e: &'a SearchEntry, names: &[String]) -> Vec<&'a String> {
    let wanted: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    e.attrs.iter().filter(|(k, _)| wanted.contains(&k.to_lowercase())).flat_map(|(_, v)| v.iter()).collect()
}

/// `member;range=1500-2999` as `("member", 1500, Some(2999))`; the last part of a ranged
/// value ends in `*` (`None`).
fn ranged(attr: &str) -> Option<(&str, usize, Option<usize>)> {
    let (name, range) = attr.split_once(";range=").or_else(|| attr.split_once(";Range="))?;
    let (start, end) = range.split_once('-')?;
    let end = if end == "*" { None } else { Some(end.parse().ok()?) };
    Some((name, start.parse().ok()?, end))
}

/// Active Directory answers an attribute with more values than it sends at once (1,500 for a
/// group's `member`) as `member;range=0-1499`, and the rest must be asked for, a range at a
/// time: this fetches them, so a large group keeps all its members.
async fn complete_ranges(ldap: &mut Ldap, e: &mut SearchEntry) -> Result<(), String> {
    let partial: Vec<String> = e.attrs.keys().filter(|k| ranged(k).is_some_and(|(_, _, end)| end.is_some())).cloned().collect();
    for key in partial {
        let Some((name, _, Some(mut end))) = ranged(&key).map(|(n, s, e)| (n.to_string(), s, e)) else { continue };
        let mut values = e.attrs.remove(&key).unwrap_or_default();
        loop {
            let want = format!("{name};range={}-*", end + 1);
            let failed = |err: ldap3::LdapError| format!("reading {want} of {}: {err}", e.dn);
            let (entries, _) =
                ldap.search(&e.dn, Scope::Base, "(objectClass=*)", vec![want.as_str()]).await.map_err(failed)?.success().map_err(failed)?;
            let Some(next) = entries.into_iter().next().map(SearchEntry::construct) else { break };
            let Some((k, more)) = next.attrs.into_iter().find(|(k, _)| ranged(k).is_some_and(|(n, _, _)| n.eq_ignore_ascii_case(&name)))
            else {
                break;
            };
            values.extend(more);
            match ranged(&k).and_then(|(_, _, end)| end) {
                Some(next_end) if next_end > end => end = next_end,
                _ => break,
            }
        }
        e.attrs.entry(name).or_default().extend(values);
    }
    // A ranged attribute whose values all came at once (`member;range=0-*`) is the attribute.
    let whole: Vec<String> = e.attrs.keys().filter(|k| ranged(k).is_some()).cloned().collect();
    for key in whole {
        if let (Some(values), Some((name, _, _))) = (e.attrs.remove(&key), ranged(&key).map(|(n, s, e)| (n.to_string(), s, e))) {
            e.attrs.entry(name).or_default().extend(values);
        }
    }
    Ok(())
}

/// Entries a page at a time: directories cap what one search answers (Active Directory at
/// 1,000, OpenLDAP at its size limits), and a paged search walks past the cap.
const PAGE: i32 = 500;

async fn search(ldap: &mut Ldap, base: &str, filter: &str, attrs: Vec<&str>) -> Result<Vec<SearchEntry>, String> {
    let failed = |e: ldap3::LdapError| format!("searching {base} for {filter}: {e}");
    let attrs: Vec<String> = attrs.into_iter().map(str::to_string).collect();
    let adapters: Vec<Box<dyn Adapter<'_, String, Vec<String>>>> = vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(PAGE))];
    let mut stream = ldap.streaming_search_with(adapters, base, Scope::Subtree, filter, attrs).await.map_err(failed)?;
    let mut out = Vec::new();
    while let Some(entry) = stream.next().await.map_err(failed)? {
        out.push(SearchEntry::construct(entry));
    }
    stream.finish().await.success().map_err(failed)?;
    for e in &mut out {
        complete_ranges(ldap, e).await?;
    }
    Ok(out)
}

/// Reads the directory's people and groups.
pub async fn read(config: &Config) -> Result<(Vec<DirUser>, Vec<DirGroup>), String> {
    let m = config.mapping();
    let (conn, mut ldap) =
        LdapConnAsync::with_settings(config.settings()?, &config.url).await.map_err(|e| format!("connecting to {}: {e}", config.url))?;
    ldap3::drive!(conn);
    ldap.simple_bind(&config.bind_dn, &config.password()?)
        .await
        .and_then(|r| r.success())
        .map_err(|e| format!("binding as {}: {e}", config.bind_dn))?;
    let mut user_attrs = vec![m.username.as_str(), m.email.as_str(), m.full_name.as_str(), m.external_id.as_str()];
    user_attrs.extend(m.member_of.as_deref());
    let entries = search(&mut ldap, &config.users_base_dn, &m.user_filter, user_attrs).await?;
    let mut users = Vec::new();
    let mut user_dn: HashMap<String, String> = HashMap::new();
    // (group DN key, user external id) from the people's memberOf.
    let mut member_of: Vec<(String, String)> = Vec::new();
    for e in entries {
        let (Some(ext), Some(username)) = (first(&e, &m.external_id), first(&e, &m.username)) else {
            // Without its id or its login a person cannot be kept in step.
            continue;
        };
        user_dn.insert(dn_key(&e.dn), ext.clone());
        if let Some(attr) = &m.member_of {
            member_of.extend(all(&e, std::slice::from_ref(attr)).into_iter().map(|g| (dn_key(g), ext.clone())));
        }
        users.push(DirUser { external_id: ext, username, email: first(&e, &m.email), full_name: first(&e, &m.full_name) });
    }
    let mut group_attrs = vec![m.group_name.as_str(), m.external_id.as_str()];
    group_attrs.extend(m.members.iter().map(String::as_str));
    let entries = search(&mut ldap, &config.groups_base_dn, &m.group_filter, group_attrs).await?;
    let group_dn: HashMap<String, String> =
        entries.iter().filter_map(|e| first(e, &m.external_id).map(|ext| (dn_key(&e.dn), ext))).collect();
    let mut via_member_of: HashMap<&str, Vec<String>> = HashMap::new();
    for (group, user) in &member_of {
        if let Some(ext) = group_dn.get(group) {
            via_member_of.entry(ext.as_str()).or_default().push(user.clone());
        }
    }
    let mut groups = Vec::new();
    for e in &entries {
        let (Some(ext), Some(name)) = (first(e, &m.external_id), first(e, &m.group_name)) else { continue };
        let mut g = DirGroup { external_id: ext, name, members: Vec::new(), groups: Vec::new() };
        g.members.extend(via_member_of.remove(g.external_id.as_str()).unwrap_or_default());
        for member in all(e, &m.members) {
            let key = dn_key(member);
            if let Some(u) = user_dn.get(&key) {
                g.members.push(u.clone());
            } else if let Some(nested) = group_dn.get(&key) {
                g.groups.push(nested.clone());
            }
        }
        g.members.sort();
        g.members.dedup();
        groups.push(g);
    }
    let _ = ldap.unbind().await;
    Ok((users, groups))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_compare_without_case_or_spaces() {
        assert_eq!(dn_key("CN=Ann Lee, OU=People,DC=Example,DC=org"), dn_key("cn=ann lee,ou=people, dc=example, dc=org"));
    }

    #[test]
    fn ranged_attributes_read_as_active_directory_names_them() {
        assert_eq!(ranged("member;range=0-1499"), Some(("member", 0, Some(1499))));
        assert_eq!(ranged("member;range=1500-*"), Some(("member", 1500, None)));
        assert_eq!(ranged("member"), None);
        assert_eq!(ranged("member;range=x-1"), None);
    }

    #[test]
    fn guids_read_as_active_directory_writes_them() {
        let b = [0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff];
        assert_eq!(guid(&b), "00112233-4455-6677-8899-aabbccddeeff");
    }
}
