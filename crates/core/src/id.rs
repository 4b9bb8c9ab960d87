//! Ids: a type prefix and a UUIDv7 tail in lower-case base32, so ids sort roughly by time.

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// The kinds of record that carry a prefixed id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Space,
    Group,
    Membership,
    JoinRequest,
    Invitation,
    Post,
    ApiKey,
    Token,
    Event,
    ScopeSet,
    Webhook,
    Delivery,
    Message,
}

impl Kind {
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::User => "usr_",
            Kind::Space => "spc_",
            Kind::Group => "grp_",
            Kind::Membership => "mem_",
            Kind::JoinRequest => "req_",
            Kind::Invitation => "inv_",
            Kind::Post => "pst_",
            Kind::ApiKey => "key_",
            Kind::Token => "tok_",
            Kind::Event => "evt_",
            Kind::ScopeSet => "sst_",
            Kind::Webhook => "whk_",
            Kind::Delivery => "dlv_",
            Kind::Message => "msg_",
        }
    }
}

/// A new id of the given kind.
pub fn new(kind: Kind) -> String {
    let value = uuid::Uuid::now_v7().as_u128();
    let mut out = String::with_capacity(kind.prefix().len() + 26);
    out.push_str(kind.prefix());
    // 128 bits in 26 base32 digits, most significant first (the first digit holds 3 bits).
    for i in (0..26).rev() {
        let digit = ((value >> (i * 5)) & 0x1f) as usize;
        out.push(ALPHABET[digit] as char);
    }
    out
}

/// Whether `s` looks like an id of `kind`; used to answer 404 early for malformed ids.
pub fn is_valid(kind: Kind, s: &str) -> bool {
    s.strip_prefix(kind.prefix()).is_some_and(|tail| {
        !tail.is_empty() && tail.len() <= 64 && tail.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_sort_by_time() {
        let a = new(Kind::Group);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new(Kind::Group);
        assert!(a.starts_with("grp_") && a.len() == 30);
        assert!(a < b);
        assert!(is_valid(Kind::Group, &a));
        assert!(!is_valid(Kind::User, &a));
    }
}
