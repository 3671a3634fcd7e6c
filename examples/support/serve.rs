//! The router (`router.rs`) on real sockets: a loopback TCP listener,
//! STARTTLS with rustls, one thread, non-blocking sockets polled in a
//! loop (std only). Shared by `examples/demo.rs` and `examples/server.rs`.
#![allow(dead_code, unreachable_pub)]
#![allow(clippy::disallowed_methods)] // a real server reads the real clock

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::ServerConnection;
use xmpp_sansio::sasl::ChannelBinding;

use super::router::{Notice, Router, SessionId};

/// One accepted connection.
struct Conn {
    sock: TcpStream,
    /// Set from STARTTLS on.
    tls: Option<ServerConnection>,
    /// TLS is up and the router was told.
    established: bool,
    /// Plaintext bytes not yet written (before TLS: up to `<proceed/>`).
    plain_out: Vec<u8>,
    /// Write out, then close.
    closing: bool,
}

/// Where log lines go: the session and the line.
pub type LogSink = Box<dyn FnMut(SessionId, &str) + Send>;

/// A listening router.
pub struct Server {
    listener: TcpListener,
    pub router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    conns: BTreeMap<SessionId, Conn>,
    /// Each log line goes here (`None`: dropped).
    pub log: Option<LogSink>,
}

/// 32 bytes from the operating system's random source (per-connection seeds).
pub fn os_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    if rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut seed)
        .is_err()
    {
        panic!("the operating system's random source failed");
    }
    seed
}

/// The TLS 1.3 exporter (RFC 9266) for SCRAM-PLUS, when there is one.
fn binding(conn: &ServerConnection) -> ChannelBinding {
    if conn.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) {
        return ChannelBinding::None;
    }
    let mut out = [0u8; 32];
    match conn.export_keying_material(&mut out, b"EXPORTER-Channel-Binding", None) {
        Ok(_) => ChannelBinding::TlsExporter(out.to_vec()),
        Err(_) => ChannelBinding::None,
    }
}

fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

impl Server {
    /// Listens on `addr` (port 0: any free port). `tls`: STARTTLS's
    /// certificate and key (`None`: the router's config must not offer it).
    pub fn bind(
        addr: &str,
        router: Router,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(Self {
            listener,
            router,
            tls,
            conns: BTreeMap::new(),
            log: None,
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `stop()` says so, sleeping briefly when idle.
    pub fn run(&mut self, mut stop: impl FnMut() -> bool) {
        while !stop() {
            if !self.run_once() {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }

    /// One pass over the listener and every connection; `true` if
    /// anything moved.
    pub fn run_once(&mut self) -> bool {
        let mut moved = self.accept();
        let ids: Vec<SessionId> = self.conns.keys().copied().collect();
        for id in ids {
            moved |= self.read(id);
        }
        let now = Instant::now();
        if self.router.poll_timeout().is_some_and(|t| t <= now) {
            self.router.handle_timeout(now);
            moved = true;
        }
        moved |= self.notices();
        let ids: Vec<SessionId> = self.conns.keys().copied().collect();
        for id in ids {
            moved |= self.write(id);
        }
        moved
    }

    fn accept(&mut self) -> bool {
        let mut moved = false;
        loop {
            match self.listener.accept() {
                Ok((sock, peer)) => {
                    moved = true;
                    if sock.set_nonblocking(true).is_err() {
                        continue;
                    }
                    let _ = sock.set_nodelay(true);
                    let id = self.router.accept(os_seed(), Instant::now());
                    self.say(id, &format!("connection from {peer}"));
                    self.conns.insert(
                        id,
                        Conn {
                            sock,
                            tls: None,
                            established: false,
                            plain_out: Vec::new(),
                            closing: false,
                        },
                    );
                }
                Err(e) if would_block(&e) => return moved,
                Err(_) => return moved,
            }
        }
    }

    fn say(&mut self, id: SessionId, text: &str) {
        if let Some(log) = &mut self.log {
            log(id, text);
        }
    }

    /// Reads what arrived on `id` and feeds it to the router.
    fn read(&mut self, id: SessionId) -> bool {
        let mut buf = [0u8; 16 * 1024];
        let mut moved = false;
        let mut eof = false;
        let mut input = Vec::new();
        let mut tls_up = None;
        {
            let Some(c) = self.conns.get_mut(&id) else {
                return false;
            };
            if c.closing {
                return false;
            }
            match &mut c.tls {
                None => loop {
                    match c.sock.read(&mut buf) {
                        Ok(0) => {
                            eof = true;
                            break;
                        }
                        Ok(n) => input.extend_from_slice(&buf[..n]),
                        Err(e) if would_block(&e) => break,
                        Err(_) => {
                            eof = true;
                            break;
                        }
                    }
                },
                Some(tls) => {
                    loop {
                        match tls.read_tls(&mut c.sock) {
                            Ok(0) => {
                                eof = true;
                                break;
                            }
                            Ok(_) => {
                                moved = true;
                                if tls.process_new_packets().is_err() {
                                    // The alert goes out; the stream ends.
                                    let _ = tls.write_tls(&mut c.sock);
                                    eof = true;
                                    break;
                                }
                            }
                            Err(e) if would_block(&e) => break,
                            Err(_) => {
                                eof = true;
                                break;
                            }
                        }
                    }
                    if !c.established && !tls.is_handshaking() {
                        c.established = true;
                        tls_up = Some(binding(tls));
                    }
                    loop {
                        match tls.reader().read(&mut buf) {
                            Ok(0) => {
                                eof = true;
                                break;
                            }
                            Ok(n) => input.extend_from_slice(&buf[..n]),
                            Err(_) => break, // WouldBlock: no more plaintext now
                        }
                    }
                }
            }
        }
        let now = Instant::now();
        if let Some(binding) = tls_up {
            self.say(id, "TLS established");
            self.router.tls_established(id, binding, now);
            moved = true;
        }
        if !input.is_empty() {
            self.router.handle_input(id, &input, now);
            moved = true;
        }
        if eof {
            self.router.handle_eof(id, now);
            moved = true;
        }
        moved
    }

    fn notices(&mut self) -> bool {
        let mut moved = false;
        while let Some(n) = self.router.poll_notice() {
            moved = true;
            match n {
                Notice::StartTls(id) => {
                    let Some(config) = self.tls.clone() else {
                        continue;
                    };
                    let mut out = Vec::new();
                    while let Some(b) = self.router.poll_transmit(id) {
                        out.extend_from_slice(&b);
                    }
                    if let Some(c) = self.conns.get_mut(&id) {
                        c.plain_out.extend_from_slice(&out);
                        match ServerConnection::new(config) {
                            Ok(tls) => c.tls = Some(tls),
                            Err(_) => c.closing = true,
                        }
                    }
                }
                Notice::Closed(id) => {
                    if let Some(c) = self.conns.get_mut(&id) {
                        c.closing = true;
                    }
                }
                Notice::Log(id, text) => self.say(id, &text),
            }
        }
        moved
    }

    /// Writes what the router queued for `id`; closes it once it is over
    /// and everything is out.
    fn write(&mut self, id: SessionId) -> bool {
        let mut out = Vec::new();
        while let Some(b) = self.router.poll_transmit(id) {
            out.extend_from_slice(&b);
        }
        let Some(c) = self.conns.get_mut(&id) else {
            return false;
        };
        let moved = !out.is_empty();
        let mut failed = false;
        match &mut c.tls {
            Some(tls) if !out.is_empty() => {
                failed |= tls.writer().write_all(&out).is_err();
            }
            None => c.plain_out.extend_from_slice(&out),
            _ => {}
        }
        // The clear part (up to `<proceed/>`) first, then TLS records.
        while !c.plain_out.is_empty() && !failed {
            match c.sock.write(&c.plain_out) {
                Ok(n) => {
                    c.plain_out.drain(..n);
                }
                Err(e) if would_block(&e) => break,
                Err(_) => failed = true,
            }
        }
        if let Some(tls) = &mut c.tls
            && c.plain_out.is_empty()
        {
            while tls.wants_write() && !failed {
                match tls.write_tls(&mut c.sock) {
                    Ok(_) => {}
                    Err(e) if would_block(&e) => break,
                    Err(_) => failed = true,
                }
            }
        }
        let drained = c.plain_out.is_empty() && c.tls.as_ref().is_none_or(|t| !t.wants_write());
        if failed || (c.closing && drained) {
            if let Some(tls) = &mut c.tls {
                tls.send_close_notify();
                let _ = tls.write_tls(&mut c.sock);
            }
            let _ = c.sock.shutdown(std::net::Shutdown::Both);
            self.conns.remove(&id);
            if failed {
                self.router.handle_eof(id, Instant::now());
            }
            self.router.remove(id);
            self.say(id, "connection closed");
            return true;
        }
        moved
    }

    /// Closes every stream and serves until every connection is gone (or
    /// `within` passes).
    pub fn shutdown(&mut self, within: Duration) {
        self.router.close_all(Instant::now());
        let end = Instant::now() + within;
        while !self.conns.is_empty() && Instant::now() < end {
            if !self.run_once() {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }
}
