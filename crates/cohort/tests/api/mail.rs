//! Invitation mail received by an SMTP server the test runs: the message carries the
//! accept link in plain text and HTML, a refusal is retried, and a resend sends a new link.

use crate::helpers::*;
use crate::story;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// One message the SMTP server took.
#[derive(Debug, Clone)]
struct Received {
    to: Vec<String>,
    data: String,
}

/// A small SMTP server: takes every message, after refusing the first `refuse` with 451.
struct Smtp {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Smtp {
    async fn start(refuse: usize) -> Smtp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let refuse = Arc::new(AtomicUsize::new(refuse));
        let seen = got.clone();
        tokio::spawn(async move {
            loop {
                let Ok((s, _)) = listener.accept().await else { return };
                let (seen, refuse) = (seen.clone(), refuse.clone());
                tokio::spawn(async move {
                    let (r, mut w) = s.into_split();
                    let mut lines = BufReader::new(r).lines();
                    let _ = w.write_all(b"220 test ESMTP\r\n").await;
                    let mut to = Vec::new();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let verb = line.split([' ', ':']).next().unwrap_or("").to_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" => b"250-test\r\n250 8BITMIME\r\n",
                            "MAIL" if refuse.load(Ordering::SeqCst) > 0 => {
                                refuse.fetch_sub(1, Ordering::SeqCst);
                                b"451 4.3.0 try again later\r\n"
                            }
                            "RCPT" => {
                                to.push(line.trim_start_matches("RCPT TO:").trim_matches(['<', '>', ' ']).to_string());
                                b"250 OK\r\n"
                            }
                            "DATA" => {
                                let _ = w.write_all(b"354 go on\r\n").await;
                                let mut data = String::new();
                                while let Ok(Some(l)) = lines.next_line().await {
                                    if l == "." {
                                        break;
                                    }
                                    data.push_str(&l);
                                    data.push('\n');
                                }
                                seen.lock().unwrap().push(Received { to: std::mem::take(&mut to), data });
                                b"250 OK queued\r\n"
                            }
                            "QUIT" => {
                                let _ = w.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => b"250 OK\r\n",
                        };
                        let _ = w.write_all(reply).await;
                    }
                });
            }
        });
        Smtp { port, got }
    }

    async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.got.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            assert!(tokio::time::Instant::now() < deadline, "the SMTP server got {} messages", got.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The message with quoted-printable undone (soft line breaks and `=XX`).
fn decoded(data: &str) -> String {
    let joined = data.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_mail_reaches_the_invitee_with_its_link_and_is_resent_with_a_new_one() {
    let smtp = Smtp::start(1).await;
    let data = std::env::temp_dir().join(unique("cohort-mail"));
    let key = admin_key_in(&data);
    let smtp_url = format!("smtp://127.0.0.1:{}", smtp.port);
    let server = Server::start_with(&[
        "--data-dir",
        data.to_str().unwrap(),
        "--smtp-url",
        &smtp_url,
        "--mail-from",
        "Cohort <team@example.com>",
        "--invitation-url",
        "https://app.example.com/join/{invitation_id}?token={token}",
        "--webhooks-max-retry-interval",
        "1",
    ]);
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, body: Value| {
        client.request(method, format!("{}{path}", server.base)).bearer_auth(&key).json(&body).send()
    };
    let g: Value =
        call(reqwest::Method::POST, "/api/v1/groups".into(), json!({"name": "Design <Team>"})).await.unwrap().json().await.unwrap();
    let g = g["id"].as_str().unwrap().to_string();
    let body = json!({"emails": ["ann@example.com"], "notify": true, "message": "Welcome aboard"});
    let sent = call(reqwest::Method::POST, format!("/api/v1/groups/{g}/invitations"), body).await.unwrap();
    assert_eq!(sent.status().as_u16(), 201);
    let sent: Value = sent.json().await.unwrap();
    let inv = &sent["invitations"][0];
    assert_eq!(inv["mail"]["status"], "queued", "{sent}");
    let (id, token) = (inv["id"].as_str().unwrap().to_string(), inv["token"].as_str().unwrap().to_string());

    // The server refused the first attempt; the retry got through.
    let got = smtp.wait_for(1).await;
    assert_eq!(got[0].to, ["ann@example.com"]);
    let m = decoded(&got[0].data);
    let link = format!("https://app.example.com/join/{id}?token={token}");
    assert!(m.contains("Content-Type: multipart/alternative"), "{m}");
    assert!(m.contains("Content-Type: text/plain") && m.contains("Content-Type: text/html"), "{m}");
    assert!(m.contains(&format!("\n{link}\n")), "the plain text carries the link: {m}");
    assert!(m.contains(&format!("href=\"{}\"", link.replace('&', "&amp;"))), "the HTML links to it: {m}");
    assert!(m.contains("Design &lt;Team&gt;") && m.contains("Welcome aboard"), "{m}");
    assert!(m.contains("From: Cohort <team@example.com>") && m.contains("To: ann@example.com"), "{m}");

    let listed: Value =
        client.get(format!("{}/api/v1/groups/{g}/invitations", server.base)).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
    let mail = &listed["invitations"][0]["mail"];
    assert_eq!(mail["status"], "sent", "{listed}");
    assert_eq!(mail["attempts"], 2, "one refusal, then sent: {mail}");
    assert!(mail["sent_at"].is_string() && mail["error"].is_null(), "{mail}");

    // A resend: a new link in a new message.
    let again = call(reqwest::Method::POST, format!("/api/v1/groups/{g}/invitations/{id}/resend"), json!({})).await.unwrap();
    assert_eq!(again.status().as_u16(), 200);
    let again: Value = again.json().await.unwrap();
    let fresh = again["token"].as_str().unwrap();
    assert_ne!(fresh, token);
    let got = smtp.wait_for(2).await;
    assert!(decoded(&got[1].data).contains(&format!("token={fresh}")));
    // Without notify, nothing is mailed.
    let quiet =
        call(reqwest::Method::POST, format!("/api/v1/groups/{g}/invitations"), json!({"emails": ["bo@example.com"]})).await.unwrap();
    let quiet: Value = quiet.json().await.unwrap();
    assert!(quiet["invitations"][0]["mail"].is_null(), "{quiet}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.got.lock().unwrap().len(), 2);
    drop(server);
    let _ = std::fs::remove_dir_all(data);
}

story!(without_a_mail_server_an_invitation_says_its_mail_was_not_sent, |app: TestApp| async move {
    let owner = app.user("mail-owner").await;
    let g = app.group(&owner, "No mail", json!({})).await;
    let sent =
        app.post(&format!("/api/v1/groups/{g}/invitations"), &owner.token, json!({"emails": ["cy@example.com"], "notify": true})).await;
    let sent = sent.expect(201);
    assert_eq!(sent["invitations"][0]["mail"]["status"], "not_configured", "{sent}");
    let id = sent["invitations"][0]["id"].as_str().unwrap();
    let res = app.post(&format!("/api/v1/groups/{g}/invitations/{id}/resend"), &owner.token, json!({})).await;
    assert!(res.expect(409)["message"].as_str().unwrap().contains("smtp-url"));
});
