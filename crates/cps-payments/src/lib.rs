//! The pay flow: exactly one debit per payment, whatever the biller does.
//!
//! 1. Store the operation as `pending` and reserve its amount from the
//!    client's float, in one transaction.
//! 2. Call the biller with the operation id as its idempotency key, under a
//!    deadline.
//! 3. On a definite answer, finalize: capture on approval, release on
//!    rejection. On a timeout or an unreadable answer, leave it `pending`: it
//!    is settled later by asking the biller, never by paying again.
//! 4. The [`Settler`] asks the biller about `pending` operations (left by a
//!    timeout or by a crash between steps 1 and 3) and finalizes them.

mod balance;
mod live_catalog;
mod pay;
mod settler;
mod view;
mod webhooks;

pub use balance::{BalanceError, BalanceQuery};
pub use live_catalog::LiveCatalog;
pub use pay::{PaymentCommand, PaymentResult, Payments};
pub use settler::{SettleReport, Settler, SettlerConfig};
pub use view::OperationView;
pub use webhooks::{WebhookConfig, WebhookDispatcher};
