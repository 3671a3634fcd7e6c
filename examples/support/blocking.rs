//! A blocking driver for a client [`Stream`]: std::net plus rustls, shared
//! by the examples and the interop tests (which include it by path).
//!
//! It shows the whole contract of a sans-IO stream in one loop: write what
//! `poll_transmit` gives, hand events to the application, read with a
//! timeout no later than `poll_timeout`, and feed what was read (or the
//! timeout, or EOF) back in. On `Event::StartTls` it upgrades the socket
//! with rustls and passes the TLS exporter (RFC 9266) as channel binding.
//!
//! Server certificates are checked against a CA (`Options::ca_pem`), the
//! web PKI roots, or one pinned certificate (`Options::pinned_cert`, for a
//! server with a self-signed certificate).
#![allow(dead_code)] // each example uses part of it
#![allow(unreachable_pub)] // shared by path between examples and tests
#![allow(clippy::disallowed_methods)] // a real driver reads the real clock

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};
use xmpp_sansio::im::Roster;
use xmpp_sansio::sasl::ChannelBinding;
use xmpp_sansio::{ClientConfig, Event, SmState, State, Stream};

/// The stream's seed (SCRAM nonces, IQ ids): 32 bytes from the operating
/// system's CSPRNG, through the crypto provider rustls already uses.
pub fn os_seed() -> Result<[u8; 32], DriverError> {
    let mut seed = [0u8; 32];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut seed)
        .map_err(|_| DriverError::Random("the operating system's random source failed".into()))?;
    Ok(seed)
}

/// Where and how to connect.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub host: String,
    pub port: u16,
    /// Trust this CA (PEM) instead of the public web PKI roots.
    pub ca_pem: Option<PathBuf>,
    /// Trust these CA certificates (DER) instead of the public web PKI
    /// roots (a CA made at start-up, as `examples/demo.rs` does).
    pub ca_der: Vec<CertificateDer<'static>>,
    /// Trust exactly this server certificate (PEM or DER) and nothing else,
    /// e.g. a self-signed one. Takes precedence over `ca_pem`.
    pub pinned_cert: Option<PathBuf>,
    /// TLS from the first byte (XEP-0368) instead of STARTTLS.
    pub direct_tls: bool,
    /// Offer TLS 1.2 only (to see what a server does without TLS 1.3).
    pub tls12_only: bool,
}

enum Transport {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
    Gone,
}

impl Transport {
    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Transport::Plain(s) => Some(s),
            Transport::Tls(t) => Some(&t.sock),
            Transport::Gone => None,
        }
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.write_all(data),
            Transport::Tls(t) => {
                t.write_all(data)?;
                t.flush()
            }
            Transport::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
            Transport::Tls(t) => t.read(buf),
            Transport::Gone => Ok(0),
        }
    }
}

/// Why [`Connection::run_until`] stopped without an answer.
#[derive(Debug)]
pub enum DriverError {
    /// No TCP connection to `host:port` (refused, unreachable, or the host
    /// name did not resolve).
    Connect {
        host: String,
        port: u16,
        error: io::Error,
    },
    Io(io::Error),
    /// TLS setup failed (configuration, certificates to trust).
    Tls(String),
    /// The TLS handshake failed: the server's certificate was refused, or
    /// the peer misbehaved.
    Handshake(rustls::Error),
    /// The peer at `peer` (`host:port`) did not start an XMPP stream: it
    /// answered in TLS, or ended the connection, before any stream header.
    NotXmpp {
        peer: String,
        answer: NotXmpp,
    },
    /// No random seed could be drawn.
    Random(String),
    /// The stream closed (with its error, if it failed).
    Closed(Option<xmpp_sansio::Error>),
    /// `within` passed while still waiting (for what: `awaited`).
    Deadline {
        within: Duration,
        awaited: Awaited,
    },
    /// The server answered a request with an error.
    Refused(xmpp_sansio::stanza::StanzaError),
    /// The stream refused a command (not online, say).
    Usage(xmpp_sansio::UsageError),
}

/// What a peer did instead of sending a stream header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotXmpp {
    /// Its first bytes are a TLS record: it expects TLS from the first byte.
    AnsweredInTls,
    /// It closed the connection.
    Closed,
    /// It reset the connection.
    Reset,
}

/// Where a stream was when a deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awaited {
    /// No stream header had arrived.
    StreamHeader,
    /// Negotiation (TLS, SASL, binding) had not finished.
    Negotiation,
    /// Online: the caller's answer had not arrived.
    Answer,
}

impl std::fmt::Display for DriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DriverError::Connect { host, port, error } => {
                write!(f, "cannot connect to {host} port {port}: {error}")
            }
            DriverError::Io(e) => write!(f, "I/O: {e}"),
            DriverError::Tls(e) => write!(f, "TLS: {e}"),
            DriverError::Handshake(e) => write!(f, "TLS handshake failed: {}", tls_in_words(e)),
            DriverError::NotXmpp { peer, answer } => match answer {
                NotXmpp::AnsweredInTls => write!(
                    f,
                    "{peer} answered in TLS, not with an XMPP stream header: it expects TLS from the first byte"
                ),
                NotXmpp::Closed => {
                    write!(
                        f,
                        "{peer} closed the connection before sending a stream header"
                    )
                }
                NotXmpp::Reset => {
                    write!(
                        f,
                        "{peer} reset the connection before sending a stream header"
                    )
                }
            },
            DriverError::Random(e) => write!(f, "random seed: {e}"),
            DriverError::Closed(Some(e)) => write!(f, "stream closed: {e}"),
            DriverError::Closed(None) => write!(f, "stream closed"),
            DriverError::Deadline { within, awaited } => {
                let s = within.as_secs_f64();
                match awaited {
                    Awaited::StreamHeader => write!(f, "no stream header within {s} s"),
                    Awaited::Negotiation => {
                        write!(f, "stream negotiation did not finish within {s} s")
                    }
                    Awaited::Answer => write!(f, "no answer within {s} s"),
                }
            }
            DriverError::Refused(e) => write!(f, "the server refused: {e}"),
            DriverError::Usage(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for DriverError {}

impl From<io::Error> for DriverError {
    fn from(e: io::Error) -> Self {
        DriverError::Io(e)
    }
}

/// A rustls error in words (its own `Display` shows `Debug` output for
/// most errors: `invalid peer certificate: UnknownIssuer`).
pub fn tls_in_words(e: &rustls::Error) -> String {
    use rustls::Error as E;
    match e {
        E::InvalidCertificate(c) => {
            format!(
                "the server's certificate was refused: {}",
                certificate_in_words(c)
            )
        }
        E::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => {
            "the server's answer is not TLS (not a TLS record)".to_owned()
        }
        E::InvalidMessage(m) => format!("the server sent a malformed TLS message ({})", words(m)),
        E::AlertReceived(a) => format!("the server sent the TLS alert \"{}\"", words(a)),
        E::PeerIncompatible(p) => format!("the server is incompatible: {}", words(p)),
        E::PeerMisbehaved(p) => format!("the server misbehaved: {}", words(p)),
        E::NoCertificatesPresented => "the server presented no certificate".to_owned(),
        E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
            "the server sent a TLS message out of order".to_owned()
        }
        E::General(text) => text.clone(),
        other => words(other),
    }
}

/// Why a certificate was refused, in words.
fn certificate_in_words(c: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    match c {
        C::UnknownIssuer => "it is not signed by a trusted CA (unknown issuer)".to_owned(),
        C::BadSignature => "its signature does not verify".to_owned(),
        C::Expired => "it has expired".to_owned(),
        C::NotValidYet => "it is not valid yet".to_owned(),
        C::Revoked => "it has been revoked".to_owned(),
        C::NotValidForName => "it is not valid for the server's name".to_owned(),
        C::ApplicationVerificationFailure => {
            "it is not the pinned certificate".to_owned()
        }
        // webpki's errors arrive as `Other`, their text their Debug name.
        C::Other(other) if other.to_string() == "CaUsedAsEndEntity" => {
            "it is a CA certificate used as the server's own (a self-signed certificate made with CA:TRUE)".to_owned()
        }
        C::Other(other) => {
            let text = other.to_string();
            if text.contains(' ') {
                text
            } else {
                camel_words(&text)
            }
        }
        // These carry their details and say them in words.
        C::ExpiredContext { .. }
        | C::NotValidYetContext { .. }
        | C::NotValidForNameContext { .. } => c.to_string(),
        other => words(other),
    }
}

/// An enum's `Debug` name in words: `UnknownIssuer` -> "unknown issuer"
/// (`CaUsedAsEndEntity(..)` -> "ca used as end entity").
fn words(value: &dyn std::fmt::Debug) -> String {
    camel_words(&format!("{value:?}"))
}

/// The leading `CamelCase` name of `text` in lower-case words.
pub fn camel_words(text: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in text.chars().take_while(char::is_ascii_alphanumeric) {
        if c.is_ascii_uppercase() && previous_lower {
            out.push(' ');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// One client connection driven by blocking I/O.
pub struct Connection {
    pub stream: Stream,
    transport: Transport,
    tls_config: Arc<rustls::ClientConfig>,
    domain: String,
    /// `host:port`, for errors.
    peer: String,
    /// Bytes read so far (to tell what a peer sent before any header).
    received: usize,
    closed: bool,
    /// When recording: every plaintext byte received and sent, in order,
    /// and the size of each read (a replay may split reads, never merge
    /// them: a reply never arrives before its request was sent).
    pub recording: Option<(Vec<u8>, Vec<u8>)>,
    pub recorded_reads: Vec<usize>,
}

/// Accepts exactly one end-entity certificate (compared as DER), whatever
/// its issuer, names or dates: the pin is the server's identity. The
/// handshake signatures are still verified against that certificate's key,
/// so only the holder of its private key can complete the handshake.
#[derive(Debug)]
struct PinnedCert {
    cert: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The one certificate in `path`: PEM (the first CERTIFICATE block) or DER.
fn read_certificate(path: &Path) -> Result<CertificateDer<'static>, DriverError> {
    let bytes = std::fs::read(path).map_err(|e| {
        DriverError::Tls(format!(
            "cannot read the certificate file {}: {e}",
            path.display()
        ))
    })?;
    if bytes.starts_with(b"-----") {
        CertificateDer::from_pem_slice(&bytes).map_err(|e| {
            DriverError::Tls(format!(
                "{} holds no readable PEM certificate: {e}",
                path.display()
            ))
        })
    } else if bytes.first() == Some(&0x30) {
        // A DER certificate is a SEQUENCE; rustls checks the rest.
        Ok(CertificateDer::from(bytes))
    } else {
        Err(DriverError::Tls(format!(
            "{} holds no certificate (neither PEM nor DER){}",
            path.display(),
            if bytes.is_empty() {
                ": it is empty"
            } else {
                ""
            }
        )))
    }
}

/// Every certificate in the PEM file `path`, at least one.
fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, DriverError> {
    let bytes = std::fs::read(path).map_err(|e| {
        DriverError::Tls(format!("cannot read the CA file {}: {e}", path.display()))
    })?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            DriverError::Tls(format!(
                "the CA file {} is not valid PEM: {e}",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(DriverError::Tls(format!(
            "the CA file {} holds no PEM certificate{}",
            path.display(),
            if bytes.is_empty() {
                ": it is empty"
            } else {
                ""
            }
        )));
    }
    Ok(certs)
}

fn tls_config(options: &Options) -> Result<Arc<rustls::ClientConfig>, DriverError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone());
    let builder = if options.tls12_only {
        builder.with_protocol_versions(&[&rustls::version::TLS12])
    } else {
        builder.with_safe_default_protocol_versions()
    }
    .map_err(|e| DriverError::Tls(e.to_string()))?;
    if let Some(path) = &options.pinned_cert {
        let verifier = PinnedCert {
            cert: read_certificate(path)?,
            algorithms: provider.signature_verification_algorithms,
        };
        return Ok(Arc::new(
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth(),
        ));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in &options.ca_der {
        roots.add(cert.clone()).map_err(|e| {
            DriverError::Tls(format!(
                "a CA certificate rustls refuses: {}",
                tls_in_words(&e)
            ))
        })?;
    }
    match &options.ca_pem {
        None if !options.ca_der.is_empty() => {}
        Some(path) => {
            for cert in read_ca_file(path)? {
                roots.add(cert).map_err(|e| {
                    DriverError::Tls(format!(
                        "the CA file {} holds a certificate rustls refuses: {}",
                        path.display(),
                        tls_in_words(&e)
                    ))
                })?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(Arc::new(
        builder.with_root_certificates(roots).with_no_client_auth(),
    ))
}

/// The rustls error inside a handshake's I/O error, when there is one.
fn handshake_error(e: io::Error) -> DriverError {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => DriverError::Handshake(tls.clone()),
        None => DriverError::Io(e),
    }
}

/// Runs the TLS handshake on `sock` for `domain`; returns the stream and
/// the channel-binding data (the TLS exporter, on TLS 1.3).
fn handshake(
    sock: TcpStream,
    domain: &str,
    config: Arc<rustls::ClientConfig>,
) -> Result<(StreamOwned<ClientConnection, TcpStream>, ChannelBinding), DriverError> {
    let name =
        ServerName::try_from(domain.to_owned()).map_err(|e| DriverError::Tls(e.to_string()))?;
    let conn = ClientConnection::new(config, name).map_err(|e| DriverError::Tls(e.to_string()))?;
    let mut tls = StreamOwned::new(conn, sock);
    while tls.conn.is_handshaking() {
        tls.conn
            .complete_io(&mut tls.sock)
            .map_err(handshake_error)?;
    }
    let binding = if tls.conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3) {
        let mut out = [0u8; 32];
        match tls
            .conn
            .export_keying_material(&mut out, b"EXPORTER-Channel-Binding", None)
        {
            Ok(_) => ChannelBinding::TlsExporter(out.to_vec()),
            Err(_) => ChannelBinding::None,
        }
    } else {
        ChannelBinding::None
    };
    Ok((tls, binding))
}

impl Connection {
    /// Connects, (for direct TLS) handshakes, and starts the stream.
    pub fn connect(config: ClientConfig, options: &Options) -> Result<Self, DriverError> {
        Self::connect_resuming(config, None, options)
    }

    /// Like [`Connection::connect`], resuming the stream-managed session
    /// `resume` (XEP-0198) when given.
    pub fn connect_resuming(
        config: ClientConfig,
        resume: Option<SmState>,
        options: &Options,
    ) -> Result<Self, DriverError> {
        let mut config = config;
        if resume.is_some() {
            config.resume = resume;
        }
        let domain = config.domain().to_owned();
        let tls_config = tls_config(options)?;
        let sock = TcpStream::connect((options.host.as_str(), options.port)).map_err(|error| {
            DriverError::Connect {
                host: options.host.clone(),
                port: options.port,
                error,
            }
        })?;
        sock.set_nodelay(true)?;
        sock.set_write_timeout(Some(Duration::from_secs(10)))?;
        let (transport, mut stream) = if options.direct_tls {
            sock.set_read_timeout(Some(Duration::from_secs(10)))?;
            let (tls, binding) = handshake(sock, &domain, tls_config.clone())?;
            (
                Transport::Tls(Box::new(tls)),
                Stream::client_over_tls(config, binding),
            )
        } else {
            (Transport::Plain(sock), Stream::client(config))
        };
        stream
            .start(Instant::now())
            .map_err(|e| DriverError::Tls(e.to_string()))?;
        Ok(Self {
            stream,
            transport,
            tls_config,
            domain,
            peer: format!("{}:{}", options.host, options.port),
            received: 0,
            closed: false,
            recording: None,
            recorded_reads: Vec::new(),
        })
    }

    /// The TLS version in use, once TLS is up.
    pub fn tls_version(&self) -> Option<rustls::ProtocolVersion> {
        match &self.transport {
            Transport::Tls(t) => t.conn.protocol_version(),
            _ => None,
        }
    }

    /// Writes everything the stream has queued.
    pub fn flush(&mut self) -> Result<(), DriverError> {
        while let Some(out) = self.stream.poll_transmit() {
            if let Some((_, sent)) = &mut self.recording {
                sent.extend_from_slice(&out);
            }
            self.transport.write_all(&out)?;
        }
        Ok(())
    }

    /// Drives the stream until `on_event` returns `Some`, the stream closes,
    /// or `within` passes. STARTTLS is handled here; the event is still
    /// passed on.
    pub fn run_until<T>(
        &mut self,
        within: Duration,
        mut on_event: impl FnMut(&mut Stream, &Event) -> Option<T>,
    ) -> Result<T, DriverError> {
        let deadline = Instant::now() + within;
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            self.flush()?;
            while let Some(event) = self.stream.poll_event() {
                if matches!(event, Event::StartTls) {
                    self.upgrade()?;
                }
                if let Event::Closed { error, .. } = &event {
                    self.closed = true;
                    let answer = on_event(&mut self.stream, &event);
                    self.flush().ok();
                    return answer.ok_or_else(|| DriverError::Closed(error.clone()));
                }
                if let Some(answer) = on_event(&mut self.stream, &event) {
                    self.flush()?;
                    return Ok(answer);
                }
                self.flush()?;
            }
            if self.closed {
                return Err(DriverError::Closed(None));
            }
            let now = Instant::now();
            if now >= deadline {
                let awaited = match self.stream.state() {
                    _ if self.stream.header().is_none() => Awaited::StreamHeader,
                    State::Online | State::Closing | State::Closed => Awaited::Answer,
                    _ => Awaited::Negotiation,
                };
                return Err(DriverError::Deadline { within, awaited });
            }
            if let Some(t) = self.stream.poll_timeout()
                && t <= now
            {
                self.stream.handle_timeout(now);
                continue;
            }
            let wait = [Some(deadline), self.stream.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
                .map_or(Duration::from_millis(200), |t| {
                    t.saturating_duration_since(now)
                })
                .clamp(Duration::from_millis(1), Duration::from_millis(500));
            if let Some(tcp) = self.transport.tcp() {
                tcp.set_read_timeout(Some(wait))?;
            }
            let read = self.transport.read(&mut buf);
            if let Some(answer) = self.not_xmpp(&read, &buf) {
                return Err(DriverError::NotXmpp {
                    peer: self.peer.clone(),
                    answer,
                });
            }
            match read {
                Ok(0) => self.stream.handle_eof(Instant::now()),
                Ok(n) => {
                    self.received += n;
                    if let Some((received, _)) = &mut self.recording {
                        received.extend_from_slice(&buf[..n]);
                        self.recorded_reads.push(n);
                    }
                    // A failure is also reported as Event::Closed.
                    let _ = self.stream.handle_input(&buf[..n], Instant::now());
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.stream.handle_eof(Instant::now())
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// What the peer did instead of starting a stream, judged from the
    /// first read on a plaintext connection before any stream header:
    /// TLS bytes (a record's content type, 20 to 23, can never start XML),
    /// a close, or a reset.
    fn not_xmpp(&self, read: &io::Result<usize>, buf: &[u8]) -> Option<NotXmpp> {
        let plain = matches!(self.transport, Transport::Plain(_));
        if !plain || self.received > 0 || self.stream.header().is_some() {
            return None;
        }
        match read {
            Ok(0) => Some(NotXmpp::Closed),
            Ok(_) if (20..=23).contains(&buf[0]) => Some(NotXmpp::AnsweredInTls),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                ) =>
            {
                Some(NotXmpp::Reset)
            }
            _ => None,
        }
    }

    /// Requests the whole roster and waits for it, as a client does right
    /// after login (RFC 6121 §2.2); roster pushes reach only resources
    /// that have asked for it (§2.1.6).
    pub fn fetch_roster(&mut self, within: Duration) -> Result<Roster, DriverError> {
        let id = self
            .stream
            .request_roster(None, Instant::now())
            .map_err(DriverError::Usage)?;
        self.run_until(within, |_, e| match e {
            Event::Roster { id: i, roster, .. } if *i == id => {
                Some(Ok(roster.clone().unwrap_or_default()))
            }
            Event::IqError { id: i, error, .. } if *i == id => {
                Some(Err(DriverError::Refused(error.clone())))
            }
            // A result without a roster: the server has none to give.
            Event::IqResult { id: i, .. } if *i == id => Some(Ok(Roster::default())),
            _ => None,
        })?
    }

    /// Closes the stream and waits (briefly) for the server's close.
    pub fn close(&mut self) {
        self.stream.close(Instant::now());
        let _ = self.run_until(Duration::from_secs(5), |_, e| {
            matches!(e, Event::Closed { .. }).then_some(())
        });
    }

    fn upgrade(&mut self) -> Result<(), DriverError> {
        let Transport::Plain(sock) = std::mem::replace(&mut self.transport, Transport::Gone) else {
            return Err(DriverError::Tls(
                "STARTTLS on a transport that is not plain TCP".into(),
            ));
        };
        sock.set_read_timeout(Some(Duration::from_secs(10)))?;
        let (tls, binding) = handshake(sock, &self.domain, self.tls_config.clone())?;
        self.transport = Transport::Tls(Box::new(tls));
        self.stream
            .tls_established(binding, Instant::now())
            .map_err(|e| DriverError::Tls(e.to_string()))
    }
}
