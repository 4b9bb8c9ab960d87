//! Secrets: Argon2id for passwords, SHA-256 digests for high-entropy keys and tokens.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use cohort_core::{Error, Result};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A new secret: `prefix` and 32 random bytes in base32.
pub fn new_secret(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::internal(format!("random: {e}")))?;
    let mut out = String::with_capacity(prefix.len() + 52);
    out.push_str(prefix);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    Ok(out)
}

/// Base64url without padding.
pub fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// The key user tokens are signed with (HMAC-SHA256), shared by every instance.
#[derive(Clone)]
pub struct TokenKey(Vec<u8>);

impl TokenKey {
    pub fn new(secret: &str) -> Self {
        TokenKey(secret.as_bytes().to_vec())
    }

    fn mac(&self, signed: &str) -> Result<Vec<u8>> {
        hmac_sha256(&self.0, signed.as_bytes())
    }
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Result<Vec<u8>> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(Error::internal)?;
    mac.update(message);
    Ok(mac.finalize().into_bytes().to_vec())
}

/// A user token: a JWT signed with HS256, so clients that read a token's expiry (the
/// PocketBase SDK does) can, and a forged or altered one is refused before any lookup. It
/// carries 256 random bits (`jti`), and the whole string is what is hashed and stored, so
/// revoking it works as for any secret.
pub fn new_token(key: &TokenKey, user_id: &str, expires_at_ms: i64) -> Result<String> {
    let header = base64url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "id": user_id, "type": "auth", "collectionId": "_pb_users_auth_", "refreshable": true,
        "exp": expires_at_ms / 1000, "jti": new_secret("")?,
    });
    let signed = format!("{header}.{}", base64url(claims.to_string().as_bytes()));
    let sig = base64url(&key.mac(&signed)?);
    Ok(format!("{signed}.{sig}"))
}

/// Whether `token` carries a valid signature of ours (compared in constant time).
pub fn token_signed(key: &TokenKey, token: &str) -> bool {
    let Some((signed, sig)) = token.rsplit_once('.') else { return false };
    let Ok(want) = key.mac(signed) else { return false };
    let got = base64url(&want);
    got.len() == sig.len() && got.bytes().zip(sig.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The stored form of a key or token.
pub fn digest(secret: &str) -> String {
    digest_bytes(secret.as_bytes())
}

/// SHA-256 of `bytes`, in hex.
pub fn digest_bytes(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in hash.iter() {
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
    }
    out
}

/// Hashes a password with Argon2id on a blocking thread.
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| Error::internal(format!("random: {e}")))?;
        let salt = SaltString::encode_b64(&salt).map_err(Error::internal)?;
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(Error::internal)
    })
    .await
    .map_err(Error::internal)?
}

/// A fixed hash verified when a login names nobody, so timing does not tell who exists.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0pVxGl4j5JJmOSsi8gIYZcm0SXG1gAoHEUpUcxBdxmQ";

/// Checks a password against a stored hash (or the dummy) on a blocking thread.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY.to_string());
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && known
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_and_distinct() {
        let a = new_secret("ck_").unwrap_or_default();
        let b = new_secret("ck_").unwrap_or_default();
        assert_eq!(a.len(), 3 + 52);
        assert_ne!(a, b);
        assert_eq!(digest("x").len(), 64);
        assert_eq!(base64url(b"hello"), "aGVsbG8");
        assert_eq!(base64url(b"hi!"), "aGkh");
        let key = TokenKey::new("site secret");
        let t = new_token(&key, "usr_1", 1_000_000).unwrap_or_default();
        assert_eq!(t.split('.').count(), 3);
        assert!(token_signed(&key, &t));
        assert!(!token_signed(&TokenKey::new("another"), &t));
        let (head, _) = t.split_once('.').unwrap_or_default();
        assert!(!token_signed(&key, &format!("{head}.eyJpZCI6InVzcl8yIn0.{}", t.rsplit('.').next().unwrap_or_default())));
    }

    #[tokio::test]
    async fn passwords_verify() {
        let h = hash_password("correct horse".into()).await.unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), Some(h.clone())).await);
        assert!(!verify_password("wrong horse".into(), Some(h)).await);
        assert!(!verify_password("anything".into(), None).await);
    }
}
