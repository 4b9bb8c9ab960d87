//! How a list is ordered and walked: sort terms (`-created_at,name` or `sort_by` +
//! `sort_order`) and opaque cursors that remember where the last page ended.

use crate::error::{Error, Result};
use crate::filter::Expr;
use crate::page::PageRequest;
use serde::{Deserialize, Serialize};

/// One sort key: a whitelisted field name and its direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortTerm {
    pub field: String,
    pub desc: bool,
}

/// Parses PocketBase's `sort=-created,name` (a leading `-` for descending, `+` allowed).
pub fn parse_sort(raw: &str) -> Result<Vec<SortTerm>> {
    let mut out = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (desc, field) = match part.strip_prefix('-') {
            Some(f) => (true, f),
            None => (false, part.strip_prefix('+').unwrap_or(part)),
        };
        if field.is_empty() || field.len() > 64 || !field.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') {
            return Err(Error::invalid(format!("cannot sort by {part:?}")));
        }
        out.push(SortTerm { field: field.to_string(), desc });
    }
    if out.len() > 8 {
        return Err(Error::invalid("at most 8 sort keys"));
    }
    Ok(out)
}

/// Seed 004's `sort_by` and `sort_order` (`asc` or `desc`).
pub fn sort_pair(sort_by: &str, sort_order: Option<&str>) -> Result<Vec<SortTerm>> {
    let desc = match sort_order {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(other) => return Err(Error::invalid(format!("sort_order {other:?} is not asc or desc"))),
    };
    let mut terms = parse_sort(sort_by)?;
    for t in &mut terms {
        t.desc = desc;
    }
    Ok(terms)
}

/// A value remembered by a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CursorValue {
    Int(i64),
    Text(String),
}

/// Where a page ended: the sort values and the id of its last row, and the sort it was
/// taken under (a cursor is refused under another sort).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "s")]
    pub sort: String,
    #[serde(rename = "v")]
    pub values: Vec<CursorValue>,
    #[serde(rename = "i")]
    pub id: String,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl Cursor {
    /// The opaque text form handed to callers.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let mut out = String::with_capacity(json.len() * 2);
        for b in json {
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
        out
    }

    pub fn decode(raw: &str) -> Result<Cursor> {
        let bad = || Error::invalid("the cursor is not one this service handed out");
        if !raw.len().is_multiple_of(2) || raw.len() > 8192 {
            return Err(bad());
        }
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let bytes =
            raw.as_bytes().chunks(2).map(|p| Some(digit(p[0])? << 4 | digit(p[1])?)).collect::<Option<Vec<u8>>>().ok_or_else(bad)?;
        serde_json::from_slice(&bytes).map_err(|_| bad())
    }
}

/// A sort's signature, stored in cursors.
pub fn signature(terms: &[SortTerm]) -> String {
    terms.iter().map(|t| format!("{}{}", if t.desc { "-" } else { "" }, t.field)).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_parse() {
        let t = parse_sort("-created_at, name,+type").unwrap_or_default();
        assert_eq!(signature(&t), "-created_at,name,type");
        assert!(parse_sort("name;drop").is_err());
        assert_eq!(signature(&sort_pair("created", None).unwrap_or_default()), "-created");
        assert!(sort_pair("created", Some("sideways")).is_err());
    }

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let c =
            Cursor { sort: "-created_at".into(), values: vec![CursorValue::Int(5), CursorValue::Text("a\"b".into())], id: "grp_1".into() };
        assert_eq!(Cursor::decode(&c.encode()).ok(), Some(c));
        for junk in ["", "zz", "abc", "7b7d"] {
            assert!(Cursor::decode(junk).is_err(), "{junk}");
        }
    }
}

/// How a page is picked: by number, or after a cursor.
#[derive(Debug, Clone, PartialEq)]
pub enum Paging {
    Offset(PageRequest),
    Cursor { after: Option<Cursor>, limit: i64, with_total: bool },
}

impl Paging {
    pub fn limit(&self) -> i64 {
        match self {
            Paging::Offset(p) => p.limit,
            Paging::Cursor { limit, .. } => *limit,
        }
    }

    pub fn with_total(&self) -> bool {
        match self {
            Paging::Offset(p) => p.with_total,
            Paging::Cursor { with_total, .. } => *with_total,
        }
    }
}

impl Default for Paging {
    fn default() -> Self {
        Paging::Offset(PageRequest::default())
    }
}

/// What a caller asked of a list: a filter over the list's fields, an order over its
/// sort keys, and a page.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub filter: Option<Expr>,
    pub sort: Vec<SortTerm>,
    pub paging: Paging,
    /// The caller may not see users' private fields (email, site role, external id), so may
    /// neither filter nor sort by them: to them those fields do not exist.
    pub hide_private: bool,
}

impl Listing {
    /// The default order and filter, by page number.
    pub fn page(p: PageRequest) -> Listing {
        Listing { paging: Paging::Offset(p), ..Listing::default() }
    }

    /// This listing for a caller who may (`true`) or may not see users' private fields.
    pub fn seen_by(&self, sees_private: bool) -> Listing {
        Listing { hide_private: !sees_private, ..self.clone() }
    }
}

/// What a list of a group's members is narrowed by.
#[derive(Debug, Clone, Default)]
pub struct MemberQuery {
    pub role: Option<String>,
    pub status: Option<crate::model::MemberStatus>,
    pub search: Option<String>,
    /// Effective members: the active members of the group and of these ancestors (those
    /// whose members flow down to it), each user once, by the nearest membership.
    pub inherited_from: Option<Vec<String>>,
}

/// The lists whose filters and sort keys callers may ask about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Groups,
    Subgroups,
    Members,
    /// A group's users (`GET /groups/{id}/users`).
    GroupUsers,
    Users,
    Spaces,
    JoinRequests,
    Invitations,
    Posts,
    Audit,
}

/// What a list can be filtered and sorted by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListMetadata {
    pub fields: Vec<FieldInfo>,
    /// Every operator the filter language has.
    pub operators: Vec<&'static str>,
    pub sort_keys: Vec<&'static str>,
    /// The order when none is given (`-` for descending).
    pub default_sort: &'static str,
}

/// One field a list can be filtered by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldInfo {
    pub name: &'static str,
    /// `text`, `int`, `bool`, `time` or `list`.
    pub kind: &'static str,
    pub operators: Vec<&'static str>,
}
