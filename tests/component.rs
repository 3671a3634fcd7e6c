//! The component roles (XEP-0114, `jabber:component:accept`): the
//! component (`Stream::component`) and the server end that accepts it
//! (`Stream::component_server`), each fed transcripts whole, cut at every
//! byte offset and one byte at a time (`assert_chunking_invariant`), and
//! the two back to back (`common::pair`), with a property test over
//! chunkings.

mod common;

use common::pair::*;
use common::*;
use proptest::prelude::*;
use xmpp_sansio::component::handshake_digest;
use xmpp_sansio::stanza::{IqType, StanzaView, StreamErrorCondition};
use xmpp_sansio::xml::Element;
use xmpp_sansio::{
    ClientConfig, ClosedBy, ComponentConfig, ComponentServerConfig, ConfigError, Error, Event,
    InvalidStanzaReason, State, Stream, UsageError,
};

const NS: &str = "jabber:component:accept";
const STREAMS_NS: &str = "xmlns='urn:ietf:params:xml:ns:xmpp-streams'";
/// XEP-0114 §3's component name, and the secret of its example digest.
const NAME: &str = "plays.shakespeare.lit";
const SECRET: &str = "test";
/// XEP-0114 §3: the component's header, and the server's answer.
const COMPONENT_HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='plays.shakespeare.lit'>";
const SERVER_HEADER_0114: &str = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' from='plays.shakespeare.lit' id='3BF96D32'>";
const XEP_DIGEST: &str = "aaee83c26aeeafcbabeabfcbcd50df997e0a2a1e";

fn component(now: std::time::Instant) -> Stream {
    let mut s = Stream::component(ComponentConfig::new(NAME, SECRET, [1; 32]));
    s.start(now).ok();
    s
}

fn component_server(now: std::time::Instant) -> Stream {
    let mut s = Stream::component_server(ComponentServerConfig::new("shakespeare.lit", [2; 32]));
    s.start(now).ok();
    s
}

fn stanza(name: &str, attrs: &[(&str, &str)]) -> Element {
    attrs
        .iter()
        .fold(Element::builder(name, NS), |b, (k, v)| b.attr(*k, *v))
        .build()
}

fn chat(from: &str, to: &str, body: &str) -> Element {
    Element::builder("message", NS)
        .attr("from", from)
        .attr("to", to)
        .attr("type", "chat")
        .child(Element::builder("body", NS).text(body).build())
        .build()
}

fn stream_error(condition: &str) -> String {
    format!("<stream:error><{condition} {STREAMS_NS}/></stream:error>")
}

/// Whether `sent` ends with the stream error `condition` (with or without
/// a text) and our closing tag.
fn ends_with_stream_error(sent: &str, condition: &str) -> bool {
    let start = format!("<stream:error><{condition} {STREAMS_NS}/>");
    sent.ends_with("</stream:error></stream:stream>")
        && sent.rfind("<stream:error>") == sent.find(&start)
        && sent.contains(&start)
}

/// The component online through XEP-0114 §3's exchange.
fn online_component(d: &mut Driver) {
    d.feed(SERVER_HEADER_0114).ok();
    d.feed("<handshake/>").ok();
}

/// The server end online: header, the application's acceptance, the
/// handshake over the stream id it gave.
fn online_server(d: &mut Driver) {
    d.feed(COMPONENT_HEADER).ok();
    d.stream.accept_component(SECRET, d.now).ok();
    let id = d.stream.stream_id().unwrap_or_default().to_owned();
    d.feed(format!(
        "<handshake>{}</handshake>",
        handshake_digest(&id, SECRET)
    ))
    .ok();
}

fn condition(s: &Stream) -> Option<StreamErrorCondition> {
    s.error().and_then(Error::condition)
}

// ---- the component ----

/// XEP-0114 §3 byte for byte: our header names the component (`to`, no
/// `version`), the server's header (no `version` either) gives the id, our
/// handshake is the XEP's digest, the empty `<handshake/>` puts us online
/// with the component's domain.
#[test]
fn component_runs_the_xep_0114_exchange() {
    let (whole, ()) = assert_chunking_invariant(component, |d| {
        d.feed(SERVER_HEADER_0114).unwrap();
        assert_eq!(d.stream.state(), State::Negotiating);
        d.feed("<handshake/>").unwrap();
        assert_eq!(d.stream.state(), State::Online);
        assert_eq!(d.stream.bound_jid(), Some(NAME));
    });
    assert_eq!(
        whole.sent,
        format!("{COMPONENT_HEADER}<handshake>{XEP_DIGEST}</handshake>")
    );
    assert!(
        matches!(&whole.events[0], Event::StreamHeader(h) if h.id.as_deref() == Some("3BF96D32"))
    );
    assert_eq!(whole.events[1..], [Event::Online { jid: NAME.into() }]);
}

/// Online, stanzas flow both ways in `jabber:component:accept` with the
/// same events as on a client stream: messages, requests the application
/// answers (the reply comes from the address the request went to), pings
/// to the domain answered by the stream, our own requests (from the
/// domain) matched to their replies, and the server's close.
#[test]
fn component_exchanges_stanzas_once_online() {
    let (whole, ()) = assert_chunking_invariant(component, |d| {
        online_component(d);
        d.recent();
        d.feed("<message from='juliet@example.com/balcony' to='hamlet@plays.shakespeare.lit' type='chat'><body>hi</body></message>").unwrap();
        let got = d.recent();
        let Some(Event::Message(m)) = got.events.first() else {
            panic!("{got:?}")
        };
        assert_eq!(m.body(None).as_deref(), Some("hi"));
        d.stream
            .send(
                chat(
                    "hamlet@plays.shakespeare.lit",
                    "juliet@example.com/balcony",
                    "well met",
                ),
                d.now,
            )
            .unwrap();
        assert_eq!(
            d.recent().sent,
            "<message from='hamlet@plays.shakespeare.lit' to='juliet@example.com/balcony' type='chat'><body>well met</body></message>"
        );
        // A ping to the domain is answered by the stream, from the domain.
        d.feed("<iq type='get' id='p1' from='example.com' to='plays.shakespeare.lit'><ping xmlns='urn:xmpp:ping'/></iq>").unwrap();
        assert_eq!(
            d.recent().sent,
            "<iq type='result' id='p1' from='plays.shakespeare.lit' to='example.com'/>"
        );
        // A request to one of the component's users goes to the application.
        d.feed("<iq type='get' id='v1' from='juliet@example.com/balcony' to='hamlet@plays.shakespeare.lit'><query xmlns='jabber:iq:version'/></iq>").unwrap();
        let got = d.recent();
        let Some(Event::IqRequest(request)) = got.events.first() else {
            panic!("{got:?}")
        };
        d.stream.reply_iq_result(request, None, d.now).unwrap();
        assert_eq!(
            d.recent().sent,
            "<iq type='result' id='v1' from='hamlet@plays.shakespeare.lit' to='juliet@example.com/balcony'/>"
        );
        // Our own request comes from the domain; its reply from its `to`.
        let id = d
            .stream
            .send_iq(
                IqType::Get,
                Some("juliet@example.com/balcony"),
                Element::new("query", "jabber:iq:version"),
                d.now,
            )
            .unwrap();
        assert_eq!(
            d.recent().sent,
            format!(
                "<iq type='get' id='{id}' from='plays.shakespeare.lit' to='juliet@example.com/balcony'><query xmlns='jabber:iq:version'/></iq>"
            )
        );
        d.feed(format!("<iq type='result' id='{id}' from='juliet@example.com/balcony' to='plays.shakespeare.lit'/>")).unwrap();
        assert!(
            matches!(d.recent().events.first(), Some(Event::IqResult { id: got, .. }) if *got == id)
        );
        d.feed("</stream:stream>").unwrap();
        assert_eq!(d.recent().sent, "</stream:stream>");
        assert_eq!(d.stream.state(), State::Closed);
    });
    assert_eq!(
        whole.events.last(),
        Some(&Event::Closed {
            by: ClosedBy::Peer,
            error: None
        })
    );
}

/// A wrong secret (`not-authorized`), a name served by another connection
/// (`conflict`) or unknown (`host-unknown`): the server's stream error
/// ends the stream, which never goes online.
#[test]
fn component_is_refused_by_the_servers_stream_error() {
    for refusal in ["not-authorized", "conflict", "host-unknown"] {
        let (whole, ()) = assert_chunking_invariant(component, |d| {
            d.feed(SERVER_HEADER_0114).ok();
            let result = d.feed(format!("{}</stream:stream>", stream_error(refusal)));
            assert!(
                matches!(result, Err(Error::PeerStreamError(e)) if e.condition.as_str() == refusal)
            );
            assert_eq!(d.stream.state(), State::Closed);
        });
        assert!(
            !whole
                .events
                .iter()
                .any(|e| matches!(e, Event::Online { .. }))
        );
        assert!(
            whole
                .events
                .iter()
                .any(|e| matches!(e, Event::PeerStreamError(_)))
        );
        assert!(matches!(
            whole.events.last(),
            Some(Event::Closed {
                by: ClosedBy::Peer,
                error: Some(Error::PeerStreamError(_))
            })
        ));
    }
}

/// Another content namespace is `invalid-namespace` (RFC 6120 §4.9.3.10);
/// a header without the id the handshake covers is `bad-format`; a stanza
/// before the handshake is answered is `unsupported-stanza-type`.
#[test]
fn component_refuses_what_the_exchange_does_not_allow() {
    let cases = [
        (
            "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' from='plays.shakespeare.lit' id='3BF96D32'>".to_owned(),
            StreamErrorCondition::InvalidNamespace,
        ),
        (
            "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' from='plays.shakespeare.lit'>".to_owned(),
            StreamErrorCondition::BadFormat,
        ),
        (
            format!("{SERVER_HEADER_0114}<message from='juliet@example.com' to='plays.shakespeare.lit'><body>early</body></message>"),
            StreamErrorCondition::UnsupportedStanzaType,
        ),
        // The shared rules hold once online: restricted XML (RFC 6120 §11.1).
        (
            format!("{SERVER_HEADER_0114}<handshake/><!-- hi -->"),
            StreamErrorCondition::RestrictedXml,
        ),
    ];
    for (input, expected) in cases {
        let (whole, ()) = assert_chunking_invariant(component, |d| {
            d.feed(&input).ok();
            assert_eq!(condition(&d.stream), Some(expected));
            assert_eq!(d.stream.state(), State::Closing);
        });
        assert!(
            ends_with_stream_error(&whole.sent, expected.as_str()),
            "{expected:?}: {}",
            whole.sent
        );
        let online = whole
            .events
            .iter()
            .any(|e| matches!(e, Event::Online { .. }));
        assert_eq!(online, expected == StreamErrorCondition::RestrictedXml);
    }
}

/// XEP-0114 §3: every stanza the component sends has a `from` in its
/// domain (any user there, never another domain, not even a subdomain)
/// and a `to`; its own requests and pings need a `to` too. A refused
/// stanza is a `UsageError` and nothing is written.
#[test]
fn component_sends_only_from_its_domain_and_to_someone() {
    let now = epoch();
    let mut d = Driver::new(component(now), now, Cut::Whole);
    online_component(&mut d);
    d.recent();
    let bad_from = UsageError::InvalidStanza(InvalidStanzaReason::InvalidFrom);
    let bad_to = UsageError::InvalidStanza(InvalidStanzaReason::InvalidTo);
    let to = "juliet@example.com";
    let cases = [
        (stanza("message", &[("to", to)]), bad_from.clone()),
        (
            stanza("message", &[("from", "hamlet@example.com"), ("to", to)]),
            bad_from.clone(),
        ),
        (
            stanza(
                "message",
                &[("from", "x.plays.shakespeare.lit"), ("to", to)],
            ),
            bad_from.clone(),
        ),
        (
            stanza(
                "message",
                &[("from", "plays.shakespeare.lit.evil"), ("to", to)],
            ),
            bad_from.clone(),
        ),
        (
            stanza("message", &[("from", "@plays.shakespeare.lit"), ("to", to)]),
            bad_from.clone(),
        ),
        (stanza("presence", &[("to", to)]), bad_from.clone()),
        (stanza("message", &[("from", NAME)]), bad_to.clone()),
        (
            stanza("message", &[("from", NAME), ("to", "juliet@")]),
            bad_to.clone(),
        ),
        (stanza("presence", &[("from", NAME)]), bad_to.clone()),
    ];
    for (el, expected) in cases {
        assert_eq!(
            d.stream.send(el.clone(), now),
            Err(expected.clone()),
            "{el:?}"
        );
        if el.name() == "presence" {
            assert_eq!(d.stream.send_presence(el, now), Err(expected));
        }
    }
    assert_eq!(
        d.stream.send_iq(
            IqType::Get,
            None,
            Element::new("query", "jabber:iq:version"),
            now
        ),
        Err(bad_to.clone())
    );
    assert_eq!(d.stream.ping(None, now), Err(bad_to));
    assert_eq!(d.recent().sent, "", "nothing refused is written");
    assert_eq!(d.stream.stanzas_sent(), 0);
    // Any user at the domain (its case folded), or the domain itself.
    for from in [
        NAME,
        "hamlet@plays.shakespeare.lit/castle",
        "Hamlet@PLAYS.shakespeare.lit",
    ] {
        d.stream.send(chat(from, to, "ok"), now).unwrap();
    }
    d.stream
        .send_presence(stanza("presence", &[("from", NAME), ("to", to)]), now)
        .unwrap();
    assert_eq!(d.stream.stanzas_sent(), 4);
}

/// A component's name is a domain: `start` refuses anything else and
/// writes nothing.
#[test]
fn component_name_must_be_a_domain() {
    for name in ["room@muc.example.com", "muc.example.com/x", "", "a b"] {
        let mut s = Stream::component(ComponentConfig::new(name, SECRET, [1; 32]));
        assert!(matches!(
            s.start(epoch()),
            Err(UsageError::InvalidConfig(ConfigError::InvalidDomain { .. }))
        ));
        assert_eq!(s.poll_transmit(), None);
    }
}

// ---- the server end ----

/// XEP-0114 §3 from the server's side: the header's `to` names the
/// component and is reported; our header answers `from` that name with a
/// fresh id (no `version`); the handshake over that id and the secret the
/// application gave is answered with an empty `<handshake/>`, and the
/// stream is online with the component's name.
#[test]
fn component_server_runs_the_xep_0114_exchange() {
    let (whole, id) = assert_chunking_invariant(component_server, |d| {
        assert_eq!(d.stream.stream_id(), None);
        d.feed(COMPONENT_HEADER).unwrap();
        assert_eq!(
            d.recent().events[1..],
            [Event::ComponentRequest { name: NAME.into() }]
        );
        let id = d.stream.stream_id().unwrap().to_owned();
        d.stream.accept_component(SECRET, d.now).unwrap();
        d.feed(format!(
            "<handshake>{}</handshake>",
            handshake_digest(&id, SECRET)
        ))
        .unwrap();
        assert_eq!(d.stream.state(), State::Online);
        id
    });
    assert_eq!(id.len(), 16);
    assert_eq!(
        whole.sent,
        format!(
            "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' from='{NAME}' id='{id}'><handshake/>"
        )
    );
    assert_eq!(
        whole.events.last(),
        Some(&Event::Online { jid: NAME.into() })
    );
}

/// Each stream gets a fresh id from its random generator (what makes one
/// handshake useless on another stream).
#[test]
fn component_server_stream_ids_are_fresh() {
    let id = |seed: u8| {
        let mut s =
            Stream::component_server(ComponentServerConfig::new("shakespeare.lit", [seed; 32]));
        s.start(epoch()).unwrap();
        s.handle_input(COMPONENT_HEADER.as_bytes(), epoch())
            .unwrap();
        s.stream_id().unwrap().to_owned()
    };
    assert_ne!(id(1), id(2));
}

/// A handshake that arrives before the application decides waits for
/// its secret, and is verified then.
#[test]
fn component_server_holds_a_handshake_until_the_decision() {
    let (whole, ()) = assert_chunking_invariant(component_server, |d| {
        d.feed(COMPONENT_HEADER).unwrap();
        let id = d.stream.stream_id().unwrap().to_owned();
        d.feed(format!(
            "<handshake>{}</handshake>",
            handshake_digest(&id, SECRET)
        ))
        .unwrap();
        assert_eq!(d.stream.state(), State::Negotiating);
        d.stream.accept_component(SECRET, d.now).unwrap();
        assert_eq!(d.stream.state(), State::Online);
    });
    assert!(whole.sent.ends_with("<handshake/>"));
}

/// A large owned read held behind the decision (its later windows not yet
/// given to the framer) is not reported due by `poll_timeout` while the
/// application decides, so a caller's loop does not spin; once it decides,
/// the rest is read in order.
#[test]
fn a_held_owned_read_is_not_due_until_the_decision() {
    let now = common::epoch();
    let mut s = component_server(now);
    let mut read = COMPONENT_HEADER.to_owned();
    read.push_str(&" ".repeat(Stream::INPUT_WINDOW));
    let header_read = s.handle_input_bytes(bytes::Bytes::from(read.into_bytes()), now);
    assert!(header_read.is_ok());
    let mut asked = false;
    loop {
        while s.poll_transmit().is_some() {}
        let Some(e) = s.poll_event() else { break };
        asked |= matches!(e, xmpp_sansio::Event::ComponentRequest { .. });
    }
    assert!(asked);
    assert!(
        s.poll_timeout().is_none_or(|due| due > now),
        "due while held: {:?}",
        s.poll_timeout()
    );
    s.accept_component(SECRET, now).unwrap();
    let id = s.stream_id().unwrap().to_owned();
    let rest = format!("<handshake>{}</handshake>", handshake_digest(&id, SECRET));
    s.handle_input(rest.as_bytes(), now).unwrap();
    while s.poll_event().is_some() {}
    assert_eq!(s.state(), State::Online);
}

/// A wrong secret, a handshake over another id, an uppercase digest, or a
/// second handshake: `not-authorized` (XEP-0114 §3), after which nothing
/// reaches the application.
#[test]
fn component_server_refuses_a_wrong_handshake() {
    let wrong: [fn(&str) -> String; 4] = [
        |id| handshake_digest(id, "wrong"),
        |_| handshake_digest("3BF96D32", SECRET),
        |id| handshake_digest(id, SECRET).to_uppercase(),
        |_| String::new(),
    ];
    for make in wrong {
        let (whole, ()) = assert_chunking_invariant(component_server, |d| {
            d.feed(COMPONENT_HEADER).unwrap();
            d.stream.accept_component(SECRET, d.now).unwrap();
            let id = d.stream.stream_id().unwrap().to_owned();
            d.feed(format!("<handshake>{}</handshake><message from='a@plays.shakespeare.lit' to='b@example.com'/>", make(&id)))
                .ok();
            assert_eq!(
                condition(&d.stream),
                Some(StreamErrorCondition::NotAuthorized)
            );
        });
        assert!(ends_with_stream_error(&whole.sent, "not-authorized"));
        assert!(!whole.sent.contains("<handshake/>"));
        assert!(
            !whole
                .events
                .iter()
                .any(|e| matches!(e, Event::Online { .. } | Event::Message(_)))
        );
    }
    // Two handshakes while the application decides: both are held until
    // the decision, then the first (wrong) is refused.
    let (whole, ()) = assert_chunking_invariant(component_server, |d| {
        d.feed(COMPONENT_HEADER).unwrap();
        d.feed("<handshake>a</handshake><handshake>b</handshake>")
            .ok();
        assert_eq!(condition(&d.stream), None, "held until the decision");
        d.stream.accept_component(SECRET, d.now).unwrap();
        assert_eq!(
            condition(&d.stream),
            Some(StreamErrorCondition::NotAuthorized)
        );
    });
    assert!(ends_with_stream_error(&whole.sent, "not-authorized"));
}

/// The application refuses a name (`host-unknown`, `conflict`); a header
/// without `to`, or whose `to` is not a domain, is `host-unknown` at once.
/// Each error follows our header (XEP-0114 §3, RFC 6120 §4.9.1.2).
#[test]
fn component_server_refuses_names_it_does_not_serve() {
    for refusal in [
        StreamErrorCondition::HostUnknown,
        StreamErrorCondition::Conflict,
    ] {
        let (whole, ()) = assert_chunking_invariant(component_server, |d| {
            d.feed(COMPONENT_HEADER).unwrap();
            d.stream.refuse_component(refusal, d.now).unwrap();
            assert_eq!(
                d.stream.accept_component(SECRET, d.now),
                Err(UsageError::Closed)
            );
        });
        assert!(whole.sent.contains(&format!("from='{NAME}' id='")));
        assert!(ends_with_stream_error(&whole.sent, refusal.as_str()));
    }
    for header in [
        "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'>",
        "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='room@plays.shakespeare.lit'>",
    ] {
        let (whole, ()) = assert_chunking_invariant(component_server, |d| {
            d.feed(header).ok();
            assert_eq!(
                condition(&d.stream),
                Some(StreamErrorCondition::HostUnknown)
            );
        });
        assert!(whole.sent.starts_with("<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' id='"));
        assert!(ends_with_stream_error(&whole.sent, "host-unknown"));
        assert!(
            !whole
                .events
                .iter()
                .any(|e| matches!(e, Event::ComponentRequest { .. }))
        );
    }
}

/// A header in another namespace is `invalid-namespace`, after our header
/// (XEP-0114 §3); a stanza before the handshake succeeds is
/// `not-authorized` (RFC 6120 §4.9.3.12), sent before the decision or
/// after (before it, the input is held until the decision).
#[test]
fn component_server_refuses_other_namespaces_and_early_stanzas() {
    let (whole, ()) = assert_chunking_invariant(component_server, |d| {
        d.feed("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='plays.shakespeare.lit'>").ok();
        assert_eq!(
            condition(&d.stream),
            Some(StreamErrorCondition::InvalidNamespace)
        );
    });
    assert!(
        whole
            .sent
            .starts_with("<?xml version='1.0'?><stream:stream ")
    );
    assert!(ends_with_stream_error(&whole.sent, "invalid-namespace"));
    for decide in [false, true] {
        let (whole, ()) = assert_chunking_invariant(component_server, |d| {
            d.feed(COMPONENT_HEADER).unwrap();
            if decide {
                d.stream.accept_component(SECRET, d.now).unwrap();
            }
            d.feed("<message from='hamlet@plays.shakespeare.lit' to='juliet@example.com'><body>early</body></message>").ok();
            if !decide {
                // Held until the decision, then read.
                assert_eq!(condition(&d.stream), None);
                d.stream.accept_component(SECRET, d.now).unwrap();
            }
            assert_eq!(
                condition(&d.stream),
                Some(StreamErrorCondition::NotAuthorized)
            );
        });
        assert!(!whole.events.iter().any(|e| matches!(e, Event::Message(_))));
    }
}

/// Online, what the component sends flows as on any stream (messages,
/// requests, replies to route), with its `from` kept; the server's own
/// requests come from its domain, and pings to it are answered.
#[test]
fn component_server_exchanges_stanzas_once_online() {
    let (whole, ()) = assert_chunking_invariant(component_server, |d| {
        online_server(d);
        d.recent();
        d.feed("<message from='hamlet@plays.shakespeare.lit/castle' to='juliet@example.com' type='chat'><body>hi</body></message>").unwrap();
        let got = d.recent();
        let Some(Event::Message(m)) = got.events.first() else {
            panic!("{got:?}")
        };
        assert_eq!(
            m.element().attr("from"),
            Some("hamlet@plays.shakespeare.lit/castle")
        );
        d.stream
            .send(
                chat(
                    "juliet@example.com/balcony",
                    "hamlet@plays.shakespeare.lit",
                    "hello",
                ),
                d.now,
            )
            .unwrap();
        d.feed("<iq type='get' id='p1' from='plays.shakespeare.lit' to='shakespeare.lit'><ping xmlns='urn:xmpp:ping'/></iq>").unwrap();
        assert_eq!(
            d.recent().sent,
            "<message from='juliet@example.com/balcony' to='hamlet@plays.shakespeare.lit' type='chat'><body>hello</body></message>\
             <iq type='result' id='p1' from='shakespeare.lit' to='plays.shakespeare.lit'/>"
        );
        // A subscription request is presence to route.
        d.feed("<presence type='subscribe' from='hamlet@plays.shakespeare.lit' to='juliet@example.com'/>").unwrap();
        assert!(matches!(
            d.recent().events.first(),
            Some(Event::Presence(_))
        ));
        // A reply to a request routed to the component is the application's.
        d.feed("<iq type='result' id='r9' from='hamlet@plays.shakespeare.lit' to='juliet@example.com/balcony'/>").unwrap();
        assert!(matches!(d.recent().events.first(), Some(Event::IqReply(_))));
        // The server pings its component: from its domain, to the name.
        let id = d.stream.ping(None, d.now).unwrap();
        assert_eq!(
            d.recent().sent,
            format!(
                "<iq type='get' id='{id}' from='shakespeare.lit' to='plays.shakespeare.lit'><ping xmlns='urn:xmpp:ping'/></iq>"
            )
        );
        d.feed(format!(
            "<iq type='result' id='{id}' from='plays.shakespeare.lit' to='shakespeare.lit'/>"
        ))
        .unwrap();
        assert!(matches!(
            d.recent().events.first(),
            Some(Event::Pong { .. })
        ));
        d.stream.close(d.now);
        d.feed("</stream:stream>").unwrap();
    });
    assert!(whole.sent.ends_with("</stream:stream>"));
    assert_eq!(
        whole.events.last(),
        Some(&Event::Closed {
            by: ClosedBy::Local,
            error: None
        })
    );
}

/// XEP-0114 §3: what the component sends must come from its domain
/// (`invalid-from`, RFC 6120 §4.9.3.9) and have a `from` and a `to`
/// (`improper-addressing`, §4.9.3.7); nothing of it reaches the
/// application.
#[test]
fn component_server_checks_what_the_component_sends() {
    let cases = [
        (
            "<message to='juliet@example.com'/>",
            StreamErrorCondition::ImproperAddressing,
        ),
        (
            "<message from='hamlet@plays.shakespeare.lit'/>",
            StreamErrorCondition::ImproperAddressing,
        ),
        (
            "<iq type='get' id='q' from='hamlet@plays.shakespeare.lit' to='juliet@'><ping xmlns='urn:xmpp:ping'/></iq>",
            StreamErrorCondition::ImproperAddressing,
        ),
        (
            "<message from='romeo@example.com' to='juliet@example.com'/>",
            StreamErrorCondition::InvalidFrom,
        ),
        (
            "<presence from='x.plays.shakespeare.lit' to='juliet@example.com'/>",
            StreamErrorCondition::InvalidFrom,
        ),
        (
            "<iq type='result' id='q' from='shakespeare.lit' to='juliet@example.com'/>",
            StreamErrorCondition::InvalidFrom,
        ),
        (
            "<message from='@plays.shakespeare.lit' to='juliet@example.com'/>",
            StreamErrorCondition::InvalidFrom,
        ),
        // The shared rules hold: restricted XML (RFC 6120 §11.1).
        ("<?pi x?>", StreamErrorCondition::RestrictedXml),
    ];
    for (input, expected) in cases {
        let (whole, ()) = assert_chunking_invariant(component_server, |d| {
            online_server(d);
            d.recent();
            d.feed(input).ok();
            assert_eq!(condition(&d.stream), Some(expected), "{input}");
            let got = d.recent();
            assert!(ends_with_stream_error(&got.sent, expected.as_str()));
        });
        assert!(!whole.events.iter().any(|e| matches!(
            e,
            Event::Message(_) | Event::Presence(_) | Event::IqRequest(_) | Event::IqReply(_)
        )));
    }
}

/// What the server end sends the component needs a `from` and a `to` in
/// the component's domain; refused stanzas are a `UsageError`, unwritten.
#[test]
fn component_server_sends_only_to_the_components_domain() {
    let now = epoch();
    let mut d = Driver::new(component_server(now), now, Cut::Whole);
    online_server(&mut d);
    d.recent();
    let bad_from = UsageError::InvalidStanza(InvalidStanzaReason::InvalidFrom);
    let bad_to = UsageError::InvalidStanza(InvalidStanzaReason::InvalidTo);
    let cases = [
        (stanza("message", &[("to", NAME)]), bad_from),
        (
            stanza(
                "message",
                &[("from", "juliet@example.com"), ("to", "romeo@example.com")],
            ),
            bad_to.clone(),
        ),
        (
            stanza("message", &[("from", "juliet@example.com")]),
            bad_to.clone(),
        ),
    ];
    for (el, expected) in cases {
        assert_eq!(d.stream.send(el, now), Err(expected));
    }
    assert_eq!(
        d.stream.send_iq(
            IqType::Get,
            Some("example.com"),
            Element::new("query", "jabber:iq:version"),
            now
        ),
        Err(bad_to)
    );
    assert_eq!(d.recent().sent, "");
    assert_eq!(
        d.stream.accept_component(SECRET, now),
        Err(UsageError::NotAwaitingComponent)
    );
}

/// The component decision belongs to the server end of a component
/// stream, once per stream.
#[test]
fn component_decisions_only_when_asked() {
    let now = epoch();
    let mut client = Stream::client(ClientConfig::new("a@example.com", "pw", [0; 32]));
    client.start(now).unwrap();
    assert_eq!(
        client.accept_component(SECRET, now),
        Err(UsageError::NotAwaitingComponent)
    );
    let mut c = component(now);
    assert_eq!(
        c.refuse_component(StreamErrorCondition::Conflict, now),
        Err(UsageError::NotAwaitingComponent)
    );
    let mut s = component_server(now);
    s.handle_input(COMPONENT_HEADER.as_bytes(), now).unwrap();
    s.accept_component(SECRET, now).unwrap();
    assert_eq!(
        s.accept_component(SECRET, now),
        Err(UsageError::NotAwaitingComponent)
    );
}

// ---- back to back ----

#[test]
fn component_pair_goes_online_with_the_shared_secret() {
    let mut p = Pair::component(COMPONENT_SECRET);
    assert!(p.online());
    assert_eq!(p.client.bound_jid(), Some(COMPONENT));
    assert_eq!(p.server.bound_jid(), Some(COMPONENT));
}

#[test]
fn component_pair_with_a_wrong_secret_or_name_never_goes_online() {
    let mut p = Pair::component("not the secret");
    assert!(!p.online());
    assert!(p.client_events.iter().any(|e| matches!(e, Event::PeerStreamError(e) if e.condition == StreamErrorCondition::NotAuthorized)));
    assert_eq!(p.client.state(), State::Closed);
    assert_eq!(p.server.state(), State::Closed);

    let mut p = Pair::component(COMPONENT_SECRET);
    p.components.clear();
    assert!(!p.online());
    assert!(p.client_events.iter().any(|e| matches!(e, Event::PeerStreamError(e) if e.condition == StreamErrorCondition::HostUnknown)));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// Random chunkings both ways and a random interleaving of stanzas
    /// each way between a component and its server: every stanza sent
    /// arrives exactly once, in order, with the same addresses and body.
    #[test]
    fn component_pair_every_stanza_arrives_once_in_order(
        up in proptest::collection::vec(1usize..64, 0..6),
        down in proptest::collection::vec(1usize..64, 0..6),
        ops in proptest::collection::vec((any::<bool>(), "[a-z <>&'\"é]{0,12}", any::<bool>(), 0usize..3), 1..20),
    ) {
        let mut p = Pair::component(COMPONENT_SECRET);
        p.up = Chunking::sizes(up);
        p.down = Chunking::sizes(down);
        prop_assert!(p.online());
        let users = ["muc.example.com", "room@muc.example.com", "room@muc.example.com/nick"];
        let (mut sent_up, mut sent_down) = (Vec::new(), Vec::new());
        for (i, (from_component, body, drive, user)) in ops.into_iter().enumerate() {
            let body = format!("{i}:{body}");
            let now = p.now;
            let user = users[user];
            if from_component {
                p.client.send(chat(user, "juliet@example.com/balcony", &body), now).unwrap();
                sent_up.push((user.to_owned(), body));
            } else {
                p.server.send(chat("juliet@example.com/balcony", user, &body), now).unwrap();
                sent_down.push((user.to_owned(), body));
            }
            if drive {
                p.drive();
            }
        }
        p.drive();
        let received = |events: &[Event], attr: &str| -> Vec<(String, String)> {
            events.iter().filter_map(|e| match e {
                Event::Message(m) => Some((
                    m.element().attr(attr).unwrap_or_default().to_owned(),
                    m.body(None).unwrap_or_default(),
                )),
                _ => None,
            }).collect()
        };
        prop_assert_eq!(received(&p.server_events, "from"), sent_up);
        prop_assert_eq!(received(&p.client_events, "to"), sent_down);
        prop_assert_eq!(p.client.state(), State::Online);
        prop_assert_eq!(p.server.state(), State::Online);
    }
}
