//! `cohort sync ldap` against a real OpenLDAP server (`slapd`, started here on a free port
//! with a generated configuration and data): nested groups, a dry run, a sync, the directory
//! changed and synced again, with and without `--prune`, and a bad bind.

use crate::helpers::Server;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const SUFFIX: &str = "dc=example,dc=org";
const ADMIN: &str = "cn=admin,dc=example,dc=org";
/// The sync binds as a reader whose searches the directory caps at 2 entries unless paged,
/// as Active Directory caps them at 1,000: there are more people than that.
const READER: &str = "cn=reader,dc=example,dc=org";

/// A `slapd` of its own, with a database loaded from LDIF; stopped on drop.
struct Slapd {
    child: Child,
    dir: PathBuf,
    url: String,
    ldaps_url: String,
}

/// A CA (`ca.pem`) and a certificate it signed for 127.0.0.1 (`server.pem`, `server.key`),
/// made with the openssl command; and `other-ca.pem`, a CA that signed nothing here.
fn certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    for ca in ["ca", "other-ca"] {
        let (key, pem) = (format!("{ca}.key"), format!("{ca}.pem"));
        run(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &pem, "-days", "2", "-subj", "/CN=Test CA"]);
    }
    run(&["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]);
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
}

impl Slapd {
    fn start(ldif: &str) -> Slapd {
        Slapd::start_with(ldif, false)
    }

    /// With `tls`, a CA and a certificate for 127.0.0.1 are made (`ca.pem` in `dir`), and
    /// slapd also offers StartTLS on `url` and listens for LDAPS on `ldaps_url`.
    fn start_with(ldif: &str, tls: bool) -> Slapd {
        let dir = std::env::temp_dir().join(format!("cohort-ldap-{}-{}", std::process::id(), crate::helpers::unique("d")));
        std::fs::create_dir_all(dir.join("db")).unwrap();
        let conf = format!(
            "include /etc/ldap/schema/core.schema\ninclude /etc/ldap/schema/cosine.schema\ninclude /etc/ldap/schema/inetorgperson.schema\n\
             include /etc/ldap/schema/nis.schema\nmodulepath /usr/lib/ldap\nmoduleload back_mdb\nmoduleload memberof\npidfile {d}/slapd.pid\n\
             database mdb\nmaxsize 10485760\nsuffix \"{SUFFIX}\"\nrootdn \"{ADMIN}\"\nrootpw secret\ndirectory {d}/db\noverlay memberof\n\
             limits dn.exact=\"{READER}\" size.soft=2 size.hard=2 size.prtotal=unlimited\n",
            d = dir.display()
        );
        let conf = if tls {
            certificates(&dir);
            format!(
                "TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\nTLSCertificateKeyFile {d}/server.key\n{conf}",
                d = dir.display()
            )
        } else {
            conf
        };
        std::fs::write(dir.join("slapd.conf"), conf).unwrap();
        std::fs::write(dir.join("data.ldif"), ldif).unwrap();
        let added = Command::new("slapadd").arg("-f").arg(dir.join("slapd.conf")).arg("-l").arg(dir.join("data.ldif")).output().unwrap();
        assert!(added.status.success(), "slapadd: {}", String::from_utf8_lossy(&added.stderr));
        let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (port, tls_port) = (free(), free());
        let url = format!("ldap://127.0.0.1:{port}");
        let listen = if tls { format!("{url}/ ldaps://127.0.0.1:{tls_port}/") } else { format!("{url}/") };
        let child = Command::new("/usr/sbin/slapd")
            .arg("-f")
            .arg(dir.join("slapd.conf"))
            .args(["-h", &listen, "-d", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        for p in if tls { vec![port, tls_port] } else { vec![port] } {
            while std::net::TcpStream::connect(("127.0.0.1", p)).is_err() {
                assert!(std::time::Instant::now() < deadline, "slapd never listened");
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        Slapd { child, dir, url, ldaps_url: format!("ldaps://127.0.0.1:{tls_port}") }
    }

    /// Applies an LDIF change as the directory's administrator.
    fn modify(&self, ldif: &str) {
        let file = self.dir.join("change.ldif");
        std::fs::write(&file, ldif).unwrap();
        let out = Command::new("ldapmodify").args(["-x", "-H", &self.url, "-D", ADMIN, "-w", "secret", "-f"]).arg(&file).output().unwrap();
        assert!(out.status.success(), "ldapmodify: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn config(&self, password: &str) -> PathBuf {
        self.config_with(password, json!({}))
    }

    /// A sync configuration binding as the reader, with `over`'s fields replacing the usual.
    fn config_with(&self, password: &str, over: Value) -> PathBuf {
        let pw = self.dir.join(format!("pw-{password}"));
        std::fs::write(&pw, format!("{password}\n")).unwrap();
        let mut config = json!({
            "url": self.url, "bind_dn": READER, "password_file": pw,
            "users_base_dn": format!("ou=people,{SUFFIX}"), "groups_base_dn": format!("ou=groups,{SUFFIX}"),
            "preset": "openldap"
        });
        for (k, v) in over.as_object().unwrap() {
            config[k] = v.clone();
        }
        let file = self.dir.join(format!("sync-{}.json", crate::helpers::unique("c")));
        std::fs::write(&file, config.to_string()).unwrap();
        file
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn cohort(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cohort")).arg("--data-dir").arg(data).args(args).output().unwrap()
}

/// The directory's root, the reader, and the units for people, groups and former people.
fn base_ldif() -> String {
    format!(
        "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n\
         dn: {READER}\nobjectClass: simpleSecurityObject\nobjectClass: organizationalRole\ncn: reader\nuserPassword: readerpw\n\n\
         dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n\n\
         dn: ou=former,{SUFFIX}\nobjectClass: organizationalUnit\nou: former\n\n"
    )
}

fn person(uid: &str, name: &str) -> String {
    format!("dn: uid={uid},ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {name}\nsn: {name}\nmail: {uid}@example.org\n\n")
}

fn group(cn: &str, members: &[&str]) -> String {
    let lines: String = members.iter().map(|m| format!("member: {m}\n")).collect();
    format!("dn: cn={cn},ou=groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: {cn}\n{lines}\n")
}

fn dn(uid: &str) -> String {
    format!("uid={uid},ou=people,{SUFFIX}")
}

/// The space's groups as SCIM lists them: name → member user names.
async fn groups(server: &Server, key: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    let client = reqwest::Client::new();
    let get = |path: String| {
        let client = client.clone();
        let url = format!("{}{path}", server.base);
        async move { client.get(url).bearer_auth(key).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let users = get("/scim/v2/Users?count=100".into()).await;
    let names: std::collections::HashMap<String, String> = users["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["id"].as_str().unwrap().to_string(), u["userName"].as_str().unwrap().to_string()))
        .collect();
    let list = get("/scim/v2/Groups?count=100".into()).await;
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let mut members: Vec<String> = g["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| names.get(m["value"].as_str().unwrap()).cloned().unwrap_or_default())
                .collect();
            members.sort();
            (g["displayName"].as_str().unwrap().to_string(), members)
        })
        .collect()
}

/// Whether the user with this username is active, as SCIM shows them.
async fn active(server: &Server, key: &str, username: &str) -> Option<bool> {
    let url = format!("{}/scim/v2/Users?filter=userName%20eq%20%22{username}%22", server.base);
    let list: Value = reqwest::Client::new().get(url).bearer_auth(key).send().await.unwrap().json().await.unwrap();
    list["Resources"][0]["active"].as_bool()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(slapd_tests), ignore = "needs OpenLDAP's slapd (Debian package slapd) when the tests are built")]
async fn ldap_sync_follows_the_directory() {
    let mut ldif = base_ldif();
    for (uid, name) in [("ann", "Ann Lee"), ("ben", "Ben Okri"), ("cat", "Cat Ng"), ("dan", "Dan Li")] {
        ldif.push_str(&person(uid, name));
    }
    // Platform is nested in Engineering: its members are Engineering's too.
    ldif.push_str(&group("platform", &[&dn("ben")]));
    ldif.push_str(&group("engineering", &[&dn("ann"), &format!("cn=platform,ou=groups,{SUFFIX}")]));
    ldif.push_str(&group("sales", &[&dn("cat")]));
    let slapd = Slapd::start(&ldif);
    let data = slapd.dir.join("cohort-data");
    assert!(cohort(&data, &["migrate"]).status.success());
    let config = slapd.config("readerpw");
    let config = config.to_str().unwrap();

    // A bad bind is a clear error and changes nothing.
    let bad = cohort(&data, &["sync", "ldap", "--config", slapd.config("wrong").to_str().unwrap()]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("binding as cn=reader"), "{}", String::from_utf8_lossy(&bad.stderr));

    // The dry run says what it would do and does nothing.
    let dry = cohort(&data, &["sync", "ldap", "--config", config, "--dry-run"]);
    let said = String::from_utf8_lossy(&dry.stdout).to_string();
    assert!(dry.status.success(), "{said} {}", String::from_utf8_lossy(&dry.stderr));
    assert!(said.contains("make user ann") && said.contains("make group engineering"), "{said}");
    assert!(said.contains("users: 4 to make, 0 to change; groups: 3 to make, 0 to rename; members: 4 to add, 0 to remove"), "{said}");
    let key = String::from_utf8(cohort(&data, &["keys", "create", "--name", "t", "--scopes", "admin"]).stdout).unwrap().trim().to_string();
    {
        let server = Server::start_with(&["--data-dir", data.to_str().unwrap()]);
        assert!(groups(&server, &key).await.is_empty(), "the dry run made groups");
    }

    let synced = cohort(&data, &["sync", "ldap", "--config", config]);
    assert!(synced.status.success(), "{}", String::from_utf8_lossy(&synced.stderr));
    let want = |pairs: &[(&str, &[&str])]| -> std::collections::BTreeMap<String, Vec<String>> {
        pairs.iter().map(|(g, ms)| (g.to_string(), ms.iter().map(|m| m.to_string()).collect())).collect()
    };
    {
        let server = Server::start_with(&["--data-dir", data.to_str().unwrap()]);
        assert_eq!(groups(&server, &key).await, want(&[("engineering", &["ann", "ben"]), ("platform", &["ben"]), ("sales", &["cat"])]));
    }
    // Synced again, nothing is left to do.
    let again = cohort(&data, &["sync", "ldap", "--config", config, "--dry-run"]);
    assert!(
        String::from_utf8_lossy(&again.stdout)
            .contains("users: 0 to make, 0 to change; groups: 0 to make, 0 to rename; members: 0 to add, 0 to remove")
    );

    // The directory changes: Ann leaves Engineering, Sales is renamed and Dan joins it.
    slapd.modify(&format!(
        "dn: cn=engineering,ou=groups,{SUFFIX}\nchangetype: modify\ndelete: member\nmember: {}\n\n\
         dn: cn=sales,ou=groups,{SUFFIX}\nchangetype: modrdn\nnewrdn: cn=sales-eu\ndeleteoldrdn: 1\n\n\
         dn: cn=sales-eu,ou=groups,{SUFFIX}\nchangetype: modify\nadd: member\nmember: {}\n\n",
        dn("ann"),
        dn("dan")
    ));
    assert!(cohort(&data, &["sync", "ldap", "--config", config]).status.success());
    {
        let server = Server::start_with(&["--data-dir", data.to_str().unwrap()]);
        let after = groups(&server, &key).await;
        assert_eq!(after["engineering"], ["ann", "ben"], "without --prune nobody is removed");
        assert_eq!(after["sales-eu"], ["cat", "dan"], "renamed, matched by its entryUUID");
    }
    let pruned = cohort(&data, &["sync", "ldap", "--config", config, "--prune"]);
    assert!(pruned.status.success(), "{}", String::from_utf8_lossy(&pruned.stderr));
    {
        let server = Server::start_with(&["--data-dir", data.to_str().unwrap()]);
        assert_eq!(groups(&server, &key).await, want(&[("engineering", &["ben"]), ("platform", &["ben"]), ("sales-eu", &["cat", "dan"])]));
    }

    // Dan's account moves out of the people the sync reads (as a disabled Active Directory
    // account drops out of its filter) and Sales EU is deleted: reported, kept without
    // --prune; with it Dan is deactivated and the group deleted.
    slapd.modify(&format!(
        "dn: {}\nchangetype: modrdn\nnewrdn: uid=dan\ndeleteoldrdn: 1\nnewsuperior: ou=former,{SUFFIX}\n\n\
         dn: cn=sales-eu,ou=groups,{SUFFIX}\nchangetype: delete\n\n",
        dn("dan")
    ));
    let kept = cohort(&data, &["sync", "ldap", "--config", config]);
    let said = String::from_utf8_lossy(&kept.stdout).to_string();
    assert!(kept.status.success() && said.contains("left the directory (kept without --prune): 1 users, 1 groups"), "{said}");
    let dry = String::from_utf8(cohort(&data, &["sync", "ldap", "--config", config, "--dry-run", "--prune"]).stdout).unwrap();
    assert!(dry.contains("deactivate user dan") && dry.contains("delete group sales-eu"), "{dry}");
    {
        let server = Server::start_with(&["--data-dir", data.to_str().unwrap()]);
        assert!(groups(&server, &key).await.contains_key("sales-eu"));
        assert_eq!(active(&server, &key, "dan").await, Some(true));
    }
    let pruned = cohort(&data, &["sync", "ldap", "--config", config, "--prune"]);
    let said = String::from_utf8_lossy(&pruned.stdout).to_string();
    assert!(pruned.status.success() && said.contains("left the directory: 1 users deactivated, 1 groups deleted"), "{said}");
    {
        let server = Server::start_with(&["--data-dir", data.to_str().unwrap()]);
        assert!(!groups(&server, &key).await.contains_key("sales-eu"));
        assert_eq!(active(&server, &key, "dan").await, Some(false), "deactivated, not deleted");
        assert_eq!(active(&server, &key, "cat").await, Some(true), "Cat is still listed: only her group went");
    }
    // A base DN that matches nothing would prune everyone: refused, nothing changed.
    let empty = slapd.config_with(
        "readerpw",
        json!({"users_base_dn": format!("ou=former,{SUFFIX}"), "user_filter": "(uid=nobody)",
        "groups_base_dn": format!("ou=former,{SUFFIX}")}),
    );
    let refused = cohort(&data, &["sync", "ldap", "--config", empty.to_str().unwrap(), "--prune"]);
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("refusing to prune"));
    // Dan's account comes back (same entryUUID): active again.
    slapd.modify(&format!(
        "dn: uid=dan,ou=former,{SUFFIX}\nchangetype: modrdn\nnewrdn: uid=dan\ndeleteoldrdn: 1\nnewsuperior: ou=people,{SUFFIX}\n\n"
    ));
    assert!(cohort(&data, &["sync", "ldap", "--config", config]).status.success());
    {
        let server = Server::start_with(&["--data-dir", data.to_str().unwrap()]);
        assert_eq!(active(&server, &key, "dan").await, Some(true));
    }

    // `serve` syncs on a schedule when asked: Dan joins Platform in the directory, and the
    // running server follows within its interval.
    slapd.modify(&format!("dn: cn=platform,ou=groups,{SUFFIX}\nchangetype: modify\nadd: member\nmember: {}\n\n", dn("dan")));
    let server = Server::start_with(&["--data-dir", data.to_str().unwrap(), "--ldap-sync-config", config, "--ldap-sync-interval", "0.5"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let now = groups(&server, &key).await;
        if now["platform"] == ["ben", "dan"] {
            assert_eq!(now["engineering"], ["ben", "dan"], "through Platform, nested in Engineering");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the scheduled sync never ran: {now:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(slapd_tests), ignore = "needs OpenLDAP's slapd (Debian package slapd) when the tests are built")]
async fn ldap_sync_speaks_ldaps_and_starttls_and_checks_the_certificate() {
    let mut ldif = base_ldif();
    ldif.push_str(&person("ann", "Ann Lee"));
    ldif.push_str(&person("ben", "Ben Okri"));
    ldif.push_str(&group("engineering", &[&dn("ann")]));
    ldif.push_str(&group("design", &[&dn("ann")]));
    let slapd = Slapd::start_with(&ldif, true);
    let data = slapd.dir.join("cohort-data");
    assert!(cohort(&data, &["migrate"]).status.success());
    let ca = slapd.dir.join("ca.pem");
    let other = slapd.dir.join("other-ca.pem");
    let dry = |config: PathBuf| {
        let out = cohort(&data, &["sync", "ldap", "--config", config.to_str().unwrap(), "--dry-run"]);
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
    };
    let read_ann = "users: 2 to make";

    // LDAPS, and StartTLS on the plain port, each trusting the directory's CA.
    let (ok, said) = dry(slapd.config_with("readerpw", json!({"url": slapd.ldaps_url, "tls_ca_file": ca})));
    assert!(ok && said.contains(read_ann), "ldaps: {said}");
    let (ok, said) = dry(slapd.config_with("readerpw", json!({"starttls": true, "tls_ca_file": ca})));
    assert!(ok && said.contains(read_ann), "starttls: {said}");

    // A certificate no trusted CA signed is refused, over either, before the password is sent.
    for over in [json!({"url": slapd.ldaps_url}), json!({"url": slapd.ldaps_url, "tls_ca_file": other}), json!({"starttls": true})] {
        let (ok, said) = dry(slapd.config_with("readerpw", over.clone()));
        assert!(!ok && said.contains("connecting to") && said.to_lowercase().contains("certificate"), "{over}: {said}");
    }
    // StartTLS with an ldaps:// URL is a mistake in the configuration, said as one.
    let (ok, said) = dry(slapd.config_with("readerpw", json!({"url": slapd.ldaps_url, "starttls": true})));
    assert!(!ok && said.contains("starttls is for ldap://"), "{said}");
    // A CA file that holds no certificate is said, not ignored.
    std::fs::write(slapd.dir.join("empty.pem"), "").unwrap();
    let (ok, said) = dry(slapd.config_with("readerpw", json!({"url": slapd.ldaps_url, "tls_ca_file": slapd.dir.join("empty.pem")})));
    assert!(!ok && said.contains("no PEM certificate"), "{said}");

    // A real sync over LDAPS, reading memberships from the people's memberOf alone (as
    // Active Directory keeps it; here slapd's memberof overlay writes it when Ben joins
    // Design): the groups' own member lists are not read.
    slapd.modify(&format!("dn: cn=design,ou=groups,{SUFFIX}\nchangetype: modify\nadd: member\nmember: {}\n\n", dn("ben")));
    let config = slapd.config_with(
        "readerpw",
        json!({"url": slapd.ldaps_url, "tls_ca_file": ca, "attributes": {"members": [], "member_of": "memberOf"}}),
    );
    let synced = cohort(&data, &["sync", "ldap", "--config", config.to_str().unwrap()]);
    assert!(synced.status.success(), "{}", String::from_utf8_lossy(&synced.stderr));
    let key = String::from_utf8(cohort(&data, &["keys", "create", "--name", "t", "--scopes", "admin"]).stdout).unwrap().trim().to_string();
    let server = Server::start_with(&["--data-dir", data.to_str().unwrap()]);
    let got = groups(&server, &key).await;
    assert_eq!(got["engineering"], Vec::<String>::new(), "slapadd wrote Engineering without the overlay: no memberOf for Ann");
    assert_eq!(got["design"], ["ben"]);
}
