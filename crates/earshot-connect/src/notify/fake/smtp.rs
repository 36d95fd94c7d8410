//! A minimal SMTP server for tests (RFC 5321 with AUTH from RFC 4954): enough of the
//! protocol for a real client such as lettre, and a record of every message it accepted.
//!
//! Replies use the codes real servers send (Postfix's wording): `235` / `535 5.7.8` for AUTH,
//! `530 5.7.0` for MAIL before AUTH, `354` for DATA, `451`/`554` for scripted refusals,
//! `421` for a server that will not talk. STARTTLS is not offered (no certificates here), so a
//! client that requires it must refuse to go on.

use base64::Engine;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

use super::lock;

/// What goes wrong on the next connection (one per connection, in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpFailure {
    /// Close at once, before the greeting.
    DropOnConnect,
    /// Greet with `421 4.3.2 Service not available` and close.
    Greeting421,
    /// Refuse AUTH with `535 5.7.8` even for the right credentials.
    RefuseAuth,
    /// Take the message, then answer `451 4.3.0` (try again later) and keep nothing.
    TempFailData,
    /// Take the message, then answer `554 5.7.1` (rejected) and keep nothing.
    RejectData,
    /// Take the message, then close without answering (the client cannot know).
    DropAfterData,
}

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The `MAIL FROM` address (envelope sender).
    pub mail_from: String,
    /// Every `RCPT TO` address (envelope recipients).
    pub rcpt_to: Vec<String>,
    /// Who authenticated on the connection, if anyone.
    pub auth_user: Option<String>,
    /// The message as sent after DATA, dot-unstuffed, with CRLF line ends.
    pub data: String,
}

impl ReceivedMail {
    fn split(&self) -> (&str, &str) {
        self.data
            .split_once("\r\n\r\n")
            .unwrap_or((self.data.as_str(), ""))
    }

    /// A header's value, unfolded, with RFC 2047 encoded words decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = self.split();
        let mut unfolded: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            match unfolded.last_mut() {
                Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
                _ => unfolded.push(line.to_owned()),
            }
        }
        unfolded.iter().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| decode_words(value.trim()))
        })
    }

    /// The body as text, decoded from its `Content-Transfer-Encoding`.
    pub fn body_text(&self) -> String {
        let (_, body) = self.split();
        let encoding = self
            .header("Content-Transfer-Encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bytes = match encoding.as_str() {
            "base64" => {
                let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .unwrap_or_default()
            }
            "quoted-printable" => quoted_printable(body, false),
            _ => body.as_bytes().to_vec(),
        };
        String::from_utf8_lossy(&bytes).replace("\r\n", "\n")
    }
}

/// Decodes quoted-printable; `underscores` for the Q encoding of headers (`_` is a space).
fn quoted_printable(text: &str, underscores: bool) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes.get(i + 1..i + 3) == Some(b"\r\n") => i += 3,
            b'=' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            b'=' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'=');
                        i += 1;
                    }
                }
            }
            b'_' if underscores => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Decodes RFC 2047 `=?charset?B|Q?text?=` words (UTF-8 assumed); whitespace between two
/// encoded words is dropped, as the RFC says.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, from) = rest.split_at(start);
        match decode_word(from) {
            Some((decoded, used)) => {
                if !(after_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&decoded);
                rest = &from[used..];
                after_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &from[2..];
                after_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_word(word: &str) -> Option<(String, usize)> {
    let inner = word.strip_prefix("=?")?;
    let (charset, rest) = inner.split_once('?')?;
    let (encoding, rest) = rest.split_once('?')?;
    let end = rest.find("?=")?;
    let text = &rest[..end];
    let bytes = match encoding {
        "B" | "b" => base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()?,
        "Q" | "q" => quoted_printable(text, true),
        _ => return None,
    };
    let used = 2 + charset.len() + 1 + encoding.len() + 1 + end + 2;
    Some((String::from_utf8_lossy(&bytes).into_owned(), used))
}

#[derive(Debug, Default)]
struct SmtpState {
    login: Option<(String, String)>,
    mechanisms: Vec<&'static str>,
    script: VecDeque<SmtpFailure>,
    messages: Vec<ReceivedMail>,
    auth_attempts: Vec<(String, bool)>,
    connections: usize,
}

type Shared = Arc<Mutex<SmtpState>>;

/// A running fake SMTP server; stops (with its connections) when dropped.
#[derive(Debug)]
pub struct FakeSmtp {
    addr: SocketAddr,
    state: Shared,
    server: tokio::task::JoinHandle<()>,
}

/// The server's name in the greeting and EHLO answer.
const SERVER_NAME: &str = "fake.smtp.example";
/// Longest line accepted (RFC 5321 §4.5.3.1.6 allows 1000 octets; some slack for clients).
const MAX_LINE: u64 = 64 * 1024;
/// A client silent for this long is dropped, so a stuck test does not leak connections.
const IDLE: Duration = Duration::from_secs(30);

impl FakeSmtp {
    /// A server that takes mail without AUTH (and advertises none).
    pub async fn start() -> std::io::Result<FakeSmtp> {
        FakeSmtp::spawn(None).await
    }

    /// A server that requires AUTH PLAIN or LOGIN as `username`/`password` before MAIL.
    pub async fn with_login(username: &str, password: &str) -> std::io::Result<FakeSmtp> {
        FakeSmtp::spawn(Some((username.to_owned(), password.to_owned()))).await
    }

    async fn spawn(login: Option<(String, String)>) -> std::io::Result<FakeSmtp> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mechanisms = if login.is_some() {
            vec!["PLAIN", "LOGIN"]
        } else {
            Vec::new()
        };
        let state = Arc::new(Mutex::new(SmtpState {
            login,
            mechanisms,
            ..SmtpState::default()
        }));
        let shared = state.clone();
        let server = tokio::spawn(async move {
            // Dropping the set (when this task is aborted) ends every open session too.
            let mut sessions = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            sessions.spawn(session(stream, shared.clone()));
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                    },
                    Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
                }
            }
        });
        Ok(FakeSmtp {
            addr,
            state,
            server,
        })
    }

    pub fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Which AUTH mechanisms EHLO advertises (default `PLAIN LOGIN` when a login is set).
    pub fn advertise_auth(&self, mechanisms: &[&'static str]) {
        lock(&self.state).mechanisms = mechanisms.to_vec();
    }

    /// Failures for the next connections, one each, in order.
    pub fn script(&self, failures: impl IntoIterator<Item = SmtpFailure>) {
        lock(&self.state).script.extend(failures);
    }

    /// Every message accepted (answered `250` after DATA), in order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        lock(&self.state).messages.clone()
    }

    /// Every AUTH attempt: the mechanism and whether it succeeded (never the password).
    pub fn auth_attempts(&self) -> Vec<(String, bool)> {
        lock(&self.state).auth_attempts.clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        lock(&self.state).connections
    }
}

impl Drop for FakeSmtp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

struct Session {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Session {
    async fn reply(&mut self, text: &str) -> std::io::Result<()> {
        self.writer.write_all(text.as_bytes()).await?;
        self.writer.write_all(b"\r\n").await?;
        self.writer.flush().await
    }

    /// One line without its CRLF; `None` at end of stream or after the idle timeout.
    async fn line(&mut self) -> Option<String> {
        let mut buf = Vec::new();
        let mut limited = (&mut self.reader).take(MAX_LINE);
        let read = limited.read_until(b'\n', &mut buf);
        match tokio::time::timeout(IDLE, read).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return None,
        }
        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            buf.pop();
        }
        Some(String::from_utf8_lossy(&buf).into_owned())
    }
}

/// The address inside `FROM:<a@b> SIZE=…` / `TO:<a@b>`.
fn path_address(argument: &str, prefix: &str) -> Option<String> {
    let rest = argument.get(..prefix.len())?;
    if !rest.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = argument[prefix.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_owned())
}

fn b64(text: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}

async fn session(stream: TcpStream, state: Shared) {
    let failure = {
        let mut s = lock(&state);
        s.connections += 1;
        s.script.pop_front()
    };
    if failure == Some(SmtpFailure::DropOnConnect) {
        return;
    }
    let (read, writer) = stream.into_split();
    let mut session = Session {
        reader: BufReader::new(read),
        writer,
    };
    // Errors only mean the client went away; the session just ends.
    let _ = converse(&mut session, &state, failure).await;
}

async fn converse(
    session: &mut Session,
    state: &Shared,
    failure: Option<SmtpFailure>,
) -> std::io::Result<()> {
    if failure == Some(SmtpFailure::Greeting421) {
        return session
            .reply(&format!(
                "421 4.3.2 {SERVER_NAME} Service not available, closing transmission channel"
            ))
            .await;
    }
    session
        .reply(&format!("220 {SERVER_NAME} ESMTP earshot-fake"))
        .await?;
    let needs_auth = lock(state).login.is_some();
    let mut auth_user: Option<String> = None;
    let mut mail_from: Option<String> = None;
    let mut rcpt_to: Vec<String> = Vec::new();
    while let Some(line) = session.line().await {
        let (verb, argument) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                let mechanisms = lock(state).mechanisms.clone();
                let mut lines = vec![format!("{SERVER_NAME} greets {}", argument.trim())];
                if !mechanisms.is_empty() {
                    lines.push(format!("AUTH {}", mechanisms.join(" ")));
                }
                lines.extend(["8BITMIME".into(), "SIZE 10485760".into()]);
                let last = lines.len() - 1;
                let text: Vec<String> = lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| format!("250{}{l}", if i == last { ' ' } else { '-' }))
                    .collect();
                session.reply(&text.join("\r\n")).await?;
            }
            "HELO" => session.reply(&format!("250 {SERVER_NAME}")).await?,
            "AUTH" => {
                if let Some(user) = authenticate(session, state, argument, failure).await? {
                    auth_user = Some(user);
                }
            }
            "MAIL" => {
                if needs_auth && auth_user.is_none() {
                    session.reply("530 5.7.0 Authentication required").await?;
                    continue;
                }
                match path_address(argument, "FROM:") {
                    Some(from) => {
                        mail_from = Some(from);
                        rcpt_to.clear();
                        session.reply("250 2.1.0 Ok").await?;
                    }
                    None => {
                        session
                            .reply("501 5.5.4 Syntax: MAIL FROM:<address>")
                            .await?
                    }
                }
            }
            "RCPT" => {
                if mail_from.is_none() {
                    session.reply("503 5.5.1 Error: need MAIL command").await?;
                    continue;
                }
                match path_address(argument, "TO:") {
                    Some(to) => {
                        rcpt_to.push(to);
                        session.reply("250 2.1.5 Ok").await?;
                    }
                    None => session.reply("501 5.5.4 Syntax: RCPT TO:<address>").await?,
                }
            }
            "DATA" => {
                let Some(from) = mail_from.take() else {
                    session.reply("503 5.5.1 Error: need MAIL command").await?;
                    continue;
                };
                if rcpt_to.is_empty() {
                    mail_from = Some(from);
                    session.reply("503 5.5.1 Error: need RCPT command").await?;
                    continue;
                }
                session.reply("354 End data with <CR><LF>.<CR><LF>").await?;
                let mut data = Vec::new();
                loop {
                    let Some(line) = session.line().await else {
                        return Ok(()); // Gone mid-message: nothing is kept.
                    };
                    if line == "." {
                        break;
                    }
                    // RFC 5321 §4.5.2: a leading dot was doubled by the client.
                    data.push(line.strip_prefix('.').map_or(line.clone(), str::to_owned));
                }
                let recipients = std::mem::take(&mut rcpt_to);
                match failure {
                    Some(SmtpFailure::DropAfterData) => return Ok(()),
                    Some(SmtpFailure::TempFailData) => {
                        session
                            .reply("451 4.3.0 Error: queue file write error, try again later")
                            .await?;
                        continue;
                    }
                    Some(SmtpFailure::RejectData) => {
                        session.reply("554 5.7.1 Message rejected").await?;
                        continue;
                    }
                    _ => {}
                }
                let queued = {
                    let mut s = lock(state);
                    s.messages.push(ReceivedMail {
                        mail_from: from,
                        rcpt_to: recipients,
                        auth_user: auth_user.clone(),
                        data: data.join("\r\n"),
                    });
                    s.messages.len()
                };
                session
                    .reply(&format!("250 2.0.0 Ok: queued as FAKE{queued:05}"))
                    .await?;
            }
            "RSET" => {
                mail_from = None;
                rcpt_to.clear();
                session.reply("250 2.0.0 Ok").await?;
            }
            "NOOP" => session.reply("250 2.0.0 Ok").await?,
            "QUIT" => return session.reply("221 2.0.0 Bye").await,
            _ => {
                session
                    .reply("502 5.5.2 Error: command not recognized")
                    .await?
            }
        }
    }
    Ok(())
}

/// Runs one AUTH exchange; `Some(user)` when it succeeded.
async fn authenticate(
    session: &mut Session,
    state: &Shared,
    argument: &str,
    failure: Option<SmtpFailure>,
) -> std::io::Result<Option<String>> {
    let (mechanism, initial) = match argument.trim().split_once(' ') {
        Some((m, i)) => (m.to_ascii_uppercase(), Some(i.trim().to_owned())),
        None => (argument.trim().to_ascii_uppercase(), None),
    };
    let (login, offered) = {
        let s = lock(state);
        (s.login.clone(), s.mechanisms.contains(&mechanism.as_str()))
    };
    let Some((want_user, want_password)) = login.filter(|_| offered) else {
        session
            .reply("504 5.5.4 Unrecognized authentication type")
            .await?;
        return Ok(None);
    };
    let credentials = match mechanism.as_str() {
        "PLAIN" => {
            let response = match initial {
                Some(i) => Some(i),
                None => {
                    session.reply("334 ").await?;
                    session.line().await
                }
            };
            // authzid NUL authcid NUL password
            response.as_deref().and_then(b64).and_then(|plain| {
                let mut parts = plain.splitn(3, '\0');
                let _authzid = parts.next()?;
                Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
            })
        }
        _ => {
            let user = match initial {
                Some(i) => Some(i),
                None => {
                    session.reply("334 VXNlcm5hbWU6").await?; // "Username:"
                    session.line().await
                }
            };
            let user = user.as_deref().and_then(b64);
            session.reply("334 UGFzc3dvcmQ6").await?; // "Password:"
            let password = session.line().await;
            user.zip(password.as_deref().and_then(b64))
        }
    };
    let accepted = failure != Some(SmtpFailure::RefuseAuth)
        && credentials
            .as_ref()
            .is_some_and(|(u, p)| *u == want_user && *p == want_password);
    lock(state).auth_attempts.push((mechanism, accepted));
    if accepted {
        session.reply("235 2.7.0 Authentication successful").await?;
        Ok(credentials.map(|(user, _)| user))
    } else {
        session
            .reply("535 5.7.8 Error: authentication failed: authentication failure")
            .await?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_unfold_and_decode_and_bodies_decode() {
        let mail = ReceivedMail {
            mail_from: "a@b".into(),
            rcpt_to: vec![],
            auth_user: None,
            data: "Subject: =?utf-8?b?w7hs?=\r\n =?utf-8?q?_caf=C3=A9?= x\r\n\
                   Content-Transfer-Encoding: quoted-printable\r\n\r\n\
                   caf=C3=A9 =\r\nsoft\r\n"
                .into(),
        };
        assert_eq!(mail.header("subject").as_deref(), Some("øl café x"));
        assert_eq!(mail.body_text(), "café soft\n");
        assert_eq!(
            path_address("FROM:<alerts@acme.example> SIZE=120", "FROM:"),
            Some("alerts@acme.example".into())
        );
        assert_eq!(path_address("TO:<>", "FROM:"), None);
    }
}
