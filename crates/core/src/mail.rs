//! The mail the service sends: what an invitation says, in plain text and HTML, and the
//! link it carries.

use crate::error::{Error, Result};
use crate::model::Invitation;
use crate::time;

/// A message ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Where an invitation's link leads, with `{invitation_id}` and `{token}` in it (and
/// `{group_id}` optionally): the application's page that accepts invitations.
pub fn check_link_template(template: &str) -> Result<()> {
    if !(template.starts_with("https://") || template.starts_with("http://")) {
        return Err(Error::validation("invitation-url", "an http or https URL"));
    }
    if !template.contains("{token}") || !template.contains("{invitation_id}") {
        return Err(Error::validation("invitation-url", "it must hold {invitation_id} and {token}"));
    }
    Ok(())
}

/// The link of one invitation.
pub fn link(template: &str, i: &Invitation, token: &str) -> String {
    template.replace("{invitation_id}", &i.id).replace("{token}", token).replace("{group_id}", &i.group_id)
}

/// What an invitation to `group` says, sent by `inviter` (a name, when known), with its
/// accept link.
pub fn invitation(i: &Invitation, to: &str, group: &str, inviter: Option<&str>, link: &str) -> Mail {
    let who = inviter.unwrap_or("Someone");
    let expires = time::rfc3339(i.expires_at);
    let subject = format!("{who} invited you to join {group}");
    let mut text = format!("{who} invited you to join {group} as {}.\n\n", i.role);
    if let Some(m) = &i.message {
        text.push_str(&format!("Their message:\n\n    {}\n\n", m.replace('\n', "\n    ")));
    }
    text.push_str(&format!(
        "Accept the invitation:\n{link}\n\nThe invitation expires at {expires}. If you did not expect it, ignore this message.\n"
    ));
    let mut html = format!(
        "<!doctype html>\n<html><body style=\"font-family: sans-serif\">\n<p>{} invited you to join <strong>{}</strong> as {}.</p>\n",
        escape(who),
        escape(group),
        escape(&i.role)
    );
    if let Some(m) = &i.message {
        html.push_str(&format!("<blockquote>{}</blockquote>\n", escape(m).replace('\n', "<br>")));
    }
    html.push_str(&format!(
        "<p><a href=\"{}\">Accept the invitation</a></p>\n<p>The invitation expires at {}. If you did not expect it, ignore this message.</p>\n</body></html>\n",
        escape(link),
        escape(&expires)
    ));
    Mail { to: to.to_string(), subject, text, html }
}

/// Text made safe to put in HTML (element content and quoted attributes).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InvitationMail, InvitationStatus};

    fn invitation_with(message: Option<&str>) -> Invitation {
        Invitation {
            id: "inv_1".into(),
            group_id: "grp_1".into(),
            email: Some("ann@example.com".into()),
            user_id: None,
            role: "member".into(),
            message: message.map(str::to_string),
            status: InvitationStatus::Sent,
            invited_by: None,
            created_at: 0,
            expires_at: 0,
            decided_at: None,
            mail: InvitationMail::default(),
        }
    }

    #[test]
    fn an_invitation_says_who_where_and_links_to_accept_it_in_both_forms() {
        let i = invitation_with(Some("<script>alert(1)</script> & welcome"));
        let url = link("https://app.example.com/join/{invitation_id}?token={token}&g={group_id}", &i, "cin_abc");
        assert_eq!(url, "https://app.example.com/join/inv_1?token=cin_abc&g=grp_1");
        let m = invitation(&i, "ann@example.com", "Design <Team>", Some("Bo"), &url);
        assert_eq!(m.subject, "Bo invited you to join Design <Team>");
        assert!(m.text.contains(&url) && m.text.contains("<script>"));
        assert!(m.html.contains("https://app.example.com/join/inv_1?token=cin_abc&amp;g=grp_1"));
        assert!(m.html.contains("Design &lt;Team&gt;") && !m.html.contains("<script>"));
        assert!(check_link_template("https://x.example/{invitation_id}/{token}").is_ok());
        assert!(check_link_template("https://x.example/{token}").is_err());
        assert!(check_link_template("javascript:{invitation_id}{token}").is_err());
    }
}
