//! Values parsed once from callers' input; past this point they are known to be valid.

use crate::error::{Error, Result};

/// A group, space or role name: trimmed, 1 to `max` characters, no control characters.
pub fn name(field: &str, raw: &str, max: usize) -> Result<String> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len == 0 {
        return Err(Error::validation(field, "must not be empty"));
    }
    if len > max {
        return Err(Error::validation(field, format!("must be at most {max} characters")));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Error::validation(field, "must not contain control characters"));
    }
    Ok(trimmed.to_string())
}

/// The case-insensitive key a name is unique by.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Free text such as a description: at most `max` characters.
pub fn text(field: &str, raw: Option<String>, max: usize) -> Result<Option<String>> {
    match raw {
        Some(s) if s.chars().count() > max => Err(Error::validation(field, format!("must be at most {max} characters"))),
        other => Ok(other),
    }
}

/// A collection's id: 1 to 300 characters.
pub fn collection_id(field: &str, id: &str) -> Result<()> {
    if id.is_empty() || id.chars().count() > 300 {
        return Err(Error::validation(field, "each collection id must be 1 to 300 characters"));
    }
    Ok(())
}

/// A permission string such as `bot.use` or `kb.read`.
pub fn permission(raw: &str) -> Result<String> {
    let ok = !raw.is_empty()
        && raw.len() <= 100
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':' | b'*'));
    if ok {
        Ok(raw.to_string())
    } else {
        Err(Error::validation("permissions", format!("{raw:?} is not a permission (1-100 of letters, digits and . _ - : *)")))
    }
}

/// A list of permissions, deduplicated, order kept.
pub fn permissions(raw: Vec<String>) -> Result<Vec<String>> {
    if raw.len() > 1000 {
        return Err(Error::validation("permissions", "at most 1000 permissions"));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for p in raw {
        let p = permission(&p)?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// A username: 1-100 of letters, digits and `. _ - @ +`.
pub fn username(raw: &str) -> Result<String> {
    let s = raw.trim();
    let ok =
        !s.is_empty() && s.chars().count() <= 100 && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'));
    if ok { Ok(s.to_string()) } else { Err(Error::validation("username", "must be 1-100 letters, digits or . _ - @ +")) }
}

/// An email address, loosely checked: one `@` with text on both sides, no spaces.
pub fn email(raw: &str) -> Result<String> {
    let s = raw.trim();
    let ok = s.len() <= 254
        && !s.chars().any(char::is_whitespace)
        && s.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if ok { Ok(s.to_string()) } else { Err(Error::validation("email", format!("{s:?} is not an email address"))) }
}

/// A password to set: 8 to 1024 characters.
pub fn password(raw: &str) -> Result<&str> {
    let len = raw.chars().count();
    if !(8..=1024).contains(&len) {
        return Err(Error::validation("password", "must be 8 to 1024 characters"));
    }
    Ok(raw)
}

/// An external id (directory sync): 1 to 300 characters.
pub fn external_id(raw: Option<String>) -> Result<Option<String>> {
    match raw {
        Some(s) if s.is_empty() || s.chars().count() > 300 => Err(Error::validation("external_id", "must be 1 to 300 characters")),
        other => Ok(other),
    }
}

/// `max_members`: at least 1, or none.
pub fn max_members(raw: Option<i64>) -> Result<Option<i64>> {
    match raw {
        Some(n) if n < 1 => Err(Error::validation("settings.max_members", "must be at least 1 or null")),
        other => Ok(other),
    }
}

/// The slug a custom role's name gives: `Team Lead` → `team-lead`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("name", "  Engineering Team ", 200).as_deref(), Ok("Engineering Team"));
        assert!(name("name", "   ", 200).is_err());
        assert!(name("name", &"x".repeat(201), 200).is_err());
        assert!(name("name", &"é".repeat(200), 200).is_ok());
        assert_eq!(name_key(" Ünïcode Team "), "ünïcode team");
    }

    #[test]
    fn permissions_and_slugs() {
        assert_eq!(permissions(vec!["bot.use".into(), "bot.use".into(), "kb.read".into()]).map(|p| p.len()), Ok(2));
        assert!(permission("has space").is_err());
        assert!(permission("").is_err());
        assert_eq!(slug("Team Lead"), "team-lead");
        assert_eq!(slug("  QA / Release  "), "qa-release");
    }

    #[test]
    fn emails_and_usernames() {
        assert!(email("a@b.c").is_ok());
        assert!(email("nope").is_err());
        assert!(email("a b@c").is_err());
        assert!(username("john.doe").is_ok());
        assert!(username("john doe").is_err());
    }
}
