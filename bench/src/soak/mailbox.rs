//! The soak's own mail sink: a real SMTP server on 127.0.0.1 that the service
//! delivers to through lettre, as it would to a relay. The protocol (commands,
//! replies, the DATA state, dot-unstuffing) is `mailin`'s state machine; this
//! file only moves lines between a tokio socket and it, and keeps each message
//! (decoded by `mail-parser`) by recipient, so a virtual user waits for its
//! own mail without scanning everyone's.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use mail_parser::MessageParser;
use mailin::{Action, Handler, Response, SessionBuilder};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// Longest line read at once (lettre keeps lines under 1000 bytes).
const MAX_LINE: u64 = 64 * 1024;

/// One delivered message.
#[derive(Debug)]
pub struct Mail {
    /// The envelope's recipients (`RCPT TO`), lower case.
    pub rcpt_to: Vec<String>,
    pub subject: String,
    /// The `Message-ID` header, when the sender set one.
    pub message_id: Option<String>,
    /// The first text/plain part, decoded.
    pub text: String,
}

impl Mail {
    fn parse(rcpt_to: Vec<String>, data: &[u8]) -> Self {
        let message = MessageParser::default().parse(data);
        let message = message.as_ref();
        Self {
            rcpt_to,
            subject: message
                .and_then(|m| m.subject())
                .unwrap_or_default()
                .to_owned(),
            message_id: message.and_then(|m| m.message_id()).map(str::to_owned),
            text: message
                .and_then(|m| m.body_text(0))
                .map(|t| t.into_owned())
                .unwrap_or_default(),
        }
    }

    /// The token of the first link in the text that contains `link` (the link
    /// up to and including `token=`).
    pub fn token_after(&self, link: &str) -> Option<&str> {
        self.text
            .split_whitespace()
            .find_map(|word| word.split_once(link).map(|(_, token)| token))
            .map(|token| token.trim_end_matches(['.', ',', ';', ')']))
            .filter(|token| !token.is_empty())
    }
}

/// Everything delivered so far, in order and by recipient.
#[derive(Default)]
pub struct Delivered {
    pub all: Vec<Arc<Mail>>,
    by_recipient: HashMap<String, Vec<Arc<Mail>>>,
}

impl Delivered {
    fn add(&mut self, mail: Mail) {
        let mail = Arc::new(mail);
        for to in &mail.rcpt_to {
            let list = self.by_recipient.entry(to.clone()).or_default();
            list.push(Arc::clone(&mail));
        }
        self.all.push(mail);
    }

    pub fn to(&self, address: &str) -> &[Arc<Mail>] {
        self.by_recipient
            .get(&address.to_lowercase())
            .map_or(&[], Vec::as_slice)
    }
}

/// The SMTP server: serves until dropped.
pub struct Mailbox {
    delivered: Arc<watch::Sender<Delivered>>,
    port: u16,
    accept: JoinHandle<()>,
}

impl Mailbox {
    /// Binds a free port on 127.0.0.1 and serves in the background.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let delivered = Arc::new(watch::Sender::new(Delivered::default()));
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&delivered)));
        Ok(Self {
            delivered,
            port,
            accept,
        })
    }

    /// `SMTP_URL` for the service (plain SMTP, no TLS, no AUTH).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The first mail to `address`, waiting at most `wait` for it.
    pub async fn first_to(&self, address: &str, wait: Duration) -> Option<Arc<Mail>> {
        let mut changes = self.delivered.subscribe();
        let arrived = changes.wait_for(|d| !d.to(address).is_empty());
        match tokio::time::timeout(wait, arrived).await {
            Ok(Ok(delivered)) => delivered.to(address).first().cloned(),
            _ => None,
        }
    }

    /// Runs `f` on everything delivered so far.
    pub fn with_delivered<T>(&self, f: impl FnOnce(&Delivered) -> T) -> T {
        f(&self.delivered.borrow())
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        // The connections live in a JoinSet owned by the accept task: aborting
        // it closes them too.
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, delivered: Arc<watch::Sender<Delivered>>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                // An I/O error ends that conversation; lettre retries the message.
                Ok((stream, _)) => {
                    connections.spawn(serve(stream, Arc::clone(&delivered)));
                }
                // Transient (the peer reset before accept): keep serving.
                Err(_) => tokio::task::yield_now().await,
            },
            // Reap finished conversations so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// One SMTP conversation: each line the client sends goes to mailin's session,
/// and its reply (if any) goes back.
async fn serve(stream: TcpStream, delivered: Arc<watch::Sender<Delivered>>) -> io::Result<()> {
    let peer = stream.peer_addr()?.ip();
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let mut session = SessionBuilder::new("soak.localhost").build(peer, Collector::new(delivered));
    writer.write_all(&session.greeting().buffer()?).await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .await?;
        if read == 0 {
            return Ok(());
        }
        let reply = session.process(&line);
        match reply.action {
            Action::NoReply => {}
            Action::Reply => writer.write_all(&reply.buffer()?).await?,
            Action::Close | Action::UpgradeTls => {
                writer.write_all(&reply.buffer()?).await?;
                return Ok(());
            }
        }
    }
}

/// mailin's handler for one conversation: gathers a message's data and keeps
/// the message when the client ends it.
struct Collector {
    delivered: Arc<watch::Sender<Delivered>>,
    rcpt_to: Vec<String>,
    data: Vec<u8>,
}

impl Collector {
    fn new(delivered: Arc<watch::Sender<Delivered>>) -> Self {
        Self {
            delivered,
            rcpt_to: Vec::new(),
            data: Vec::new(),
        }
    }
}

impl Handler for Collector {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.rcpt_to = to
            .iter()
            .map(|t| t.trim_matches(['<', '>', ' ']).to_lowercase())
            .collect();
        self.data.clear();
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mail = Mail::parse(std::mem::take(&mut self.rcpt_to), &self.data);
        self.data.clear();
        self.delivered.send_modify(|d| d.add(mail));
        mailin::response::OK
    }
}
