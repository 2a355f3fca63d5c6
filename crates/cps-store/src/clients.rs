//! Clients and their credentials.

use cps_domain::{ClientId, Money};
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
    pub enabled: bool,
}

/// A client as operators list it: no secret.
#[derive(Clone, Debug)]
pub struct ClientSummary {
    pub id: ClientId,
    pub name: String,
    pub api_key: String,
    pub enabled: bool,
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
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for NewClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewClient").field("id", &self.id).field("name", &self.name).finish_non_exhaustive()
    }
}

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
        let row = sqlx::query("SELECT id, name, api_key, secret, enabled FROM clients WHERE api_key = $1")
            .bind(api_key)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.map(|row| client_record(&row)))
    }

    /// Finds the oldest client with this name, used to create the demo client
    /// only once.
    pub async fn find_client_by_name(&self, name: &str) -> Result<Option<ClientRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, api_key, secret, enabled FROM clients WHERE name = $1 ORDER BY created_at_ms, id LIMIT 1",
        )
        .bind(name)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.map(|row| client_record(&row)))
    }

    pub async fn list_clients(&self) -> Result<Vec<ClientSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.name, c.api_key, c.enabled, c.created_at_ms,
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

fn client_record(row: &sqlx::any::AnyRow) -> ClientRecord {
    ClientRecord {
        id: ClientId::from_stored(row.get("id")),
        name: row.get("name"),
        api_key: row.get("api_key"),
        secret: row.get("secret"),
        enabled: row.get::<i64, _>("enabled") == 1,
    }
}

fn random_hex(byte_count: usize) -> String {
    let mut bytes = vec![0_u8; byte_count];
    // The operating system's generator; without it no credential can be made.
    getrandom::fill(&mut bytes).expect("the operating system random generator is available");
    hex::encode(bytes)
}
