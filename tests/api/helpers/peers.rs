//! Hostile SMTP relays, each a real TCP server: one that never greets, one with a
//! listen backlog of 1 that serves one connection at a time slowly, one that
//! answers `421` beyond two connections, one that defers each message once with
//! `451`, one that drops the connection mid-DATA once per message, and one that is
//! down for a while. Each counts what it accepted, by `Message-ID`.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// How a relay misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostility {
    /// It does not: a well-behaved relay (to replace a hostile one).
    Polite,
    /// Accepts connections and never says a word.
    NeverGreets,
    /// Listen backlog 1, one connection served at a time, every reply late.
    OneAtATime { reply_delay: Duration },
    /// As many connections as asked for, every reply late.
    Slow { reply_delay: Duration },
    /// `421 too many connections` from the third concurrent connection on.
    TooManyConnections { allowed: usize },
    /// The first delivery of each message is answered `451` after its data.
    DefersOnce,
    /// The first delivery of each message loses its connection mid-DATA.
    DropsMidData,
    /// Refuses connections for this long after it starts, then works.
    DownFor(Duration),
}

#[derive(Default)]
struct Book {
    /// Accepted deliveries, by Message-ID.
    accepted: HashMap<String, usize>,
    /// Message-IDs already deferred or dropped once.
    tried: HashSet<String>,
    /// Most connections open at once.
    peak_open: usize,
}

/// A hostile relay on a loopback port.
pub struct HostileRelay {
    pub port: u16,
    book: Arc<Mutex<Book>>,
    task: tokio::task::JoinHandle<()>,
}

impl HostileRelay {
    /// Starts a relay that misbehaves as `hostility` says.
    pub async fn start(hostility: Hostility) -> Self {
        let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        Self::start_on(port, hostility).await
    }

    /// The same on a given port (to replace a relay where it was).
    pub async fn start_on(port: u16, hostility: Hostility) -> Self {
        let book = Arc::new(Mutex::new(Book::default()));
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let shared = book.clone();
        let task = match hostility {
            Hostility::DownFor(down) => tokio::spawn(async move {
                tokio::time::sleep(down).await;
                serve(listen(addr, 128), hostility, shared).await;
            }),
            Hostility::OneAtATime { .. } => {
                let listener = listen(addr, 1);
                tokio::spawn(serve_one_at_a_time(listener, hostility, shared))
            }
            _ => {
                let listener = listen(addr, 128);
                tokio::spawn(serve(listener, hostility, shared))
            }
        };
        HostileRelay { port, book, task }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// Stops listening and serving; returns once the port is free again.
    pub async fn stop(self) -> u16 {
        self.task.abort();
        let _ = self.task.await;
        self.port
    }

    /// Accepted deliveries by Message-ID.
    pub fn accepted(&self) -> HashMap<String, usize> {
        self.book.lock().unwrap().accepted.clone()
    }

    /// Most connections that were open at once.
    pub fn peak_connections(&self) -> usize {
        self.book.lock().unwrap().peak_open
    }
}

fn listen(addr: SocketAddr, backlog: u32) -> TcpListener {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    socket.bind(addr).unwrap();
    socket.listen(backlog).unwrap()
}

async fn serve(listener: TcpListener, hostility: Hostility, book: Arc<Mutex<Book>>) {
    let open = Arc::new(AtomicUsize::new(0));
    while let Ok((socket, _)) = listener.accept().await {
        let (book, open) = (book.clone(), open.clone());
        tokio::spawn(async move {
            let now_open = open.fetch_add(1, Ordering::SeqCst) + 1;
            {
                let mut book = book.lock().unwrap();
                book.peak_open = book.peak_open.max(now_open);
            }
            session(socket, hostility, &book, now_open).await;
            open.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

async fn serve_one_at_a_time(listener: TcpListener, hostility: Hostility, book: Arc<Mutex<Book>>) {
    while let Ok((socket, _)) = listener.accept().await {
        session(socket, hostility, &book, 1).await;
    }
}

async fn session(socket: TcpStream, hostility: Hostility, book: &Mutex<Book>, open: usize) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    let delay = match hostility {
        Hostility::OneAtATime { reply_delay } | Hostility::Slow { reply_delay } => reply_delay,
        _ => Duration::ZERO,
    };
    match hostility {
        Hostility::NeverGreets => {
            // Read and ignore whatever comes, for ever.
            let mut sink = String::new();
            while lines.read_line(&mut sink).await.is_ok_and(|n| n > 0) {
                sink.clear();
            }
            return;
        }
        Hostility::TooManyConnections { allowed } if open > allowed => {
            let _ = write
                .write_all(b"421 4.7.0 too many connections, try later\r\n")
                .await;
            return;
        }
        _ => {}
    }
    tokio::time::sleep(delay).await;
    if write
        .write_all(b"220 hostile.test ESMTP\r\n")
        .await
        .is_err()
    {
        return;
    }
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let verb = line.trim_end().to_ascii_uppercase();
        tokio::time::sleep(delay).await;
        let reply = if verb.starts_with("EHLO") {
            "250-hostile.test\r\n250 8BITMIME".to_owned()
        } else if verb == "DATA" {
            let _ = write.write_all(b"354 go ahead\r\n").await;
            let drop_after = match hostility {
                Hostility::DropsMidData => Some(12),
                _ => None,
            };
            let Some((message_id, complete)) = read_message(&mut lines, drop_after, book).await
            else {
                return;
            };
            if !complete {
                return; // closed mid-DATA: nothing accepted
            }
            let first = book.lock().unwrap().tried.insert(message_id.clone());
            match hostility {
                Hostility::DefersOnce if first => "451 4.3.0 local error, try again later".into(),
                _ => {
                    *book.lock().unwrap().accepted.entry(message_id).or_default() += 1;
                    "250 2.0.0 accepted".into()
                }
            }
        } else if verb == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            "250 ok".into()
        };
        if write
            .write_all(format!("{reply}\r\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Reads a message up to the lone dot; returns its Message-ID and whether it was
/// read to the end. With `drop_after`, the first delivery of each message is cut
/// after that many lines (the connection closes mid-DATA). `None` when the
/// connection ended first.
async fn read_message(
    lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    drop_after: Option<usize>,
    book: &Mutex<Book>,
) -> Option<(String, bool)> {
    let mut message_id = String::new();
    for count in 0.. {
        let mut line = String::new();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line == "." {
            return Some((message_id, true));
        }
        if let Some(value) = line
            .strip_prefix("Message-ID:")
            .or_else(|| line.strip_prefix("Message-Id:"))
        {
            message_id = value.trim().to_owned();
        }
        if drop_after.is_some_and(|n| count >= n) && !message_id.is_empty() {
            let first = book.lock().unwrap().tried.insert(message_id.clone());
            if first {
                return Some((message_id, false));
            }
        }
    }
    None
}
