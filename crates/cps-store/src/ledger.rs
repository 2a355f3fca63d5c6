//! The double-entry ledger: every movement of money is a posting from one
//! account to another, written in the same transaction as the balances it
//! changes.

use cps_domain::Money;
use sqlx::{AnyConnection, Row};

use crate::clients::float_account;
use crate::database::Store;
use crate::error::StoreError;

/// The reason money moved.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PostingKind {
    /// Funding to a client's float, by an operator.
    Credit,
    /// Float to reserved, when a payment is accepted.
    Reserve,
    /// Reserved to biller payable, when the biller approves.
    Capture,
    /// Reserved back to float, when the biller rejects.
    Release,
    /// Biller payable back to float, when an operator refunds an approved
    /// operation.
    Refund,
}

impl PostingKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PostingKind::Credit => "credit",
            PostingKind::Reserve => "reserve",
            PostingKind::Capture => "capture",
            PostingKind::Release => "release",
            PostingKind::Refund => "refund",
        }
    }
}

/// The result of checking the ledger against the account balances.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerCheck {
    /// The sum of all account balances; zero in a consistent ledger.
    pub balance_sum: Money,
    /// Accounts whose stored balance differs from the sum of their postings.
    pub mismatched_accounts: Vec<String>,
    /// Client accounts with a negative balance.
    pub negative_accounts: Vec<String>,
}

impl LedgerCheck {
    pub fn is_consistent(&self) -> bool {
        self.balance_sum == Money::ZERO && self.mismatched_accounts.is_empty() && self.negative_accounts.is_empty()
    }
}

/// Moves `amount` from one account to another and records the posting. The
/// caller's transaction decides whether it happened.
///
/// A debit that would take a client account below zero fails on the table's
/// CHECK constraint, which rolls the whole transaction back.
pub(crate) async fn post(
    connection: &mut AnyConnection,
    kind: PostingKind,
    from_account: &str,
    to_account: &str,
    amount: Money,
    operation_id: Option<&str>,
    now_ms: i64,
) -> Result<(), StoreError> {
    add_to_account(&mut *connection, from_account, -amount.cents()).await?;
    add_to_account(&mut *connection, to_account, amount.cents()).await?;
    insert_posting(connection, kind, from_account, to_account, amount, operation_id, now_ms).await
}

/// Adds `amount` (negative to subtract) to an account and returns its new
/// balance: one half of a [`post`].
async fn add_to_account(connection: &mut AnyConnection, account: &str, amount_cents: i64) -> Result<Money, StoreError> {
    let cents: i64 = sqlx::query_scalar(
        "UPDATE accounts SET balance_cents = balance_cents + $1 WHERE id = $2 RETURNING balance_cents",
    )
    .bind(amount_cents)
    .bind(account)
    .fetch_one(&mut *connection)
    .await?;
    Ok(Money::from_cents(cents))
}

/// Records a posting whose two balance changes [`post`] has made.
async fn insert_posting(
    connection: &mut AnyConnection,
    kind: PostingKind,
    from_account: &str,
    to_account: &str,
    amount: Money,
    operation_id: Option<&str>,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO postings (kind, from_account, to_account, amount_cents, operation_id, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(kind.as_str())
    .bind(from_account)
    .bind(to_account)
    .bind(amount.cents())
    .bind(operation_id)
    .bind(now_ms)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Locks the client's float row until the transaction ends (`lock` is the
/// backend's row-lock clause) and returns the balance.
pub(crate) async fn lock_float(
    connection: &mut AnyConnection,
    client_id: &str,
    lock: &str,
) -> Result<Money, StoreError> {
    let cents: i64 = sqlx::query_scalar(&format!("SELECT balance_cents FROM accounts WHERE id = $1{lock}"))
        .bind(float_account(client_id))
        .fetch_one(&mut *connection)
        .await?;
    Ok(Money::from_cents(cents))
}

pub(crate) async fn float_balance(connection: &mut AnyConnection, client_id: &str) -> Result<Money, StoreError> {
    let cents: i64 = sqlx::query_scalar("SELECT balance_cents FROM accounts WHERE id = $1")
        .bind(float_account(client_id))
        .fetch_one(&mut *connection)
        .await?;
    Ok(Money::from_cents(cents))
}

impl Store {
    /// Credits a client's float from funding and returns the new float.
    /// Fails with `UnknownApiKey` when no client has `api_key`.
    pub async fn credit_client(&self, api_key: &str, amount: Money) -> Result<Money, StoreError> {
        let mut transaction = self.begin_write().await?;

        let client_id: Option<String> = sqlx::query_scalar("SELECT id FROM clients WHERE api_key = $1")
            .bind(api_key)
            .fetch_optional(&mut *transaction)
            .await?;
        let client_id = client_id.ok_or_else(|| StoreError::UnknownApiKey(api_key.to_string()))?;

        let balance = lock_float(&mut transaction, &client_id, self.lock_rows()).await?;
        if balance.checked_add(amount).is_none_or(|total| total.cents() > i64::MAX / 4) {
            return Err(StoreError::BalanceOverflow { balance });
        }

        let now = crate::now_ms();
        post(&mut transaction, PostingKind::Credit, "funding", &float_account(&client_id), amount, None, now).await?;
        let balance = float_balance(&mut transaction, &client_id).await?;
        transaction.commit().await?;
        Ok(balance)
    }

    /// Checks that balances sum to zero, that each account's balance equals
    /// the sum of its postings, and that no client account is negative.
    pub async fn check_ledger(&self) -> Result<LedgerCheck, StoreError> {
        // PostgreSQL sums BIGINT as NUMERIC; the cast brings it back to i64.
        let balance_sum: i64 =
            sqlx::query_scalar("SELECT CAST(COALESCE(SUM(balance_cents), 0) AS BIGINT) FROM accounts")
                .fetch_one(&self.reader)
                .await?;

        let mismatched = sqlx::query(
            "SELECT a.id
             FROM accounts a
             LEFT JOIN (SELECT to_account AS id, SUM(amount_cents) AS cents FROM postings GROUP BY to_account) incoming
                    ON incoming.id = a.id
             LEFT JOIN (SELECT from_account AS id, SUM(amount_cents) AS cents FROM postings GROUP BY from_account) outgoing
                    ON outgoing.id = a.id
             WHERE a.balance_cents <> COALESCE(incoming.cents, 0) - COALESCE(outgoing.cents, 0)
             ORDER BY a.id",
        )
        .fetch_all(&self.reader)
        .await?;

        let negative = sqlx::query(
            "SELECT id FROM accounts WHERE kind IN ('client_float', 'client_reserved') AND balance_cents < 0 ORDER BY id",
        )
        .fetch_all(&self.reader)
        .await?;

        Ok(LedgerCheck {
            balance_sum: Money::from_cents(balance_sum),
            mismatched_accounts: mismatched.iter().map(|row| row.get("id")).collect(),
            negative_accounts: negative.iter().map(|row| row.get("id")).collect(),
        })
    }
}
