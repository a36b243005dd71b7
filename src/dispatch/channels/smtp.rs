//! Our SMTP client, built on lettre's connection: at most `pool_size` connections
//! per relay (more sends wait their turn), every stage within the stage timeout,
//! the whole send within the send deadline, and every failure classified by the
//! stage it happened at.
//!
//! | stage | relay-wide (pause the relay) | about the person |
//! |---|---|---|
//! | connect, greeting, EHLO | refused, silent, any reply | — |
//! | STARTTLS, AUTH | our configuration (logged loudly) | — |
//! | MAIL FROM | any refusal, silence, a closed connection | — |
//! | RCPT TO | `421`, silence, a closed connection | other `4xx` retry later; `5xx` refused for good |
//! | DATA, the message | `421`, `451`, `452`, silence, a closed connection | other `4xx` retry; `5xx` refused |
//!
//! lettre's own transport applies its timeout to the TCP connect only and has no
//! deadline for a send; a relay that accepts the connection and never greets would
//! hold a send for ever. Here every await has a deadline.

use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Severity;
use secrecy::ExposeSecret;
use tokio::sync::Semaphore;

use crate::dispatch::settings::{SmtpTls, SmtpUrl};

/// How one send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Failure {
    /// The relay as a whole: down, silent, throttling, closing.
    Relay(String),
    /// This recipient, for now (mailbox full, greylisted).
    Person(String),
    /// This recipient, for good (no such mailbox).
    Refused(String),
    /// Our configuration: TLS, credentials, the sender address.
    Configuration(String),
}

/// A connection waiting in the pool, and since when.
struct Idle {
    conn: AsyncSmtpConnection,
    since: Instant,
}

/// Idle connections older than this are checked with NOOP before reuse.
const STALE_AFTER: Duration = Duration::from_secs(10);

/// One relay: its address, security, credentials and connection pool.
pub(super) struct SmtpRelay {
    host: String,
    port: u16,
    tls: SmtpTls,
    tls_parameters: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: ClientId,
    stage_timeout: Duration,
    send_timeout: Duration,
    idle: Mutex<Vec<Idle>>,
    slots: Semaphore,
}

impl SmtpRelay {
    /// A relay with at most `pool_size` connections open at once.
    pub(super) fn new(
        url: &SmtpUrl,
        pool_size: u32,
        stage_timeout: Duration,
        send_timeout: Duration,
    ) -> anyhow::Result<Self> {
        let tls_parameters = match url.tls {
            SmtpTls::None => None,
            SmtpTls::StartTls | SmtpTls::Tls => Some(TlsParameters::new(url.host.clone())?),
        };
        let credentials = url.user.as_ref().map(|user| {
            let password = url
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned())
                .unwrap_or_default();
            Credentials::new(user.clone(), password)
        });
        Ok(Self {
            host: url.host.clone(),
            port: url.port,
            tls: url.tls,
            tls_parameters,
            credentials,
            hello: ClientId::default(),
            stage_timeout,
            send_timeout,
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(pool_size.max(1) as usize),
        })
    }

    /// Sends one message to its envelope's recipients, within the send deadline.
    pub(super) async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), Failure> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| Failure::Relay("smtp: the relay pool is closed".into()))?;
        match tokio::time::timeout(self.send_timeout, self.transact(envelope, message)).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Relay(format!(
                "smtp: the send took longer than {} s",
                self.send_timeout.as_secs()
            ))),
        }
    }

    /// One transaction, on an idle connection when one is still good, else a new one.
    async fn transact(&self, envelope: &Envelope, message: &[u8]) -> Result<(), Failure> {
        if let Some(mut conn) = self.take_idle().await {
            match self.deliver(&mut conn, envelope, message).await {
                Err(Step::Stale) => {} // closed by the relay while idle: connect afresh
                result => return self.finish(conn, result).await,
            }
        }
        let mut conn = self.connect().await?;
        let result = self.deliver(&mut conn, envelope, message).await;
        self.finish(conn, result).await
    }

    /// Returns a connection that can carry on to the pool; closes one that cannot.
    async fn finish(
        &self,
        mut conn: AsyncSmtpConnection,
        result: Result<(), Step>,
    ) -> Result<(), Failure> {
        let failure = match result {
            Ok(()) => None,
            Err(Step::Stale) => Some(Failure::Relay(
                "smtp: the relay closed the connection".into(),
            )),
            Err(Step::Failed(f)) => Some(f),
        };
        let reusable = match &failure {
            None => true,
            Some(Failure::Person(_) | Failure::Refused(_)) => {
                self.stage(conn.command(Rset)).await.is_ok()
            }
            Some(_) => false,
        };
        if reusable && !conn.has_broken() {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Idle {
                    conn,
                    since: Instant::now(),
                });
        } else {
            conn.abort().await;
        }
        failure.map_or(Ok(()), Err)
    }

    async fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        loop {
            let idle = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()?;
            let mut conn = idle.conn;
            if idle.since.elapsed() < STALE_AFTER {
                return Some(conn);
            }
            let alive = tokio::time::timeout(self.stage_timeout, conn.test_connected()).await;
            if alive == Ok(true) {
                return Some(conn);
            }
            conn.abort().await;
        }
    }

    /// Opens the connection and reads the greeting and the EHLO answer. Plain and
    /// STARTTLS connections are opened by us with `TCP_NODELAY`: without it the
    /// closing dot of each message waits for the relay's delayed ACK (about 40 ms a
    /// message on one connection). Implicit TLS goes through lettre's connector.
    async fn open(&self) -> Result<AsyncSmtpConnection, StageError> {
        if let (SmtpTls::Tls, Some(parameters)) = (self.tls, &self.tls_parameters) {
            let opening = AsyncSmtpConnection::connect_tokio1(
                (self.host.as_str(), self.port),
                Some(self.stage_timeout),
                &self.hello,
                Some(parameters.clone()),
                None,
            );
            return self.stage(opening).await;
        }
        let stream = match tokio::time::timeout(
            self.stage_timeout,
            tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(StageError::Io(e)),
            Err(_) => return Err(StageError::Timeout),
        };
        stream.set_nodelay(true).map_err(StageError::Io)?;
        self.stage(AsyncSmtpConnection::connect_with_transport(
            Box::new(stream),
            &self.hello,
        ))
        .await
    }

    /// Connects, is greeted, secures and logs in.
    async fn connect(&self) -> Result<AsyncSmtpConnection, Failure> {
        let mut conn = match self.open().await {
            Err(StageError::Timeout) => {
                return Err(Failure::Relay(format!(
                    "smtp: no greeting within {} s",
                    self.stage_timeout.as_secs()
                )));
            }
            Err(StageError::Smtp(e)) if e.is_tls() => {
                return Err(Failure::Configuration(format!(
                    "smtp TLS with the relay failed: {e}"
                )));
            }
            Err(StageError::Smtp(e)) => return Err(Failure::Relay(format!("smtp: {}", shown(&e)))),
            Err(StageError::Io(e)) => {
                return Err(Failure::Relay(format!(
                    "smtp: cannot connect ({})",
                    e.kind()
                )));
            }
            Ok(conn) => conn,
        };
        if let (SmtpTls::StartTls, Some(parameters)) = (self.tls, &self.tls_parameters) {
            if !conn.can_starttls() {
                conn.abort().await;
                return Err(Failure::Configuration(
                    "smtp: the relay does not offer STARTTLS".into(),
                ));
            }
            if let Err(e) = self
                .stage(conn.starttls(parameters.clone(), &self.hello))
                .await
            {
                conn.abort().await;
                return Err(Failure::Configuration(format!(
                    "smtp STARTTLS failed: {}",
                    e.shown()
                )));
            }
        }
        if let Some(credentials) = &self.credentials {
            let login = conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials);
            if let Err(e) = self.stage(login).await {
                conn.abort().await;
                return Err(match e.code() {
                    Some(code) if code.starts_with('4') => {
                        Failure::Relay(format!("smtp {code}: login deferred by the relay"))
                    }
                    _ => Failure::Configuration(format!(
                        "smtp: the relay refused our credentials ({})",
                        e.shown()
                    )),
                });
            }
        }
        Ok(conn)
    }

    /// MAIL FROM, RCPT TO, DATA and the message, each within the stage timeout.
    async fn deliver(
        &self,
        conn: &mut AsyncSmtpConnection,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<(), Step> {
        let mut parameters = Vec::new();
        if !message.is_ascii() {
            if !conn.server_info().supports_feature(Extension::EightBitMime) {
                return Err(Step::refused("smtp: the relay cannot carry 8-bit text"));
            }
            parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let non_ascii = envelope
            .to()
            .iter()
            .any(|a| !AsRef::<str>::as_ref(a).is_ascii());
        if non_ascii {
            if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
                return Err(Step::refused(
                    "smtp: the relay cannot carry an internationalised address",
                ));
            }
            parameters.push(MailParameter::SmtpUtfEight);
        }
        let mail = self.stage(conn.command(Mail::new(envelope.from().cloned(), parameters)));
        match mail.await {
            Ok(_) => {}
            Err(StageError::Smtp(e)) if e.status().is_none() && !e.is_timeout() => {
                return Err(Step::Stale);
            }
            Err(e) if e.code().is_some_and(|c| c.starts_with('5')) => {
                return Err(Step::Failed(Failure::Configuration(format!(
                    "smtp {}: the relay refused our sender address",
                    e.code().unwrap_or_default()
                ))));
            }
            Err(e) => return Err(Step::relay("MAIL FROM", &e)),
        }
        for to in envelope.to() {
            match self
                .stage(conn.command(Rcpt::new(to.clone(), Vec::new())))
                .await
            {
                Ok(_) => {}
                Err(e) => return Err(recipient_failure(&e)),
            }
        }
        if let Err(e) = self.stage(conn.command(Data)).await {
            return Err(Step::relay("DATA", &e));
        }
        match self.stage(conn.message(message)).await {
            Ok(_) => Ok(()),
            Err(e) => Err(data_failure(&e)),
        }
    }

    /// Runs one stage within the stage timeout.
    async fn stage<T>(
        &self,
        stage: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
    ) -> Result<T, StageError> {
        match tokio::time::timeout(self.stage_timeout, stage).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(StageError::Smtp(e)),
            Err(_) => Err(StageError::Timeout),
        }
    }
}

/// How a transaction on one connection ended badly.
enum Step {
    /// The connection was dead before the first command (reused from the pool).
    Stale,
    /// A classified failure.
    Failed(Failure),
}

impl Step {
    fn refused(why: &str) -> Self {
        Step::Failed(Failure::Refused(why.to_owned()))
    }

    fn relay(stage: &str, e: &StageError) -> Self {
        Step::Failed(Failure::Relay(format!("smtp {stage}: {}", e.shown())))
    }
}

/// A stage that failed: an SMTP error, a connection that could not be opened, or
/// silence past the stage timeout.
enum StageError {
    Smtp(lettre::transport::smtp::Error),
    Io(std::io::Error),
    Timeout,
}

impl StageError {
    /// The reply code, when the relay answered.
    fn code(&self) -> Option<String> {
        match self {
            StageError::Smtp(e) => e.status().map(|c| c.to_string()),
            StageError::Io(_) | StageError::Timeout => None,
        }
    }

    fn severity(&self) -> Option<Severity> {
        match self {
            StageError::Smtp(e) => e.status().map(|c| c.severity),
            StageError::Io(_) | StageError::Timeout => None,
        }
    }

    /// What to write in the ledger: the code or what went wrong, never an address.
    fn shown(&self) -> String {
        match self {
            StageError::Smtp(e) => shown(e),
            StageError::Io(e) => format!("connection failed ({})", e.kind()),
            StageError::Timeout => "no answer in time".into(),
        }
    }
}

/// An SMTP error as the ledger shows it: its reply code, or its kind.
fn shown(e: &lettre::transport::smtp::Error) -> String {
    match e.status() {
        Some(code) => format!("{code} from the relay"),
        None if e.is_timeout() => "no answer in time".into(),
        None => format!("connection failed ({e})"),
    }
}

/// A refused recipient: `421` closes the relay, other `4xx` are the person's to
/// retry, `5xx` refuse them for good.
fn recipient_failure(e: &StageError) -> Step {
    match (e.code().as_deref(), e.severity()) {
        (Some("421"), _) | (None, _) => Step::relay("RCPT TO", e),
        (Some(code), Some(Severity::TransientNegativeCompletion)) => Step::Failed(Failure::Person(
            format!("smtp {code}: the relay deferred this recipient"),
        )),
        (Some(code), _) => Step::Failed(Failure::Refused(format!(
            "smtp {code}: the relay refused this recipient"
        ))),
    }
}

/// A refused message: `421`, `451` and `452` (the relay's own trouble) and silence
/// are the relay's; other `4xx` retry the person; `5xx` refuse the message.
fn data_failure(e: &StageError) -> Step {
    match (e.code().as_deref(), e.severity()) {
        (Some("421" | "451" | "452"), _) | (None, _) => Step::relay("data", e),
        (Some(code), Some(Severity::TransientNegativeCompletion)) => Step::Failed(Failure::Person(
            format!("smtp {code}: the relay deferred the message"),
        )),
        (Some(code), _) => Step::Failed(Failure::Refused(format!(
            "smtp {code}: the relay refused the message"
        ))),
    }
}
