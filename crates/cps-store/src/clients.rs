//! Clients and their credentials.

use cps_domain::{ClientId, Money};
use rusqlite::OptionalExtension;
use sqlx::Row;

use crate::database::Store;
use crate::error::StoreError;

/// Random bytes in an api-key (shown as 32 hex characters).
const API_KEY_BYTES: usize = 16;

/// Random bytes in a secret (shown as 64 hex characters, 256 bits).
const SECRET_BYTES: usize = 32;

/// A client just created, with the only copy of its credentials the operator
/// will see.
#[derive(Clone)]
pub struct NewClient {
    pub id: ClientId,
    pub name: String,
    pub api_key: String,
    pub secret: String,
}

/// What authentication needs to know about a client.
#[derive(Clone)]
pub struct ClientRecord {
    pub id: ClientId,
    pub name: String,
    pub api_key: String,
    pub secret: String,
    /// The secret before the last rotation, with the Unix milliseconds until
    /// which it is still accepted.
    pub previous_secret: Option<(String, i64)>,
    pub enabled: bool,
    /// The webhook URL. Without one the client gets no webhooks.
    pub callback_url: Option<String>,
}

impl ClientRecord {
    /// Returns the secrets a signature may use at `now_ms`: the current one,
    /// and the previous one during its grace period.
    pub fn accepted_secrets(&self, now_ms: i64) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let Some((previous, until_ms)) = &self.previous_secret {
            if now_ms < *until_ms {
                secrets.push(previous.as_str());
            }
        }
        secrets
    }
}

/// A new secret and how long the old one keeps working.
pub struct RotatedSecret {
    pub secret: String,
    pub previous_valid_until_ms: i64,
}

/// A client as operators list it: no secret.
#[derive(Clone, Debug)]
pub struct ClientSummary {
    pub id: ClientId,
    pub name: String,
    pub api_key: String,
    pub enabled: bool,
    pub callback_url: Option<String>,
    pub float: Money,
    pub reserved: Money,
    pub created_at_ms: i64,
}

impl std::fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("enabled", &self.enabled)
            .field("callback_url", &self.callback_url)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for NewClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewClient").field("id", &self.id).field("name", &self.name).finish_non_exhaustive()
    }
}

const CLIENT_COLUMNS: &str =
    "id, name, api_key, secret, previous_secret, previous_secret_expires_at_ms, enabled, callback_url";

pub(crate) fn float_account(client_id: &str) -> String {
    format!("float:{client_id}")
}

pub(crate) fn reserved_account(client_id: &str) -> String {
    format!("reserved:{client_id}")
}

/// What CPS owes billers for this client's approved payments.
pub(crate) fn payable_account(client_id: &str) -> String {
    format!("payable:{client_id}")
}

impl Store {
    /// Creates a client with fresh random credentials and its two ledger
    /// accounts (float and reserved), both at zero.
    pub async fn create_client(&self, name: &str) -> Result<NewClient, StoreError> {
        let client = NewClient {
            id: ClientId::generate(),
            name: name.to_string(),
            api_key: random_hex(API_KEY_BYTES),
            secret: random_hex(SECRET_BYTES),
        };
        let id = client.id.as_str();

        let mut transaction = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO clients (id, name, api_key, secret, enabled, created_at_ms) VALUES ($1, $2, $3, $4, 1, $5)",
        )
        .bind(id)
        .bind(&client.name)
        .bind(&client.api_key)
        .bind(&client.secret)
        .bind(crate::now_ms())
        .execute(&mut *transaction)
        .await?;
        sqlx::query(
            "INSERT INTO accounts (id, kind, client_id)
             VALUES ($1, 'client_float', $2), ($3, 'client_reserved', $4), ($5, 'biller_payable', $6)",
        )
        .bind(float_account(id))
        .bind(id)
        .bind(reserved_account(id))
        .bind(id)
        .bind(payable_account(id))
        .bind(id)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;

        Ok(client)
    }

    pub async fn find_client_by_api_key(&self, api_key: &str) -> Result<Option<ClientRecord>, StoreError> {
        if let Some(reader) = &self.sqlite_reader {
            return reader.read(|connection| {
                let query = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE api_key = ?1");
                connection.prepare_cached(&query)?.query_row([api_key], native_client_record).optional()
            });
        }

        let row = sqlx::query(&format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE api_key = $1"))
            .bind(api_key)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.map(|row| client_record(&row)))
    }

    /// Finds the oldest client with this name, used to create the demo client
    /// only once.
    pub async fn find_client_by_name(&self, name: &str) -> Result<Option<ClientRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {CLIENT_COLUMNS} FROM clients WHERE name = $1 ORDER BY created_at_ms, id LIMIT 1"
        ))
        .bind(name)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.map(|row| client_record(&row)))
    }

    pub async fn list_clients(&self) -> Result<Vec<ClientSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.name, c.api_key, c.enabled, c.callback_url, c.created_at_ms,
                    f.balance_cents AS float_cents, r.balance_cents AS reserved_cents
             FROM clients c
             JOIN accounts f ON f.id = 'float:' || c.id
             JOIN accounts r ON r.id = 'reserved:' || c.id
             ORDER BY c.created_at_ms, c.id",
        )
        .fetch_all(&self.reader)
        .await?;

        let clients = rows
            .iter()
            .map(|row| ClientSummary {
                id: ClientId::from_stored(row.get("id")),
                name: row.get("name"),
                api_key: row.get("api_key"),
                enabled: row.get::<i64, _>("enabled") == 1,
                callback_url: row.get("callback_url"),
                float: Money::from_cents(row.get("float_cents")),
                reserved: Money::from_cents(row.get("reserved_cents")),
                created_at_ms: row.get("created_at_ms"),
            })
            .collect();
        Ok(clients)
    }

    /// Returns the client's available float (not counting reserved amounts).
    pub async fn client_float(&self, client_id: &ClientId) -> Result<Money, StoreError> {
        let cents: i64 = sqlx::query_scalar("SELECT balance_cents FROM accounts WHERE id = $1")
            .bind(float_account(client_id.as_str()))
            .fetch_one(&self.reader)
            .await?;
        Ok(Money::from_cents(cents))
    }
}

impl Store {
    pub async fn find_client_by_id(&self, client_id: &ClientId) -> Result<Option<ClientRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE id = $1"))
            .bind(client_id.as_str())
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.map(|row| client_record(&row)))
    }

    /// Reads the client's available float and the amount reserved by its
    /// pending payments, together.
    pub async fn client_account(&self, client_id: &ClientId) -> Result<(Money, Money), StoreError> {
        let row = sqlx::query(
            "SELECT f.balance_cents AS float_cents, r.balance_cents AS reserved_cents
             FROM accounts f JOIN accounts r ON r.id = $2
             WHERE f.id = $1",
        )
        .bind(float_account(client_id.as_str()))
        .bind(reserved_account(client_id.as_str()))
        .fetch_one(&self.reader)
        .await?;
        Ok((Money::from_cents(row.get("float_cents")), Money::from_cents(row.get("reserved_cents"))))
    }

    /// Enables or disables a client. A disabled client's requests get 401
    /// `INVALID_CREDENTIALS`; its pending payments still settle.
    pub async fn set_client_enabled(&self, api_key: &str, enabled: bool) -> Result<ClientId, StoreError> {
        let _lock = self.lock_writes().await;
        let id: Option<String> = sqlx::query_scalar("UPDATE clients SET enabled = $1 WHERE api_key = $2 RETURNING id")
            .bind(i64::from(enabled))
            .bind(api_key)
            .fetch_optional(&self.writer)
            .await?;
        id.map(ClientId::from_stored).ok_or_else(|| StoreError::UnknownApiKey(api_key.to_string()))
    }

    /// Gives the client a new secret. The current one becomes the previous
    /// secret and keeps working for `grace_ms`, so the client can deploy the
    /// new one without failed requests. A rotation during a grace period ends
    /// the older secret at once.
    pub async fn rotate_secret(&self, api_key: &str, grace_ms: i64) -> Result<RotatedSecret, StoreError> {
        let rotated =
            RotatedSecret { secret: random_hex(SECRET_BYTES), previous_valid_until_ms: crate::now_ms() + grace_ms };
        let _lock = self.lock_writes().await;
        let updated = sqlx::query(
            "UPDATE clients
             SET previous_secret = secret, previous_secret_expires_at_ms = $1, secret = $2
             WHERE api_key = $3",
        )
        .bind(rotated.previous_valid_until_ms)
        .bind(&rotated.secret)
        .bind(api_key)
        .execute(&self.writer)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::UnknownApiKey(api_key.to_string()));
        }
        Ok(rotated)
    }

    /// Sets or clears (`None`) where the client's webhooks go. Events of
    /// operations finished while no URL was set are not sent later.
    pub async fn set_callback_url(&self, api_key: &str, url: Option<&str>) -> Result<(), StoreError> {
        let _lock = self.lock_writes().await;
        let updated = sqlx::query("UPDATE clients SET callback_url = $1 WHERE api_key = $2")
            .bind(url)
            .bind(api_key)
            .execute(&self.writer)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::UnknownApiKey(api_key.to_string()));
        }
        Ok(())
    }
}

fn client_record(row: &sqlx::any::AnyRow) -> ClientRecord {
    let previous_secret: Option<String> = row.get("previous_secret");
    let previous_until_ms: Option<i64> = row.get("previous_secret_expires_at_ms");
    ClientRecord {
        id: ClientId::from_stored(row.get("id")),
        name: row.get("name"),
        api_key: row.get("api_key"),
        secret: row.get("secret"),
        previous_secret: previous_secret.zip(previous_until_ms),
        enabled: row.get::<i64, _>("enabled") == 1,
        callback_url: row.get("callback_url"),
    }
}

/// [`client_record`] for a native SQLite row, in the same column order.
fn native_client_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<ClientRecord> {
    let previous_secret: Option<String> = row.get("previous_secret")?;
    let previous_until_ms: Option<i64> = row.get("previous_secret_expires_at_ms")?;
    Ok(ClientRecord {
        id: ClientId::from_stored(row.get("id")?),
        name: row.get("name")?,
        api_key: row.get("api_key")?,
        secret: row.get("secret")?,
        previous_secret: previous_secret.zip(previous_until_ms),
        enabled: row.get::<_, i64>("enabled")? == 1,
        callback_url: row.get("callback_url")?,
    })
}

fn random_hex(byte_count: usize) -> String {
    let mut bytes = vec![0_u8; byte_count];
    // The operating system's generator; without it no credential can be made.
    getrandom::fill(&mut bytes).expect("the operating system random generator is available");
    hex::encode(bytes)
}
