//! API keys and user tokens: the SQL. Only hashes of the secrets are stored.

use crate::db::{Conn, Row};
use crate::{StoreError, json_list, params, to_json_list};
use cohort_core::model::{ApiKey, User};

const KEY_COLS: &str =
    "k.id, k.name, k.prefix, k.scopes, k.owner_user_id, k.space_id, k.created_at, k.created_by, k.expires_at, k.last_used_at";

fn key_from_row(r: &Row) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: r.get(0)?,
        name: r.get(1)?,
        prefix: r.get(2)?,
        scopes: json_list(&r.get::<String>(3)?),
        owner_user_id: r.get(4)?,
        space_id: r.get(5)?,
        created_at: r.get(6)?,
        created_by: r.get(7)?,
        expires_at: r.get(8)?,
        last_used_at: r.get(9)?,
    })
}

pub async fn insert_key(c: &Conn, k: &ApiKey, hash: &str) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO api_keys (id, name, key_hash, prefix, scopes, owner_user_id, space_id, created_at, created_by, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            k.id.as_str(), k.name.as_str(), hash, k.prefix.as_str(), to_json_list(&k.scopes), k.owner_user_id.clone(),
            k.space_id.clone(), k.created_at, k.created_by.clone(), k.expires_at
        ],
    )
    .await?;
    Ok(())
}

/// A live key by the hash of its secret, with its owner when it has one.
pub async fn key_by_hash(c: &Conn, hash: &str, now: i64) -> Result<Option<(ApiKey, Option<User>)>, StoreError> {
    let sql = format!(
        "SELECT {KEY_COLS}, {} FROM api_keys k LEFT JOIN users u ON u.id = k.owner_user_id \
         WHERE k.key_hash = ? AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?)",
        crate::users::COLS
    );
    let Some(r) = c.query_opt(&sql, &params![hash, now]).await? else {
        return Ok(None);
    };
    let key = key_from_row(&r)?;
    let owner = match r.get::<Option<String>>(10)? {
        Some(_) => Some(crate::users::from_row(&r, 10)?),
        None => None,
    };
    Ok(Some((key, owner)))
}

pub async fn get_key(c: &Conn, id: &str) -> Result<Option<ApiKey>, StoreError> {
    c.query_opt(&format!("SELECT {KEY_COLS} FROM api_keys k WHERE k.id = ? AND k.revoked_at IS NULL"), &params![id])
        .await?
        .map(|r| key_from_row(&r))
        .transpose()
}

/// Live keys, newest first; only `owner`'s when given.
pub async fn list_keys(c: &Conn, owner: Option<&str>) -> Result<Vec<ApiKey>, StoreError> {
    let rows = match owner {
        Some(o) => {
            c.query(&format!("SELECT {KEY_COLS} FROM api_keys k WHERE k.revoked_at IS NULL AND k.owner_user_id = ? ORDER BY k.created_at DESC, k.id DESC"), &params![o])
                .await?
        }
        None => c.query(&format!("SELECT {KEY_COLS} FROM api_keys k WHERE k.revoked_at IS NULL ORDER BY k.created_at DESC, k.id DESC"), &[]).await?,
    };
    rows.iter().map(key_from_row).collect()
}

pub async fn revoke_key(c: &Conn, id: &str, now: i64) -> Result<u64, StoreError> {
    c.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", &params![now, id]).await
}

pub async fn insert_token(c: &Conn, id: &str, hash: &str, user_id: &str, now: i64, expires_at: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO auth_tokens (id, token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        &params![id, hash, user_id, now, expires_at],
    )
    .await?;
    Ok(())
}

/// A live token's id, expiry and user by the hash of its secret.
pub async fn token_by_hash(c: &Conn, hash: &str, now: i64) -> Result<Option<(String, i64, User)>, StoreError> {
    let sql = format!(
        "SELECT t.id, t.expires_at, {} FROM auth_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ? AND t.revoked_at IS NULL AND t.expires_at > ?",
        crate::users::COLS
    );
    let Some(r) = c.query_opt(&sql, &params![hash, now]).await? else {
        return Ok(None);
    };
    Ok(Some((r.get(0)?, r.get(1)?, crate::users::from_row(&r, 2)?)))
}

pub async fn revoke_token(c: &Conn, id: &str, now: i64) -> Result<u64, StoreError> {
    c.execute("UPDATE auth_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", &params![now, id]).await
}

pub async fn revoke_user_tokens(c: &Conn, user_id: &str, now: i64) -> Result<u64, StoreError> {
    c.execute("UPDATE auth_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", &params![now, user_id]).await
}

/// The site secret named `name`, made from `fresh` the first time it is asked for; every
/// instance then reads the same one.
pub async fn site_secret(c: &Conn, name: &str, fresh: &str) -> Result<String, StoreError> {
    c.execute("INSERT INTO site_secrets (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING", &params![name, fresh]).await?;
    c.query_one("SELECT value FROM site_secrets WHERE name = ?", &params![name]).await?.get(0)
}
