//! A tiny but real SMTP server for integration tests.
//!
//! The service under test sends mail through `lettre` (plain SMTP, no TLS, no
//! AUTH). Tests start an [`SmtpServer`] on `127.0.0.1:0`, point the service at
//! [`SmtpServer::port`] / [`SmtpServer::url`], and then wait for the mail with
//! [`SmtpServer::wait_for`] or [`SmtpServer::wait_for_to`]. [`ReceivedMail`]
//! has helpers to read headers and to find links (e.g. the email
//! verification URL) in the possibly quoted-printable or base64 encoded body.
//!
//! Protocol: greeting `220`, `EHLO` (multi-line `250`: 8BITMIME, SMTPUTF8,
//! PIPELINING; no STARTTLS, no AUTH), `HELO`, `MAIL FROM`, `RCPT TO`, `DATA`
//! (`354`, then read up to the line `.`, dot-unstuffed), `RSET`, `NOOP`,
//! `QUIT` (`221`, close); anything else gets `502`. Several messages per
//! connection and several concurrent connections are supported. The server
//! task never panics on malformed input or client disconnects; it stops when
//! the [`SmtpServer`] is dropped.

// Not every test binary uses every helper.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

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
/// Nesting limit for MIME multiparts in [`ReceivedMail::decoded_text`].
const MAX_MIME_DEPTH: usize = 16;

/// A message accepted by the [`SmtpServer`].
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// Reverse-path from `MAIL FROM`, without `<` `>` (empty for the null path `<>`).
    pub mail_from: String,
    /// Forward-paths from each `RCPT TO`, without `<` `>`.
    pub rcpt_to: Vec<String>,
    /// Raw DATA content, dot-unstuffed, without the final `.` line (the CRLF
    /// ending the last line is kept). Invalid UTF-8 is replaced lossily.
    pub data: String,
}

impl ReceivedMail {
    /// Whether `address` is among the recipients (case-insensitive).
    pub fn is_to(&self, address: &str) -> bool {
        self.rcpt_to
            .iter()
            .any(|r| r.eq_ignore_ascii_case(address.trim()))
    }

    /// Header value (case-insensitive name, unfolded), e.g. `"Subject"`.
    ///
    /// Looks only at the top-level header block. The value is unfolded and
    /// trimmed, and RFC 2047 encoded-words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`)
    /// are decoded, so a non-ASCII subject compares equal to the text the
    /// service used. Returns the first header with that name.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = split_header_body(&self.data);
        parse_headers(head)
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| decode_encoded_words(&v))
    }

    /// Whole message decoded for searching: quoted-printable soft line breaks
    /// ("=\r\n") removed and =XX escapes decoded, base64 body parts decoded
    /// when a part says Content-Transfer-Encoding: base64. Good enough to find
    /// a URL in the text/plain or text/html part.
    ///
    /// The MIME structure is walked (multipart parts, recursively); each part's
    /// raw headers are kept followed by its decoded body. Parts that are not
    /// quoted-printable or base64 are left as they are (so a `=` in a 7bit
    /// body is never mistaken for an escape).
    pub fn decoded_text(&self) -> String {
        let mut out = String::with_capacity(self.data.len());
        decode_entity(&self.data, 0, &mut out);
        out
    }

    /// First URL in decoded_text() that contains `needle` (a URL runs until
    /// whitespace, '"', '<', '>' or "'"); HTML entities like &amp; decoded.
    ///
    /// A URL starts at `http://` or `https://` (any case). Sentence punctuation
    /// at the very end (`.` `,` `;` `:` `!` `?` `)`) is not part of the URL.
    pub fn find_link(&self, needle: &str) -> Option<String> {
        find_link_in(&self.decoded_text(), needle)
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

    pub fn port(&self) -> u16 {
        self.port
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

    /// Waits for the first message whose rcpt_to contains `address`
    /// (case-insensitive), panics after timeout.
    pub async fn wait_for_to(&self, address: &str, timeout: Duration) -> ReceivedMail {
        let wanted = address.trim().trim_start_matches('<').trim_end_matches('>');
        self.wait_for_message(&format!("to {wanted:?}"), |m| m.is_to(wanted), timeout)
            .await
    }

    /// Waits for the first message to `address` whose subject contains `subject`.
    pub async fn wait_for_subject(
        &self,
        address: &str,
        subject: &str,
        timeout: Duration,
    ) -> ReceivedMail {
        let what = format!("to {address:?} with subject containing {subject:?}");
        let matches = |m: &ReceivedMail| {
            m.is_to(address) && m.header("Subject").is_some_and(|s| s.contains(subject))
        };
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
            let subject = m.header("Subject").unwrap_or_default();
            let _ = write!(
                out,
                "\n  #{i}: from <{}> to {:?}, subject {subject:?}",
                m.mail_from, m.rcpt_to
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
                            let mail = ReceivedMail {
                                mail_from: envelope.mail_from.unwrap_or_default(),
                                rcpt_to: envelope.rcpt_to,
                                data: String::from_utf8_lossy(&data).into_owned(),
                            };
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

// ---------------------------------------------------------------------------
// Message parsing helpers
// ---------------------------------------------------------------------------

/// Splits a MIME entity at its first empty line: (header block, body).
fn split_header_body(entity: &str) -> (&str, &str) {
    let mut pos = 0;
    for line in entity.split_inclusive('\n') {
        if line == "\r\n" || line == "\n" {
            return (&entity[..pos], &entity[pos + line.len()..]);
        }
        pos += line.len();
    }
    (entity, "")
}

/// Parses a header block into unfolded (name, value) pairs, values trimmed.
fn parse_headers(block: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for raw in block.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            // Folded continuation: unfolding removes only the line break.
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.to_string()));
        }
    }
    for (_, value) in &mut headers {
        *value = value.trim().to_string();
    }
    headers
}

fn find_header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// A parameter of a structured header value, e.g. `boundary` of Content-Type.
fn header_param(value: &str, param: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (key, val) = p.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case(param) {
            return None;
        }
        let val = val.trim();
        let val = val
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(val);
        Some(val.to_string())
    })
}

/// Appends the decoded form of a MIME entity (headers raw, body decoded).
fn decode_entity(entity: &str, depth: usize, out: &mut String) {
    let (head, body) = split_header_body(entity);
    out.push_str(head);
    out.push_str("\r\n");
    let headers = parse_headers(head);

    let content_type = find_header(&headers, "Content-Type").unwrap_or_default();
    if depth < MAX_MIME_DEPTH
        && content_type
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("multipart/")
        && let Some(boundary) = header_param(&content_type, "boundary")
    {
        for part in split_multipart(body, &boundary) {
            decode_entity(part, depth + 1, out);
            out.push_str("\r\n");
        }
        return;
    }

    let encoding = find_header(&headers, "Content-Transfer-Encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "quoted-printable" => {
            out.push_str(&String::from_utf8_lossy(&decode_quoted_printable(
                body.as_bytes(),
            )));
        }
        "base64" => out.push_str(&String::from_utf8_lossy(&decode_base64(body))),
        _ => out.push_str(body),
    }
}

/// The body parts of a multipart body (preamble and epilogue dropped).
fn split_multipart<'a>(body: &'a str, boundary: &str) -> Vec<&'a str> {
    let delimiter = format!("--{boundary}");
    let close = format!("--{boundary}--");
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut pos = 0;
    for line in body.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed == delimiter || trimmed == close {
            if let Some(s) = start {
                // The line break before a delimiter belongs to the delimiter.
                let part = &body[s..pos];
                let part = part
                    .strip_suffix("\r\n")
                    .or_else(|| part.strip_suffix('\n'))
                    .unwrap_or(part);
                parts.push(part);
            }
            if trimmed == close {
                return parts;
            }
            start = Some(pos + line.len());
        }
        pos += line.len();
    }
    if let Some(s) = start {
        parts.push(&body[s..]); // unterminated multipart: keep what there is
    }
    parts
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Quoted-printable decoding: soft line breaks removed, `=XX` decoded.
fn decode_quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'=' {
            let rest = &input[i + 1..];
            if let [h, l, ..] = rest
                && let (Some(h), Some(l)) = (hex_value(*h), hex_value(*l))
            {
                out.push((h << 4) | l);
                i += 3;
                continue;
            }
            // Soft line break, possibly with (illegal but common) trailing blanks.
            let blanks = rest
                .iter()
                .take_while(|c| **c == b' ' || **c == b'\t')
                .count();
            let after = &rest[blanks..];
            if after.starts_with(b"\r\n") {
                i += 1 + blanks + 2;
                continue;
            }
            if after.starts_with(b"\n") {
                i += 1 + blanks + 1;
                continue;
            }
            if after.is_empty() {
                break; // soft break at the very end
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Lenient base64 decoding (standard or URL-safe alphabet); whitespace and
/// other stray characters are skipped, decoding stops at padding.
fn decode_base64(input: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in input.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    out
}

/// Decodes RFC 2047 encoded-words; whitespace between adjacent ones is dropped.
fn decode_encoded_words(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    let mut after_encoded_word = false;
    while let Some(i) = rest.find("=?") {
        let before = &rest[..i];
        let candidate = &rest[i + 2..];
        match decode_encoded_word(candidate) {
            Some((decoded, consumed)) => {
                if !(after_encoded_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&decoded);
                rest = &candidate[consumed..];
                after_encoded_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = candidate;
                after_encoded_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes `charset?enc?text?=` (the part after `=?`); returns the text and
/// how many bytes of `s` it used.
fn decode_encoded_word(s: &str) -> Option<(String, usize)> {
    let (charset, rest) = s.split_once('?')?;
    let (encoding, rest) = rest.split_once('?')?;
    let end = rest.find("?=")?;
    let text = &rest[..end];
    // `rest` is a suffix of `s`: everything up to it plus the text and "?=".
    let consumed = s.len() - rest.len() + end + 2;
    if charset.is_empty() || charset.contains(char::is_whitespace) || text.contains(' ') {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => decode_base64(text),
        "Q" | "q" => {
            let underscores = text.replace('_', " ");
            decode_quoted_printable(underscores.as_bytes())
        }
        _ => return None,
    };
    let charset = charset
        .split('*')
        .next()
        .unwrap_or(charset)
        .to_ascii_lowercase();
    let decoded = match charset.as_str() {
        "iso-8859-1" | "latin1" | "latin-1" => bytes.iter().map(|&b| char::from(b)).collect(),
        _ => String::from_utf8_lossy(&bytes).into_owned(),
    };
    Some((decoded, consumed))
}

/// Decodes the HTML entities that show up in href attributes.
fn decode_html_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let candidate = &rest[i + 1..];
        let decoded = candidate
            .find(';')
            .filter(|&end| end <= 10)
            .and_then(|end| {
                let entity = &candidate[..end];
                let c = match entity {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    _ => {
                        let number = entity.strip_prefix('#')?;
                        let code = match number.strip_prefix(['x', 'X']) {
                            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                            None => number.parse().ok()?,
                        };
                        char::from_u32(code)
                    }
                }?;
                Some((c, end + 1))
            });
        match decoded {
            Some((c, used)) => {
                out.push(c);
                rest = &candidate[used..];
            }
            None => {
                out.push('&');
                rest = candidate;
            }
        }
    }
    out.push_str(rest);
    out
}

fn find_link_in(text: &str, needle: &str) -> Option<String> {
    // ASCII lowercasing keeps every byte offset (and char boundary) in place.
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    loop {
        let rest = &lower[from..];
        let start = from
            + [rest.find("http://"), rest.find("https://")]
                .into_iter()
                .flatten()
                .min()?;
        let end = text[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '<' | '>' | '\''))
            .map_or(text.len(), |e| start + e);
        let url = decode_html_entities(&text[start..end]);
        let url = url.trim_end_matches(['.', ',', ';', ':', '!', '?', ')']);
        if url.contains(needle) {
            return Some(url.to_string());
        }
        from = end.max(start + 1);
    }
}
