//! `Idempotency-Key` on POSTs: the first answer to a key is kept for 24 hours and replayed to
//! the same caller sending the same request again; the same key with another request is
//! refused; while the first still runs, a duplicate waits for its answer. Claims are rows
//! with a unique key, so duplicates on several instances make one change too.

use crate::App;
use cohort_core::{Error, Result, time};
use cohort_store::idempotency::{self, Kept};

/// How long answers are kept.
pub const KEEP_FOR: time::Millis = 24 * 3600 * 1000;
/// A claim that has not finished after this long belongs to a request that died with its
/// process; it is taken over.
const ABANDONED_AFTER: time::Millis = 5 * 60 * 1000;

/// What to do with a request that carries a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Began {
    /// The first with this key: run it, then [`App::idempotency_finish`] or release it.
    Fresh,
    /// Answered before: replay this.
    Replay { status: u16, etag: Option<String>, body: String },
    /// The key was used for another request.
    Mismatch,
    /// The first request with this key is still running.
    Running,
}

/// A key is 1 to 255 visible ASCII characters.
pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid("Idempotency-Key must be 1 to 255 visible ASCII characters"));
    }
    Ok(())
}

/// The fingerprint of bytes (SHA-256, hex), for callers and requests.
pub fn fingerprint(bytes: &[u8]) -> String {
    crate::secrets::digest_bytes(bytes)
}

impl App {
    /// Claims `key` for `caller`'s request with fingerprint `request`, or says what was.
    pub async fn idempotency_begin(&self, caller: &str, key: &str, request: &str) -> Result<Began> {
        check_key(key)?;
        let now = time::now();
        let tx = self.db().begin().await?;
        if idempotency::claim(&tx, caller, key, request, now, now - ABANDONED_AFTER).await? {
            tx.commit().await?;
            return Ok(Began::Fresh);
        }
        let kept = idempotency::get(&tx, caller, key).await?;
        drop(tx);
        Ok(match kept {
            None => Began::Running,
            Some(Kept { request_hash, .. }) if request_hash != request => Began::Mismatch,
            Some(Kept { status: 0, .. }) => Began::Running,
            Some(Kept { status, etag, body, .. }) => Began::Replay { status: status as u16, etag, body: body.unwrap_or_default() },
        })
    }

    /// Keeps the answer to a claimed key.
    pub async fn idempotency_finish(&self, caller: &str, key: &str, status: u16, etag: Option<&str>, body: &str) -> Result<()> {
        let tx = self.db().begin().await?;
        idempotency::finish(&tx, caller, key, i64::from(status), etag, body).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives up a claimed key (its request failed in a way worth trying again).
    pub async fn idempotency_release(&self, caller: &str, key: &str) -> Result<()> {
        let tx = self.db().begin().await?;
        idempotency::release(&tx, caller, key).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets answers older than [`KEEP_FOR`].
    pub(crate) async fn sweep_idempotency(&self) -> Result<u64> {
        let tx = self.db().begin().await?;
        let n = idempotency::sweep(&tx, time::now() - KEEP_FOR).await?;
        tx.commit().await?;
        Ok(n)
    }
}
