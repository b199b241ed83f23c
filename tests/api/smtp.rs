//! A tiny but real SMTP server for integration tests.
//!
//! The service under test sends mail through `lettre` (plain SMTP, no TLS, no
//! AUTH). Tests start an [`SmtpServer`] on `127.0.0.1:0`, point the service at
//! [`SmtpServer::url`], and then wait for the mail with [`SmtpServer::wait_for`],
//! [`SmtpServer::wait_for_subject`] or [`SmtpServer::wait_for_message`]. Each
//! message is decoded by `mail-parser` into a [`ReceivedMail`]: subject,
//! recipients and the text and HTML parts.
//!
//! Protocol: greeting `220`, `EHLO` (multi-line `250`: 8BITMIME, SMTPUTF8,
//! PIPELINING; no STARTTLS, no AUTH), `HELO`, `MAIL FROM`, `RCPT TO`, `DATA`
//! (`354`, then read up to the line `.`, dot-unstuffed), `RSET`, `NOOP`,
//! `QUIT` (`221`, close); anything else gets `502`. Several messages per
//! connection and several concurrent connections are supported. The server
//! task never panics on malformed input or client disconnects; it stops when
//! the [`SmtpServer`] is dropped.

use std::fmt::Write as _;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mail_parser::{MessageParser, PartType};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// Longest command line accepted (bytes, including CRLF).
const MAX_COMMAND_LINE: u64 = 64 * 1024;
/// Longest chunk read at once while receiving DATA; longer lines are read in pieces.
const MAX_DATA_CHUNK: u64 = 1024 * 1024;
/// Largest message accepted (bytes); bigger ones are read to the end and refused with 552.
const MAX_MESSAGE_SIZE: usize = 32 * 1024 * 1024;

/// A message accepted by the [`SmtpServer`], decoded by `mail-parser`.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// Reverse-path from `MAIL FROM`, without `<` `>` (empty for the null path `<>`).
    pub mail_from: String,
    /// Forward-paths from each `RCPT TO`, without `<` `>`.
    pub rcpt_to: Vec<String>,
    /// The `Subject` header, decoded (empty when there is none).
    pub subject: String,
    /// The addresses of the `To` header.
    pub to: Vec<String>,
    /// The first `text/plain` part, decoded (empty when there is none).
    pub text: String,
    /// The first `text/html` part, decoded (empty when there is none).
    pub html: String,
}

impl ReceivedMail {
    fn parse(mail_from: String, rcpt_to: Vec<String>, data: &[u8]) -> ReceivedMail {
        let mut mail = ReceivedMail {
            mail_from,
            rcpt_to,
            subject: String::new(),
            to: Vec::new(),
            text: String::new(),
            html: String::new(),
        };
        let Some(message) = MessageParser::default().parse(data) else {
            return mail;
        };
        mail.subject = message.subject().unwrap_or_default().to_owned();
        mail.to = message
            .to()
            .into_iter()
            .flat_map(|to| to.iter())
            .filter_map(|addr| addr.address())
            .map(str::to_owned)
            .collect();
        for part in &message.parts {
            match &part.body {
                PartType::Text(text) if mail.text.is_empty() => mail.text = text.to_string(),
                PartType::Html(html) if mail.html.is_empty() => mail.html = html.to_string(),
                _ => {}
            }
        }
        mail
    }

    /// Whether `address` is among the recipients (case-insensitive).
    pub fn is_to(&self, address: &str) -> bool {
        self.rcpt_to
            .iter()
            .any(|r| r.eq_ignore_ascii_case(address.trim()))
    }

    /// The first URL in the text part that contains `needle`. The text part
    /// carries every link the HTML part has, in plain form (no HTML entities).
    pub fn find_link(&self, needle: &str) -> Option<String> {
        self.text
            .split_whitespace()
            .filter(|word| word.starts_with("http://") || word.starts_with("https://"))
            .map(|url| url.trim_end_matches(['.', ',', ';', ':', '!', '?', ')']))
            .find(|url| url.contains(needle))
            .map(str::to_owned)
    }
}

/// Everything the server tasks share with the [`SmtpServer`] handle.
struct Shared {
    /// All received messages; the watch channel wakes the waiters on every new one.
    mail: watch::Sender<Vec<ReceivedMail>>,
    /// Simulated outage (see [`SmtpServer::set_down`]).
    down: AtomicBool,
}

impl Shared {
    fn is_down(&self) -> bool {
        self.down.load(Ordering::SeqCst)
    }
}

/// A local SMTP server that records every message it receives.
///
/// Serves on `127.0.0.1:<port>` in a tokio task until dropped.
pub struct SmtpServer {
    port: u16,
    shared: Arc<Shared>,
    accept_task: JoinHandle<()>,
}

impl std::fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServer")
            .field("port", &self.port)
            .field("down", &self.shared.is_down())
            .field("messages", &self.shared.mail.borrow().len())
            .finish()
    }
}

impl SmtpServer {
    /// Binds 127.0.0.1:0 and serves in a tokio task until dropped.
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("SmtpServer: cannot bind 127.0.0.1:0: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("SmtpServer: cannot read the bound address: {e}"))
            .port();
        let shared = Arc::new(Shared {
            mail: watch::Sender::new(Vec::new()),
            down: AtomicBool::new(false),
        });
        let accept_task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        SmtpServer {
            port,
            shared,
            accept_task,
        }
    }

    /// smtp URL for lettre's from_url form: format!("smtp://127.0.0.1:{port}")
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// All messages received so far.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.shared.mail.borrow().clone()
    }

    /// Waits (no sleeping loops: use tokio::sync::Notify or watch) until at
    /// least `n` messages have arrived, or panics with a clear message after
    /// `timeout`. Returns all messages received so far (at least `n`).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let mut rx = self.shared.mail.subscribe();
        let waited = tokio::time::timeout(timeout, async {
            match rx.wait_for(|mail| mail.len() >= n).await {
                Ok(mail) => Some(mail.clone()),
                // Cannot happen while `self` holds the sender; reported below.
                Err(_) => None,
            }
        })
        .await;
        match waited {
            Ok(Some(mail)) => mail,
            Ok(None) => panic!("SmtpServer::wait_for({n}): the server's mailbox was closed"),
            Err(_) => panic!(
                "SmtpServer::wait_for: expected at least {n} message(s) within {timeout:?}, \
                 but only {} arrived{}",
                self.shared.mail.borrow().len(),
                self.summary()
            ),
        }
    }

    /// Waits for the first message to `address` whose subject contains `subject`.
    pub async fn wait_for_subject(
        &self,
        address: &str,
        subject: &str,
        timeout: Duration,
    ) -> ReceivedMail {
        let what = format!("to {address:?} with subject containing {subject:?}");
        let matches = |m: &ReceivedMail| m.is_to(address) && m.subject.contains(subject);
        self.wait_for_message(&what, matches, timeout).await
    }

    /// Waits for the first message that `matches`; panics after `timeout`,
    /// describing the wait as `what`.
    pub async fn wait_for_message(
        &self,
        what: &str,
        matches: impl Fn(&ReceivedMail) -> bool,
        timeout: Duration,
    ) -> ReceivedMail {
        let find = |mail: &[ReceivedMail]| mail.iter().find(|m| matches(m)).cloned();
        let mut rx = self.shared.mail.subscribe();
        let waited = tokio::time::timeout(timeout, async {
            match rx.wait_for(|mail| find(mail).is_some()).await {
                Ok(mail) => find(&mail),
                Err(_) => None,
            }
        })
        .await;
        match waited {
            Ok(Some(mail)) => mail,
            Ok(None) => panic!("SmtpServer: waiting for a message {what}: the mailbox was closed"),
            Err(_) => panic!(
                "SmtpServer: no message {what} arrived within {timeout:?}{}",
                self.summary()
            ),
        }
    }

    /// Makes the server answer every new connection with "421 service not
    /// available" and close (simulates an outage); `set_down(false)` restores it.
    ///
    /// While down, connections that are already open (lettre keeps a pool)
    /// also answer their next command with 421 and close, so a pooled
    /// connection cannot bypass the outage.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// One line per received message, for panic messages.
    fn summary(&self) -> String {
        let mail = self.shared.mail.borrow();
        if mail.is_empty() {
            return " (no messages received)".to_string();
        }
        let mut out = String::from("; received:");
        for (i, m) in mail.iter().enumerate() {
            let _ = write!(
                out,
                "\n  #{i}: from <{}> to {:?}, subject {:?}",
                m.mail_from, m.rcpt_to, m.subject
            );
        }
        out
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        // The connection tasks live in a JoinSet owned by the accept task, so
        // aborting it closes every open connection too.
        self.accept_task.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(handle_connection(stream, Arc::clone(&shared)));
                }
                // Transient (e.g. the peer reset before accept); keep serving.
                Err(_) => tokio::task::yield_now().await,
            },
            // Reap finished connections so the set does not grow forever.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn handle_connection(stream: TcpStream, shared: Arc<Shared>) {
    // I/O errors (client went away, reset, ...) just end the session.
    let _ = serve(stream, &shared).await;
}

/// The envelope of the transaction in progress.
#[derive(Default)]
struct Envelope {
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

const REPLY_DOWN: &[u8] = b"421 service not available\r\n";

async fn serve(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);

    if shared.is_down() {
        writer.write_all(REPLY_DOWN).await?;
        let _ = writer.shutdown().await;
        return Ok(());
    }
    writer.write_all(b"220 localhost ESMTP test\r\n").await?;

    let mut envelope = Envelope::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_COMMAND_LINE)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(()); // client closed
        }
        if !line.ends_with(b"\n") {
            if n as u64 >= MAX_COMMAND_LINE {
                writer.write_all(b"500 5.5.2 line too long\r\n").await?;
            }
            // Either too long or EOF in the middle of a line: give up.
            let _ = writer.shutdown().await;
            return Ok(());
        }
        if shared.is_down() {
            writer.write_all(REPLY_DOWN).await?;
            let _ = writer.shutdown().await;
            return Ok(());
        }

        let text = String::from_utf8_lossy(&line);
        let command = text.trim_end_matches(['\r', '\n']).trim_start();
        let (verb, arg) = match command.split_once([' ', '\t']) {
            Some((verb, arg)) => (verb, arg.trim()),
            None => (command, ""),
        };

        let reply: &[u8] = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                envelope = Envelope::default();
                b"250-localhost\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n"
            }
            "HELO" => {
                envelope = Envelope::default();
                b"250 localhost\r\n"
            }
            "MAIL" => match parse_path(arg, "FROM:") {
                Some(path) => {
                    envelope = Envelope {
                        mail_from: Some(path),
                        rcpt_to: Vec::new(),
                    };
                    b"250 2.1.0 OK\r\n"
                }
                None => b"501 5.5.4 syntax: MAIL FROM:<address>\r\n",
            },
            "RCPT" => match parse_path(arg, "TO:") {
                Some(_) if envelope.mail_from.is_none() => b"503 5.5.1 MAIL first\r\n",
                Some(path) if !path.is_empty() => {
                    envelope.rcpt_to.push(path);
                    b"250 2.1.5 OK\r\n"
                }
                _ => b"501 5.5.4 syntax: RCPT TO:<address>\r\n",
            },
            "DATA" => {
                if envelope.mail_from.is_none() || envelope.rcpt_to.is_empty() {
                    b"503 5.5.1 MAIL and RCPT first\r\n"
                } else {
                    writer
                        .write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n")
                        .await?;
                    let data = read_data(&mut reader).await?;
                    let envelope = std::mem::take(&mut envelope);
                    match data {
                        Some(data) => {
                            let mail = ReceivedMail::parse(
                                envelope.mail_from.unwrap_or_default(),
                                envelope.rcpt_to,
                                &data,
                            );
                            shared.mail.send_modify(|all| all.push(mail));
                            b"250 2.0.0 OK queued\r\n"
                        }
                        None => b"552 5.3.4 message too big\r\n",
                    }
                }
            }
            "RSET" => {
                envelope = Envelope::default();
                b"250 2.0.0 OK\r\n"
            }
            "NOOP" => b"250 2.0.0 OK\r\n",
            "QUIT" => {
                writer.write_all(b"221 2.0.0 bye\r\n").await?;
                let _ = writer.shutdown().await;
                return Ok(());
            }
            _ => b"502 5.5.2 command not implemented\r\n",
        };
        writer.write_all(reply).await?;
    }
}

/// Reads DATA content up to the line that is exactly `.`, undoing dot-stuffing.
///
/// `Ok(None)`: the message was too big (it was still read to its end).
/// `Err`: the client went away before the end of the data.
async fn read_data<R>(reader: &mut R) -> io::Result<Option<Vec<u8>>>
where
    R: AsyncBufRead + Unpin,
{
    let mut data = Vec::new();
    let mut too_big = false;
    let mut chunk = Vec::new();
    let mut at_line_start = true;
    loop {
        chunk.clear();
        let n = (&mut *reader)
            .take(MAX_DATA_CHUNK)
            .read_until(b'\n', &mut chunk)
            .await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed during DATA",
            ));
        }
        let complete_line = chunk.ends_with(b"\n");
        let mut piece: &[u8] = &chunk;
        if at_line_start {
            if complete_line && (piece == b".\r\n" || piece == b".\n") {
                return Ok(if too_big { None } else { Some(data) });
            }
            if let Some(rest) = piece.strip_prefix(b".") {
                piece = rest;
            }
        }
        at_line_start = complete_line;
        if !too_big {
            if data.len() + piece.len() > MAX_MESSAGE_SIZE {
                too_big = true;
                data = Vec::new();
            } else {
                data.extend_from_slice(piece);
            }
        }
    }
}

/// Parses `FROM:<path> params` / `TO:<path> params` (keyword case-insensitive,
/// optional space after the colon). Returns the path without `<` `>`.
fn parse_path(arg: &str, keyword: &str) -> Option<String> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg.get(keyword.len()..)?.trim_start();
    if let Some(inner) = rest.strip_prefix('<') {
        let end = inner.find('>')?;
        inner.get(..end).map(|p| p.trim().to_string())
    } else {
        let path = rest.split_whitespace().next()?;
        Some(path.to_string())
    }
}
