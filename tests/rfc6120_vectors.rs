//! Test vectors modelled on RFC 6120's examples (its pretty-printed
//! layout, whitespace and namespaces kept), parsed through the framer into
//! the typed views, serialized back, and parsed again.

use proptest::prelude::*;
use xmpp_sansio::StreamErrorCondition;
use xmpp_sansio::stanza::{
    ErrorType, Iq, IqType, Message, MessageType, StanzaError, StanzaErrorCondition,
    StanzaParseError, StanzaView, StreamError,
};
use xmpp_sansio::xml::{Element, FrameEvent, Framer, Limits, ns, writer};

const HEADER: &str = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

fn parse(xml: &str) -> Element {
    let mut f = Framer::new(Limits::default());
    f.push(HEADER.as_bytes());
    f.push(xml.as_bytes());
    let mut out = None;
    while let Ok(Some(ev)) = f.next_event() {
        if let FrameEvent::Element(e) = ev {
            out = Some(e);
        }
    }
    match out {
        Some(e) => e,
        None => panic!("no element in {xml}"),
    }
}

fn reparse(el: &Element) -> Element {
    let mut buf = Vec::new();
    writer::write_stream_child(el, &mut buf, ns::JABBER_CLIENT);
    parse(&String::from_utf8_lossy(&buf))
}

/// §4.9.2: a stream error with text and an application-specific condition.
#[test]
fn stream_error_with_text_and_application_condition() {
    let el = parse(
        "<stream:error>
           <not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>
           <text xml:lang='en' xmlns='urn:ietf:params:xml:ns:xmpp-streams'>
             Some special application diagnostic information!
           </text>
           <escape-your-data xmlns='http://example.org/ns'/>
         </stream:error>",
    );
    let e = StreamError::from_element(&el).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(e.condition, StreamErrorCondition::NotWellFormed);
    assert_eq!(e.texts.len(), 1);
    let (lang, text) = e.texts[0].clone();
    assert_eq!(lang.as_deref(), Some("en"));
    assert_eq!(
        text.trim(),
        "Some special application diagnostic information!"
    );
    assert!(
        e.app_condition
            .as_ref()
            .is_some_and(|a| a.is("escape-your-data", "http://example.org/ns"))
    );
    assert_eq!(
        StreamError::from_element(&reparse(&e.to_element())).ok(),
        Some(e)
    );
}

/// §4.9.2: "the <text/> element MAY be included more than once, each in
/// a different language"; every one is kept. A `<text/>` without
/// `xml:lang` has the language it inherits (XML 1.0 §2.12), here the
/// stream header's.
#[test]
fn stream_error_keeps_every_text_with_its_language() {
    let mut f = Framer::new(Limits::default());
    f.push(b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0' xml:lang='fr'>");
    f.push(
        "<stream:error>
           <system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>
           <text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>going down</text>
           <text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='de'>wird beendet</text>
           <text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>arrêt</text>
         </stream:error>"
            .as_bytes(),
    );
    let mut el = None;
    while let Ok(Some(ev)) = f.next_event() {
        if let FrameEvent::Element(e) = ev {
            el = Some(e);
        }
    }
    let el = el.unwrap_or_else(|| panic!("no element"));
    let e = StreamError::from_element(&el).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(e.condition, StreamErrorCondition::SystemShutdown);
    let texts: Vec<(Option<&str>, &str)> = e
        .texts
        .iter()
        .map(|(l, t)| (l.as_deref(), t.as_str()))
        .collect();
    assert_eq!(
        texts,
        [
            (Some("en"), "going down"),
            (Some("de"), "wird beendet"),
            (Some("fr"), "arrêt")
        ]
    );
    assert_eq!(e.text(Some("de")), Some("wird beendet"));
    assert_eq!(e.text(Some("fr")), Some("arrêt"));
    assert_eq!(e.text(Some("it")), Some("going down"));
    // All of them are written back, each with its language.
    assert_eq!(
        StreamError::from_element(&reparse(&e.to_element())).ok(),
        Some(e.clone())
    );
    let built = StreamError::new(StreamErrorCondition::SystemShutdown)
        .with_text(Some("en"), "going down")
        .with_text(Some("de"), "wird beendet")
        .with_text(Some("fr"), "arrêt");
    assert_eq!(built, e);
}

/// The same inheritance for stanza errors: the stanza's `xml:lang`.
#[test]
fn stanza_error_text_inherits_the_stanza_language() {
    let el = parse(
        "<message xml:lang='de' type='error'><error type='cancel'>\
           <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
           <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>nicht gefunden</text>\
           <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>not found</text>\
         </error></message>",
    );
    let e = Message::from_element(el)
        .ok()
        .and_then(|m| m.error())
        .unwrap_or_else(|| panic!("no error"));
    assert_eq!(
        e.texts,
        [
            (Some("de".to_owned()), "nicht gefunden".to_owned()),
            (Some("en".to_owned()), "not found".to_owned())
        ]
    );
}

/// §8.3.3.8: a malformed address does not lose the stanza; asking for the
/// typed JID gives the stanza error `jid-malformed` to answer with.
#[test]
fn malformed_from_is_jid_malformed_and_the_message_is_kept() {
    let el = parse(
        "<message from='a@@b' to='juliet@im.example.com' type='chat' id='m1'><body>hi</body></message>",
    );
    let m = Message::from_element(el).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.type_(), MessageType::Chat);
    assert_eq!(m.body(None).as_deref(), Some("hi"));
    assert_eq!(m.from().map(|a| a.as_str()), Some("a@@b"));
    let err = m
        .sender_jid()
        .err()
        .unwrap_or_else(|| panic!("a@@b accepted as a JID"));
    assert!(matches!(
        &err,
        StanzaParseError::JidMalformed { attr: "from", value } if value == "a@@b"
    ));
    assert_eq!(
        err.stanza_error().condition,
        StanzaErrorCondition::JidMalformed
    );
    assert_eq!(err.stanza_error().type_, ErrorType::Modify);
    // The recipient is fine.
    assert!(matches!(m.recipient_jid(), Ok(Some(_))));
}

/// §4.9.3.19: see-other-host, with a domain, an IPv4 and an IPv6 literal
/// (and the RFC's surrounding whitespace).
#[test]
fn see_other_host_targets() {
    for (text, host, port) in [
        (
            "\n    [2001:41D0:1:A49b::1]:9222\n  ",
            "2001:41D0:1:A49b::1",
            Some(9222),
        ),
        ("[2001:db8::ea:9]", "2001:db8::ea:9", None),
        ("2001:db8::1", "2001:db8::1", None),
        ("192.0.2.1:5222", "192.0.2.1", Some(5222)),
        ("im.example.com", "im.example.com", None),
    ] {
        let el = parse(&format!(
            "<stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>{text}</see-other-host></stream:error>"
        ));
        let e = StreamError::from_element(&el).unwrap_or_else(|err| panic!("{err}"));
        let target = e
            .see_other_host()
            .unwrap_or_else(|| panic!("no target in {text:?}"));
        assert_eq!(
            (target.host.as_str(), target.port),
            (host, port),
            "{text:?}"
        );
    }
}

/// Every §4.9.3 condition parses and round-trips; an unknown one is
/// undefined-condition.
#[test]
fn every_stream_condition() {
    for &c in StreamErrorCondition::ALL {
        let el = parse(&format!(
            "<stream:error><{} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
            c.as_str()
        ));
        assert_eq!(StreamError::from_element(&el).map(|e| e.condition), Ok(c));
    }
    let el = parse(
        "<stream:error><made-up xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
    );
    assert_eq!(
        StreamError::from_element(&el).map(|e| e.condition),
        Ok(StreamErrorCondition::UndefinedCondition)
    );
}

/// §8.3.2: an IQ error reply with service-unavailable.
#[test]
fn iq_error_service_unavailable() {
    let el = parse(
        "<iq from='im.example.com'
             id='ixc3v1b9'
             to='juliet@im.example.com/balcony'
             type='error'>
           <error type='cancel'>
             <service-unavailable
                 xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
           </error>
         </iq>",
    );
    let iq = Iq::from_element(el).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(iq.type_(), IqType::Error);
    assert_eq!(iq.id(), "ixc3v1b9");
    let error = iq.error().unwrap_or_else(|| panic!("no error"));
    assert_eq!(
        (error.type_, error.condition),
        (ErrorType::Cancel, StanzaErrorCondition::ServiceUnavailable)
    );
}

/// §8.3.2: undefined-condition with text and an application condition.
#[test]
fn message_error_with_application_condition() {
    let el = parse(
        "<message from='romeo@example.net/orchard'
                  id='ngy3ch5x'
                  to='juliet@im.example.com/balcony'
                  type='error'>
           <error type='modify'>
             <undefined-condition
                 xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
             <text xml:lang='en'
                   xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>
               [ ... application-specific information ... ]
             </text>
             <too-many-parameters xmlns='http://example.org/ns'/>
           </error>
         </message>",
    );
    let m = Message::from_element(el).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.type_(), MessageType::Error);
    let e = m.error().unwrap_or_else(|| panic!("no error"));
    assert_eq!(
        (e.type_, e.condition),
        (ErrorType::Modify, StanzaErrorCondition::UndefinedCondition)
    );
    assert_eq!(
        e.text(Some("en")).map(str::trim),
        Some("[ ... application-specific information ... ]")
    );
    assert!(
        e.app_condition
            .as_ref()
            .is_some_and(|a| a.is("too-many-parameters", "http://example.org/ns"))
    );
    assert_eq!(
        StanzaError::from_element(&reparse(&e.to_element())).ok(),
        Some(e)
    );
}

/// §8.3.3.5 and §8.3.3.14: gone and redirect carry a URI; `by` is kept.
#[test]
fn gone_and_redirect_carry_their_uri() {
    for (condition, uri) in [
        ("gone", "xmpp:romeo@afterlife.example.net"),
        ("redirect", "xmpp:characters@conference.example.org"),
    ] {
        let el = parse(&format!(
            "<message from='romeo@example.net' id='sj2b371v' to='juliet@im.example.com/churchyard' type='error'>
               <error by='example.net' type='cancel'>
                 <{condition} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>{uri}</{condition}>
               </error>
             </message>"
        ));
        let e = Message::from_element(el)
            .ok()
            .and_then(|m| m.error())
            .unwrap_or_else(|| panic!("no error"));
        assert_eq!(e.condition.as_str(), condition);
        assert_eq!(e.uri.as_deref(), Some(uri));
        assert_eq!(e.by.as_deref(), Some("example.net"));
    }
}

/// §8.2.3: IQ structure rules.
#[test]
fn iq_structure_rules() {
    let get = parse(
        "<iq from='juliet@im.example.com/balcony' id='rg1' type='get'><query xmlns='jabber:iq:roster'/></iq>",
    );
    assert!(Iq::from_element(get).is_ok());
    for bad in [
        "<iq id='x' type='get'/>",
        "<iq id='x' type='set'><a xmlns='urn:a'/><b xmlns='urn:b'/></iq>",
        "<iq type='get'><query xmlns='jabber:iq:roster'/></iq>",
        "<iq id='x' type='fetch'><query xmlns='jabber:iq:roster'/></iq>",
        "<iq id='x' type='error'/>",
    ] {
        let e = Iq::from_element(parse(bad))
            .err()
            .unwrap_or_else(|| panic!("accepted {bad}"));
        assert_eq!(
            e.stanza_error().condition,
            StanzaErrorCondition::BadRequest,
            "{bad}"
        );
    }
}

/// An `<error/>` without `type` (old servers) keeps its condition and takes
/// the condition's usual type; an undefined `type` is refused.
#[test]
fn error_type_missing_or_unknown() {
    let el = parse(
        "<message type='error'><error><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
    );
    let e = Message::from_element(el)
        .ok()
        .and_then(|m| m.error())
        .unwrap_or_else(|| panic!("lost"));
    assert_eq!(
        (e.condition, e.type_),
        (StanzaErrorCondition::ItemNotFound, ErrorType::Cancel)
    );
    let bad = parse(
        "<error type='sometimes'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
    );
    assert!(StanzaError::from_element(&bad).is_err());
}

/// Every §8.3.3 condition with its usual type.
#[test]
fn every_stanza_condition_with_its_default_type() {
    for &c in StanzaErrorCondition::ALL {
        let e = StanzaError::from_condition(c);
        assert_eq!(StanzaError::from_element(&reparse(&e.to_element())), Ok(e));
    }
}

fn arb_stanza_error() -> impl Strategy<Value = StanzaError> {
    (
        0..StanzaErrorCondition::ALL.len(),
        0..5usize,
        proptest::option::of("[a-z.]{1,12}"),
        proptest::collection::vec((proptest::option::of("[a-z]{2}"), "[ -~é🚀]{0,20}"), 0..3),
        any::<bool>(),
        proptest::option::of("xmpp:[a-z]{1,8}@example\\.net"),
    )
        .prop_map(|(c, t, by, texts, app, uri)| {
            let condition = StanzaErrorCondition::ALL[c];
            let mut e = StanzaError::new(ErrorType::ALL[t], condition);
            e.by = by;
            e.texts = texts;
            if app {
                e.app_condition = Some(
                    Element::builder("custom", "urn:example:app")
                        .attr("n", "1")
                        .build(),
                );
            }
            if matches!(
                condition,
                StanzaErrorCondition::Gone | StanzaErrorCondition::Redirect
            ) {
                e.uri = uri;
            }
            e
        })
}

proptest! {
    #[test]
    fn stanza_errors_round_trip(e in arb_stanza_error()) {
        prop_assert_eq!(StanzaError::from_element(&reparse(&e.to_element())), Ok(e));
    }
}
