//! Command-line syntax, with help texts in the user's language.
//!
//! The commands are declared with clap's derive; their help texts come from
//! the Fluent files (`cli-…` keys) and replace the declared ones at start-up,
//! so Spanish is the default and `--lang en` or `LANG=en_…` gives English.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use cps_i18n::{message, Lang};

use crate::logging::LogFormat;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://cps.db";
pub const DEFAULT_URL: &str = "http://127.0.0.1:4004";

#[derive(Parser, Debug)]
#[command(name = "cps", version, disable_help_subcommand = true)]
pub struct Cli {
    /// cli-lang
    #[arg(long, global = true, value_name = "es|en")]
    pub lang: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// cli-serve
    Serve(ServeArgs),
    /// cli-migrate
    Migrate(DatabaseArgs),
    /// cli-client
    #[command(subcommand)]
    Client(ClientCommand),
    /// cli-call
    #[command(subcommand)]
    Call(CallCommand),
    /// cli-ledger
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// cli-operation
    #[command(subcommand)]
    Operation(OperationCommand),
    /// cli-catalog
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// cli-webhook
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// cli-report
    Report(ReportArgs),
    /// cli-settle
    Settle(SettleArgs),
    /// cli-biller-sim
    BillerSim(BillerSimArgs),
    /// cli-bench
    Bench(BenchArgs),
}

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// cli-bench-endpoint
    #[arg(long, value_enum, default_value = "pay")]
    pub endpoint: BenchEndpoint,
    /// cli-bench-connections
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// cli-bench-duration-secs
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub duration_secs: f64,
    /// cli-bench-rate
    #[arg(long, value_name = "REQUESTS_PER_SECOND")]
    pub rate: Option<f64>,
    /// cli-call-url
    #[arg(long, env = "CPS_URL", default_value = DEFAULT_URL)]
    pub url: String,
    /// cli-call-api-key
    #[arg(long, env = "CPS_API_KEY", required_unless_present = "credentials")]
    pub api_key: Option<String>,
    /// cli-call-api-secret
    #[arg(long, env = "CPS_API_SECRET", hide_env_values = true, required_unless_present = "credentials")]
    pub api_secret: Option<String>,
    /// cli-bench-credentials
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum BenchEndpoint {
    /// POST /cps/v2/operation/use/pay, 1.00 VES each with a new reference
    Pay,
    /// GET /cps/v2/list/basic_services
    Services,
}

#[derive(Args, Debug, Clone)]
pub struct BillerArgs {
    /// cli-biller-url
    #[arg(long, env = "CPS_BILLER_URL", value_name = "URL", conflicts_with = "billers")]
    pub biller_url: Option<String>,

    /// cli-billers
    #[arg(long, env = "CPS_BILLERS", value_name = "FILE")]
    pub billers: Option<PathBuf>,

    /// cli-serve-biller-timeout-ms
    #[arg(long, env = "CPS_BILLER_TIMEOUT_MS", default_value_t = 10_000, value_name = "MS")]
    pub biller_timeout_ms: u64,
}

#[derive(Args, Debug)]
pub struct SettleArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub biller: BillerArgs,

    /// cli-settle-after-ms
    #[arg(long, env = "CPS_SETTLE_AFTER_MS", default_value_t = 30_000, value_name = "MS")]
    pub settle_after_ms: u64,
}

#[derive(Args, Debug)]
pub struct BillerSimArgs {
    /// cli-serve-listen
    #[arg(long, default_value = "127.0.0.1:4100", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// cli-sim-latency-ms
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,
    /// cli-sim-error-rate
    #[arg(long, default_value_t = 0.0, value_name = "0..1", allow_negative_numbers = true)]
    pub error_rate: f64,
    /// cli-sim-timeout-rate
    #[arg(long, default_value_t = 0.0, value_name = "0..1", allow_negative_numbers = true)]
    pub timeout_rate: f64,
    /// cli-sim-timeout-ms
    #[arg(long, default_value_t = 30_000, value_name = "MS")]
    pub timeout_ms: u64,
    /// cli-sim-garbage-rate
    #[arg(long, default_value_t = 0.0, value_name = "0..1", allow_negative_numbers = true)]
    pub garbage_rate: f64,
    /// cli-sim-drop-rate
    #[arg(long, default_value_t = 0.0, value_name = "0..1", allow_negative_numbers = true)]
    pub drop_rate: f64,
    /// cli-sim-sandbox-timeout-ms
    #[arg(long, default_value_t = 30_000, value_name = "MS")]
    pub sandbox_timeout_ms: u64,
    /// cli-sim-seed
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// cli-database-url
    #[arg(long, env = "CPS_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, value_name = "URL")]
    pub database_url: String,

    /// cli-database-max-connections
    #[arg(long, env = "CPS_DATABASE_MAX_CONNECTIONS", default_value_t = 16, value_name = "N")]
    pub database_max_connections: u32,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// cli-serve-listen
    #[arg(long, env = "CPS_LISTEN", default_value = "127.0.0.1:4004", value_name = "ADDR")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub database: DatabaseArgs,

    /// cli-serve-catalog
    #[arg(long, env = "CPS_CATALOG", value_name = "FILE")]
    pub catalog: Option<PathBuf>,

    /// cli-serve-demo
    #[arg(long)]
    pub demo: bool,

    /// cli-serve-nonce-window-secs
    #[arg(long, env = "CPS_NONCE_WINDOW_SECS", default_value_t = 300, value_name = "SECONDS")]
    pub nonce_window_secs: u64,

    #[command(flatten)]
    pub biller: BillerArgs,

    /// cli-settle-after-ms
    #[arg(long, env = "CPS_SETTLE_AFTER_MS", default_value_t = 30_000, value_name = "MS")]
    pub settle_after_ms: u64,

    /// cli-settle-interval-ms
    #[arg(long, env = "CPS_SETTLE_INTERVAL_MS", default_value_t = 1_000, value_name = "MS")]
    pub settle_interval_ms: u64,

    /// cli-settle-give-up-after-secs
    #[arg(long, env = "CPS_SETTLE_GIVE_UP_AFTER_SECS", default_value_t = 86_400, value_name = "SECONDS")]
    pub settle_give_up_after_secs: u64,

    /// cli-catalog-refresh-ms
    #[arg(long, env = "CPS_CATALOG_REFRESH_MS", default_value_t = 2_000, value_name = "MS")]
    pub catalog_refresh_ms: u64,

    /// cli-serve-rate-limit-per-second
    #[arg(long, env = "CPS_RATE_LIMIT_PER_SECOND", default_value_t = cps_api::DEFAULT_RATE_PER_SECOND, value_name = "N")]
    pub rate_limit_per_second: u32,

    /// cli-serve-rate-limit-burst
    #[arg(long, env = "CPS_RATE_LIMIT_BURST", default_value_t = cps_api::DEFAULT_RATE_BURST, value_name = "N")]
    pub rate_limit_burst: u32,

    /// cli-serve-metrics-listen
    #[arg(long, env = "CPS_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,

    /// cli-serve-log-format
    #[arg(long, env = "CPS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto, value_name = "FORMAT")]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub webhooks: WebhookArgs,
}

#[derive(Args, Debug)]
pub struct WebhookArgs {
    /// cli-webhook-interval-ms
    #[arg(long, env = "CPS_WEBHOOK_INTERVAL_MS", default_value_t = 500, value_name = "MS")]
    pub webhook_interval_ms: u64,

    /// cli-webhook-timeout-ms
    #[arg(long, env = "CPS_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000, value_name = "MS")]
    pub webhook_timeout_ms: u64,

    /// cli-webhook-retry-initial-ms
    #[arg(long, env = "CPS_WEBHOOK_RETRY_INITIAL_MS", default_value_t = 5_000, value_name = "MS")]
    pub webhook_retry_initial_ms: u64,

    /// cli-webhook-retry-max-ms
    #[arg(long, env = "CPS_WEBHOOK_RETRY_MAX_MS", default_value_t = 3_600_000, value_name = "MS")]
    pub webhook_retry_max_ms: u64,

    /// cli-webhook-max-attempts
    #[arg(long, env = "CPS_WEBHOOK_MAX_ATTEMPTS", default_value_t = 15, value_name = "N",
          value_parser = clap::value_parser!(i64).range(1..=100))]
    pub webhook_max_attempts: i64,
}

#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// cli-client-create
    Create {
        /// cli-client-create-name
        #[arg(long)]
        name: String,
        /// cli-json
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// cli-client-credit
    Credit {
        /// cli-client-credit-api-key
        api_key: String,
        /// cli-client-credit-amount
        #[arg(allow_hyphen_values = true)]
        amount: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// cli-client-list
    List {
        /// cli-json
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// cli-client-disable
    Disable {
        /// cli-client-api-key
        api_key: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// cli-client-enable
    Enable {
        /// cli-client-api-key
        api_key: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// cli-client-rotate-secret
    RotateSecret {
        /// cli-client-api-key
        api_key: String,
        /// cli-client-grace-secs
        #[arg(long, default_value_t = 86_400, value_name = "SECONDS")]
        grace_secs: u64,
        /// cli-json
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// cli-client-callback
    Callback {
        /// cli-client-api-key
        api_key: String,
        /// cli-client-callback-url
        #[arg(long, value_name = "URL", required_unless_present = "clear", conflicts_with = "clear")]
        url: Option<String>,
        /// cli-client-callback-clear
        #[arg(long)]
        clear: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum CatalogCommand {
    /// cli-catalog-show
    Show {
        /// cli-serve-catalog
        #[arg(long, env = "CPS_CATALOG", value_name = "FILE")]
        catalog: Option<PathBuf>,
        /// cli-json
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// cli-catalog-set
    Set {
        /// cli-catalog-service-id
        service_id: i64,
        /// cli-catalog-min-amount
        #[arg(long, value_name = "AMOUNT")]
        min_amount: Option<String>,
        /// cli-catalog-max-amount
        #[arg(long, value_name = "AMOUNT")]
        max_amount: Option<String>,
        /// cli-catalog-enabled
        #[arg(long, value_name = "true|false")]
        enabled: Option<bool>,
        /// cli-catalog-can-get-balance
        #[arg(long, value_name = "true|false")]
        can_get_balance: Option<bool>,
        /// cli-serve-catalog
        #[arg(long, env = "CPS_CATALOG", value_name = "FILE")]
        catalog: Option<PathBuf>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// cli-catalog-reset
    Reset {
        /// cli-catalog-service-id
        service_id: i64,
        /// cli-serve-catalog
        #[arg(long, env = "CPS_CATALOG", value_name = "FILE")]
        catalog: Option<PathBuf>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum WebhookCommand {
    /// cli-webhook-list
    List {
        /// cli-webhook-client
        #[arg(long, value_name = "API_KEY")]
        client: Option<String>,
        /// cli-webhook-status
        #[arg(long, value_name = "pending|delivered|failed")]
        status: Option<String>,
        /// cli-webhook-limit
        #[arg(long, default_value_t = 50, value_name = "N")]
        limit: i64,
        /// cli-json
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// cli-webhook-retry
    Retry {
        /// cli-webhook-delivery-id
        delivery_id: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// cli-report-month
    #[arg(long, value_name = "YYYY-MM")]
    pub month: String,
    /// cli-report-tz
    #[arg(long, default_value = "America/Caracas", value_name = "ZONE")]
    pub tz: String,
    /// cli-report-format
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ReportFormat,
    /// cli-report-client
    #[arg(long, value_name = "API_KEY")]
    pub client: Option<String>,
    /// cli-serve-catalog
    #[arg(long, env = "CPS_CATALOG", value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ReportFormat {
    Csv,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum CallCommand {
    /// cli-call-pay
    Pay {
        /// cli-call-number
        #[arg(long)]
        number: String,
        /// cli-call-service
        #[arg(long)]
        service: i64,
        /// cli-call-amount
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// cli-call-reference
        #[arg(long)]
        reference: Option<String>,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// cli-call-balance
    Balance {
        /// cli-call-number
        #[arg(long)]
        number: String,
        /// cli-call-service
        #[arg(long)]
        service: i64,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// cli-call-services
    Services {
        /// cli-call-can-get-balance
        #[arg(long, value_name = "true|false")]
        can_get_balance: Option<bool>,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// cli-call-operation
    Operation {
        /// cli-call-operation-id
        #[arg(long, required_unless_present = "reference", conflicts_with = "reference")]
        id: Option<String>,
        /// cli-call-reference
        #[arg(long)]
        reference: Option<String>,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// cli-call-operations
    Operations {
        /// cli-call-operations-param
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// cli-call-account
    Account {
        #[command(flatten)]
        connection: ConnectionArgs,
    },
}

#[derive(Args, Debug, Clone)]
pub struct ConnectionArgs {
    /// cli-call-url
    #[arg(long, env = "CPS_URL", default_value = DEFAULT_URL)]
    pub url: String,
    /// cli-call-api-key
    #[arg(long, env = "CPS_API_KEY")]
    pub api_key: String,
    /// cli-call-api-secret
    #[arg(long, env = "CPS_API_SECRET", hide_env_values = true)]
    pub api_secret: String,
}

#[derive(Subcommand, Debug)]
pub enum OperationCommand {
    /// cli-operation-pending
    Pending {
        /// cli-json
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// cli-operation-show
    Show {
        /// cli-operation-id
        id: String,
        /// cli-json
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// cli-operation-refund
    Refund {
        /// cli-operation-id
        id: String,
        /// cli-operation-refund-reason
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum LedgerCommand {
    /// cli-ledger-check
    Check {
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// The language before the arguments are parsed, so help and parse errors can
/// use it: `--lang` wins, then `LC_ALL`, `LC_MESSAGES` and `LANG`; Spanish
/// otherwise.
pub fn language_from_environment() -> Lang {
    let arguments: Vec<String> = std::env::args().collect();
    let from_flag = arguments.iter().enumerate().find_map(|(index, argument)| {
        if let Some(value) = argument.strip_prefix("--lang=") {
            return Some(value.to_string());
        }
        (argument == "--lang").then(|| arguments.get(index + 1).cloned()).flatten()
    });
    if let Some(lang) = from_flag.as_deref().and_then(Lang::from_tag) {
        return lang;
    }
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.is_empty())
        .and_then(|value| Lang::from_tag(&value))
        .unwrap_or(Lang::Es)
}

/// Parses the arguments with help texts in `lang`; prints help or a usage
/// error and exits when the arguments ask for it.
pub fn parse(lang: Lang) -> Command {
    let command = localize(Cli::command(), lang);
    let matches = command.get_matches();
    match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli.command,
        Err(error) => error.exit(),
    }
}

/// Replaces each help text, which the declarations hold as a message key,
/// with the message in `lang`, and translates clap's section headings.
fn localize(command: clap::Command, lang: Lang) -> clap::Command {
    let translate = |text: Option<&clap::builder::StyledStr>| text.map(|key| message(lang, &key.to_string(), &[]));

    let about = translate(command.get_about());
    let mut command = command
        .mut_args(|argument| {
            let help = translate(argument.get_help());
            match help {
                Some(help) => argument.help(help),
                None => argument,
            }
        })
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(clap::Arg::new("help").short('h').long("help").action(clap::ArgAction::Help).help(message(
            lang,
            "cli-help",
            &[],
        )));
    if let Some(about) = about {
        command = command.about(about);
    }
    if command.get_name() == "cps" {
        command = command.arg(
            clap::Arg::new("version").short('V').long("version").action(clap::ArgAction::Version).help(message(
                lang,
                "cli-version",
                &[],
            )),
        );
    }
    let template = help_template(&command, lang);
    command = command.help_template(template);

    let names: Vec<String> = command.get_subcommands().map(|sub| sub.get_name().to_string()).collect();
    for name in names {
        command = command.mut_subcommand(name, |sub| localize(sub, lang));
    }
    command
}

/// A help layout with headings in `lang`, listing only the sections the
/// command has.
fn help_template(command: &clap::Command, lang: Lang) -> String {
    let heading = |key: &str| message(lang, key, &[]);
    let mut template = format!("{{about-with-newline}}\n{} {{usage}}\n", heading("cli-heading-usage"));
    if command.has_subcommands() {
        template.push_str(&format!("\n{}\n{{subcommands}}\n", heading("cli-heading-commands")));
    }
    if command.get_positionals().next().is_some() {
        template.push_str(&format!("\n{}\n{{positionals}}\n", heading("cli-heading-arguments")));
    }
    template.push_str(&format!("\n{}\n{{options}}\n", heading("cli-heading-options")));
    template
}
