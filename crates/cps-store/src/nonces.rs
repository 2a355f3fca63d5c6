//! Replay protection: each signed request is accepted once.

use crate::database::Store;

/// A signed request's replay record: `(api-key, nonce, signature)` and when
/// it was seen. The signature is stored in lower case, so an upper-case
/// resend is the same replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NonceRecord {
    pub api_key: String,
    pub nonce: String,
    pub signature: String,
    pub seen_at_ms: i64,
}
use crate::error::StoreError;

impl Store {
    /// Records a signed request's `(api-key, nonce, signature)`. Returns false
    /// when the same triple was recorded before, which makes the request a
    /// replay. Check and record are one insert, so two instances sharing the
    /// database cannot both accept it.
    pub async fn record_nonce(
        &self,
        api_key: &str,
        nonce: &str,
        signature: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let (api_key, nonce, signature) = (api_key.to_string(), nonce.to_string(), signature.to_string());
        if let Some(writer) = &self.sqlite_writer {
            return writer
                .write(move |connection| {
                    crate::sqlite_hot_writes::record_nonce(connection, &api_key, &nonce, &signature, now_ms)
                })
                .await;
        }
        // On PostgreSQL the insert is one statement in its own transaction.
        let result = sqlx::query(
            "INSERT INTO request_nonces (api_key, nonce, signature, seen_at_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(api_key)
        .bind(nonce)
        .bind(signature)
        .bind(now_ms)
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Deletes nonce records seen before `cutoff_ms`. Keep records for at
    /// least twice the nonce window, so a nonce is out of window before its
    /// record goes.
    pub async fn purge_nonces(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        let _lock = self.lock_writes().await;
        let result = sqlx::query("DELETE FROM request_nonces WHERE seen_at_ms < $1")
            .bind(cutoff_ms)
            .execute(&self.writer)
            .await?;
        Ok(result.rows_affected())
    }
}
