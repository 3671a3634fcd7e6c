//! Stream management (XEP-0198) on a client stream: transcripts fed whole,
//! cut at every byte offset and one byte at a time
//! (`assert_chunking_invariant`): enabling, acks both ways, the ack
//! request policy, `h` wrapping at 2^32, a count too high, resumption that
//! succeeds (exactly the unacknowledged stanzas resent) and that fails
//! (the stanzas handed back, then a fresh bind); and the saved state's
//! XML form (a property test).

mod common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use xmpp_sansio::stanza::{StanzaErrorCondition, StanzaView};
use xmpp_sansio::xml::Element;
use xmpp_sansio::{
    ClientConfig, Error, Event, SmConfig, SmState, SmStateError, State, Stream,
    StreamErrorCondition,
};

const SM_NS: &str = "urn:xmpp:sm:3";

/// The login up to the bind features, which offer stream management.
fn pre_bind() -> String {
    format!(
        "{SERVER_HEADER}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>\
         <success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>\
         {SERVER_HEADER}<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><sm xmlns='urn:xmpp:sm:3'/></stream:features>"
    )
}

fn bind_result(id: &str) -> String {
    format!(
        "<iq type='result' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.com/balcony</jid></bind></iq>"
    )
}

/// Stream management on; an ack asked for after 3 stanzas or 10 s.
fn sm_config() -> ClientConfig {
    let mut c = plain_config();
    c.stream_management = SmConfig::enabled();
    c.stream_management.ack_after_stanzas = Some(3);
    c.stream_management.ack_after = Some(Duration::from_secs(10));
    c.stream_management.max_resume = Some(Duration::from_secs(300));
    c
}

fn msg(n: u32) -> Element {
    Element::builder("message", "jabber:client")
        .attr("to", "romeo@example.net")
        .attr("id", format!("m{n}"))
        .child(
            Element::builder("body", "jabber:client")
                .text(format!("message {n}"))
                .build(),
        )
        .build()
}

fn incoming(n: u32) -> String {
    format!(
        "<message from='romeo@example.net/orchard' to='juliet@example.com/balcony' id='in{n}'><body>hi {n}</body></message>"
    )
}

/// Logs in, binds and gets `<enabled/>`; returns what was sent meanwhile.
fn online_with_sm(d: &mut Driver) -> Outcome {
    d.feed(pre_bind()).ok();
    let id = bind_request_id(&d.total.sent).unwrap_or_default();
    d.feed(bind_result(&id)).ok();
    d.feed("<enabled xmlns='urn:xmpp:sm:3' id='sm-1' resume='true' max='120'/>")
        .ok();
    d.recent()
}

fn acknowledged(events: &[Event]) -> Vec<Vec<Element>> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Acknowledged { stanzas } => Some(stanzas.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn enable_after_bind_when_offered_then_counts_and_acks() {
    let (out, state) = assert_chunking_invariant(
        |now| started(&sm_config(), now),
        |d| {
            let login = online_with_sm(d);
            let now = d.now;
            for n in 1..=2 {
                d.stream.send(msg(n), now).ok();
            }
            let two = d.recent();
            d.stream.send(msg(3), now).ok();
            let three = d.recent();
            d.feed("<a xmlns='urn:xmpp:sm:3' h='2'/>").ok();
            let acked = d.recent();
            d.feed(format!(
                "{}{}<r xmlns='urn:xmpp:sm:3'/>",
                incoming(1),
                incoming(2)
            ))
            .ok();
            let answer = d.recent();
            (login, two, three, acked, answer, d.stream.sm_state())
        },
    );
    let (login, two, three, acked, answer, state) = state;
    assert!(
        login
            .sent
            .ends_with("<enable xmlns='urn:xmpp:sm:3' resume='true' max='300'/>"),
        "{}",
        login.sent
    );
    assert!(login.events.contains(&Event::SmEnabled {
        id: Some("sm-1".into()),
        location: None,
        max: Some(120)
    }));
    // Online is reported before stream management is enabled.
    let online = login
        .events
        .iter()
        .position(|e| matches!(e, Event::Online { .. }));
    let enabled = login
        .events
        .iter()
        .position(|e| matches!(e, Event::SmEnabled { .. }));
    assert!(online < enabled);
    assert!(!two.sent.contains("<r "), "no request before 3 stanzas");
    assert!(
        three.sent.ends_with("<r xmlns='urn:xmpp:sm:3'/>"),
        "{}",
        three.sent
    );
    assert_eq!(acknowledged(&acked.events), vec![vec![msg(1), msg(2)]]);
    assert_eq!(answer.sent, "<a xmlns='urn:xmpp:sm:3' h='2'/>");
    let state = state.expect("a state once enabled");
    assert_eq!(state.id.as_deref(), Some("sm-1"));
    assert_eq!(state.jid.as_deref(), Some("juliet@example.com/balcony"));
    assert_eq!((state.inbound, state.acked, state.sent()), (2, 2, 3));
    assert_eq!(state.unacked, vec![msg(3)]);
    assert!(
        out.events
            .iter()
            .all(|e| !matches!(e, Event::Closed { .. }))
    );
}

#[test]
fn sm_is_not_enabled_unless_configured_and_offered() {
    // Configured, not offered.
    let (stream, out) = online_stream(sm_config(), epoch());
    assert!(!out.sent.contains(SM_NS));
    assert_eq!(stream.sm_state(), None);
    // Offered, not configured.
    let (out, state) = assert_chunking_invariant(
        |now| started(&plain_config(), now),
        |d| {
            d.feed(pre_bind()).ok();
            let id = bind_request_id(&d.total.sent).unwrap_or_default();
            d.feed(bind_result(&id)).ok();
            d.stream.send(msg(1), d.now).ok();
            d.stream.sm_state()
        },
    );
    assert!(!out.sent.contains(SM_NS), "{}", out.sent);
    assert_eq!(state, None);
}

#[test]
fn stanzas_sent_between_enable_and_enabled_are_counted() {
    let (_, (state, events)) = assert_chunking_invariant(
        |now| started(&sm_config(), now),
        |d| {
            d.feed(pre_bind()).ok();
            let id = bind_request_id(&d.total.sent).unwrap_or_default();
            d.feed(bind_result(&id)).ok();
            d.stream.send(msg(1), d.now).ok();
            // Inbound counting starts with <enabled/>: this one is not counted.
            d.feed(incoming(1)).ok();
            d.feed("<enabled xmlns='urn:xmpp:sm:3'/>").ok();
            d.feed(format!("{}<a xmlns='urn:xmpp:sm:3' h='1'/>", incoming(2)))
                .ok();
            (d.stream.sm_state(), d.recent().events)
        },
    );
    let state = state.expect("enabled");
    assert_eq!((state.inbound, state.acked), (1, 1));
    assert_eq!(state.id, None, "not resumable without resume='true'");
    assert!(!state.resumable());
    assert_eq!(acknowledged(&events), vec![vec![msg(1)]]);
}

#[test]
fn a_refused_enable_turns_stream_management_off() {
    let (out, state) = assert_chunking_invariant(
        |now| started(&sm_config(), now),
        |d| {
            d.feed(pre_bind()).ok();
            let id = bind_request_id(&d.total.sent).unwrap_or_default();
            d.feed(bind_result(&id)).ok();
            d.stream.send(msg(1), d.now).ok();
            d.feed("<failed xmlns='urn:xmpp:sm:3'><unexpected-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>").ok();
            for n in 2..=5 {
                d.stream.send(msg(n), d.now).ok();
            }
            d.stream.sm_state()
        },
    );
    assert!(out.events.contains(&Event::SmFailed {
        condition: Some(StanzaErrorCondition::UnexpectedRequest)
    }));
    assert_eq!(state, None);
    assert!(!out.sent.contains("<r "), "{}", out.sent);
    assert!(
        !out.events.iter().any(|e| matches!(e, Event::Closed { .. })),
        "the stream goes on"
    );
}

#[test]
fn an_ack_is_requested_after_the_interval_through_poll_timeout() {
    let (_, (first, after, fired, again)) = assert_chunking_invariant(
        |now| {
            let mut c = sm_config();
            c.keepalive = None;
            started(&c, now)
        },
        |d| {
            online_with_sm(d);
            let t0 = d.now;
            let before = d.stream.poll_timeout();
            d.stream.send(msg(1), t0).ok();
            let first = d.stream.poll_timeout().map(|t| t - t0);
            // A later stanza does not move the deadline.
            d.stream.send(msg(2), t0 + Duration::from_secs(4)).ok();
            let after = d.stream.poll_timeout().map(|t| t - t0);
            d.recent();
            d.stream.handle_timeout(t0 + Duration::from_secs(9));
            let early = d.recent().sent;
            d.stream.handle_timeout(t0 + Duration::from_secs(10));
            let fired = d.recent().sent;
            assert_eq!(before, None);
            assert_eq!(early, "");
            (first, after, fired, d.stream.poll_timeout())
        },
    );
    assert_eq!(first, Some(Duration::from_secs(10)));
    assert_eq!(after, Some(Duration::from_secs(10)));
    assert_eq!(fired, "<r xmlns='urn:xmpp:sm:3'/>");
    assert_eq!(again, None, "nothing uncovered: no timer");
}

#[test]
fn an_ack_beyond_what_was_sent_fails_with_handled_count_too_high() {
    let (out, error) = assert_chunking_invariant(
        |now| started(&sm_config(), now),
        |d| {
            online_with_sm(d);
            d.stream.send(msg(1), d.now).ok();
            d.stream.send(msg(2), d.now).ok();
            d.recent();
            d.feed("<a xmlns='urn:xmpp:sm:3' h='3'/>").err()
        },
    );
    assert_eq!(
        error,
        Some(Error::HandledCountTooHigh {
            h: 3,
            send_count: 2
        })
    );
    assert_eq!(
        error.and_then(|e| e.condition()),
        Some(StreamErrorCondition::UndefinedCondition)
    );
    assert!(
        out.sent.ends_with(
            "<stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
             <handled-count-too-high xmlns='urn:xmpp:sm:3' h='3' send-count='2'/></stream:error></stream:stream>"
        ),
        "{}",
        out.sent
    );
}

#[test]
fn a_malformed_h_is_bad_format() {
    for h in ["x", "-1", "4294967296", ""] {
        let (out, error) = assert_chunking_invariant(
            |now| started(&sm_config(), now),
            |d| {
                online_with_sm(d);
                d.feed(format!("<a xmlns='urn:xmpp:sm:3' h='{h}'/>")).err()
            },
        );
        assert!(
            matches!(
                error,
                Some(Error::Protocol {
                    condition: StreamErrorCondition::BadFormat,
                    ..
                })
            ),
            "{h:?}: {error:?}"
        );
        assert!(out.sent.contains("<bad-format "), "{}", out.sent);
    }
}

fn saved(inbound: u32, acked: u32, unacked: Vec<Element>) -> SmState {
    SmState {
        id: Some("sm-1".into()),
        location: None,
        max: Some(120),
        jid: Some("juliet@example.com/balcony".into()),
        inbound,
        acked,
        unacked,
    }
}

fn resuming(state: SmState) -> impl Fn(std::time::Instant) -> Stream {
    move |now| {
        let mut s = Stream::client_resuming(sm_config(), state.clone());
        s.start(now).ok();
        s
    }
}

#[test]
fn resumption_resends_exactly_the_unacknowledged_once_each_in_order() {
    let state = saved(5, 10, vec![msg(11), msg(12), msg(13)]);
    let (out, (login, resumed, after)) = assert_chunking_invariant(resuming(state), |d| {
        d.feed(pre_bind()).ok();
        let login = d.recent();
        d.feed("<resumed xmlns='urn:xmpp:sm:3' previd='sm-1' h='11'/>")
            .ok();
        let resumed = d.recent();
        d.feed(format!(
            "{}<r xmlns='urn:xmpp:sm:3'/><a xmlns='urn:xmpp:sm:3' h='13'/>",
            incoming(6)
        ))
        .ok();
        let after = d.recent();
        (
            login,
            resumed,
            (
                after,
                d.stream.state(),
                d.stream.bound_jid().map(str::to_owned),
                d.stream.sm_state(),
            ),
        )
    });
    assert!(
        login
            .sent
            .ends_with("<resume xmlns='urn:xmpp:sm:3' previd='sm-1' h='5'/>"),
        "{}",
        login.sent
    );
    assert!(!out.sent.contains("xmpp-bind"), "no bind: {}", out.sent);
    assert_eq!(
        resumed.sent,
        format!(
            "{}{}<r xmlns='urn:xmpp:sm:3'/>",
            "<message to='romeo@example.net' id='m12'><body>message 12</body></message>",
            "<message to='romeo@example.net' id='m13'><body>message 13</body></message>"
        )
    );
    assert_eq!(
        resumed.events,
        vec![
            Event::Acknowledged {
                stanzas: vec![msg(11)]
            },
            Event::Resumed {
                jid: "juliet@example.com/balcony".into(),
                resent: 2
            }
        ]
    );
    assert!(!out.events.iter().any(|e| matches!(e, Event::Online { .. })));
    let (after, state, jid, sm) = after;
    assert_eq!(after.sent, "<a xmlns='urn:xmpp:sm:3' h='6'/>");
    assert_eq!(acknowledged(&after.events), vec![vec![msg(12), msg(13)]]);
    assert_eq!(state, State::Online);
    assert_eq!(jid.as_deref(), Some("juliet@example.com/balcony"));
    let sm = sm.expect("resumed");
    assert_eq!((sm.inbound, sm.acked, sm.unacked.len()), (6, 13, 0));
}

#[test]
fn counters_wrap_at_two_to_the_32() {
    let state = saved(u32::MAX, u32::MAX - 1, vec![msg(1), msg(2), msg(3)]);
    let (_, (events, answer, sm)) = assert_chunking_invariant(resuming(state), |d| {
        d.feed(pre_bind()).ok();
        // h=0 acknowledges u32::MAX and 0: two stanzas.
        d.feed("<resumed xmlns='urn:xmpp:sm:3' previd='sm-1' h='0'/>")
            .ok();
        let events = d.recent().events;
        d.feed(format!("{}<r xmlns='urn:xmpp:sm:3'/>", incoming(1)))
            .ok();
        (events, d.recent().sent, d.stream.sm_state())
    });
    assert_eq!(acknowledged(&events), vec![vec![msg(1), msg(2)]]);
    assert_eq!(answer, "<a xmlns='urn:xmpp:sm:3' h='0'/>");
    let sm = sm.expect("resumed");
    assert_eq!((sm.inbound, sm.acked, sm.sent()), (0, 0, 1));
}

#[test]
fn a_resumed_h_too_high_fails_the_stream() {
    let state = saved(0, 10, vec![msg(11)]);
    let (out, error) = assert_chunking_invariant(resuming(state), |d| {
        d.feed(pre_bind()).ok();
        d.feed("<resumed xmlns='urn:xmpp:sm:3' previd='sm-1' h='13'/>")
            .err()
    });
    assert_eq!(
        error,
        Some(Error::HandledCountTooHigh {
            h: 13,
            send_count: 11
        })
    );
    assert!(
        out.sent
            .contains("<handled-count-too-high xmlns='urn:xmpp:sm:3' h='13' send-count='11'/>")
    );
}

#[test]
fn a_failed_resumption_hands_the_stanzas_back_then_binds_afresh() {
    let state = saved(5, 10, vec![msg(11), msg(12), msg(13)]);
    let (out, (failed, bound, sm)) = assert_chunking_invariant(resuming(state), |d| {
        d.feed(pre_bind()).ok();
        d.recent();
        d.feed("<failed xmlns='urn:xmpp:sm:3' h='11'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>").ok();
        let failed = d.recent();
        let id = bind_request_id(&failed.sent).unwrap_or_default();
        d.feed(bind_result(&id)).ok();
        d.feed("<enabled xmlns='urn:xmpp:sm:3' id='sm-2' resume='true'/>")
            .ok();
        let bound = d.recent();
        (failed, bound, d.stream.sm_state())
    });
    assert_eq!(
        failed.events,
        vec![
            Event::Acknowledged {
                stanzas: vec![msg(11)]
            },
            Event::ResumeFailed {
                unacked: vec![msg(12), msg(13)]
            }
        ]
    );
    assert!(
        failed.sent.contains(
            "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>balcony</resource></bind>"
        ),
        "{}",
        failed.sent
    );
    assert!(
        !out.sent.contains("message 12"),
        "nothing resent by the stream"
    );
    assert!(bound.events.contains(&Event::Online {
        jid: "juliet@example.com/balcony".into()
    }));
    assert!(
        bound
            .sent
            .contains("<enable xmlns='urn:xmpp:sm:3' resume='true' max='300'/>")
    );
    let sm = sm.expect("enabled anew");
    assert_eq!(sm.id.as_deref(), Some("sm-2"));
    assert_eq!(
        (sm.inbound, sm.acked, sm.unacked.len()),
        (0, 0, 0),
        "fresh counters"
    );
}

#[test]
fn without_stream_management_offered_the_stanzas_are_handed_back() {
    let state = saved(5, 10, vec![msg(11)]);
    let (out, ()) = assert_chunking_invariant(resuming(state), |d| {
        d.feed(plain_login_script().pre_bind).ok();
    });
    assert!(out.events.contains(&Event::ResumeFailed {
        unacked: vec![msg(11)]
    }));
    assert!(!out.sent.contains("<resume "));
    assert!(out.sent.contains("xmpp-bind"));
}

#[test]
fn an_unresumable_state_is_handed_back() {
    let mut state = saved(5, 10, vec![msg(11)]);
    state.id = None;
    let (out, ()) = assert_chunking_invariant(resuming(state), |d| {
        d.feed(pre_bind()).ok();
    });
    assert!(out.events.contains(&Event::ResumeFailed {
        unacked: vec![msg(11)]
    }));
    assert!(!out.sent.contains("<resume "));
}

#[test]
fn acks_still_release_while_closing() {
    let (_, events) = assert_chunking_invariant(
        |now| started(&sm_config(), now),
        |d| {
            online_with_sm(d);
            d.stream.send(msg(1), d.now).ok();
            d.stream.close(d.now);
            d.recent();
            d.feed("<a xmlns='urn:xmpp:sm:3' h='1'/><r xmlns='urn:xmpp:sm:3'/></stream:stream>")
                .ok();
            d.recent()
        },
    );
    assert_eq!(events.sent, "", "nothing written after our close");
    assert_eq!(acknowledged(&events.events), vec![vec![msg(1)]]);
}

#[test]
fn the_state_survives_the_end_of_the_stream() {
    let (_, sm) = assert_chunking_invariant(
        |now| started(&sm_config(), now),
        |d| {
            online_with_sm(d);
            d.stream.send(msg(1), d.now).ok();
            d.stream.handle_eof(d.now);
            d.stream.sm_state()
        },
    );
    let sm = sm.expect("kept after the end");
    assert!(sm.resumable());
    assert_eq!(sm.unacked, vec![msg(1)]);
    let back = SmState::from_xml(&sm.to_xml());
    assert_eq!(back, Ok(sm));
}

#[test]
fn saved_state_errors() {
    assert!(matches!(SmState::from_xml("<a"), Err(SmStateError::Xml(_))));
    assert_eq!(
        SmState::from_xml("<sm-state xmlns='urn:xmpp-sansio:sm-state:0' acked='1'/>"),
        Err(SmStateError::BadCount("inbound"))
    );
    assert_eq!(
        SmState::from_xml(
            "<sm-state xmlns='urn:xmpp-sansio:sm-state:0' inbound='1' acked='4294967296'/>"
        ),
        Err(SmStateError::BadCount("acked"))
    );
}

fn arb_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just('<'),
            Just('&'),
            Just('\''),
            Just('"'),
            Just('\r'),
            Just('\n'),
            Just('\t'),
            Just('é'),
            Just('🚀'),
            proptest::char::range('a', 'z'),
        ],
        0..12,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn arb_stanza() -> impl Strategy<Value = Element> {
    (
        prop_oneof![Just("message"), Just("presence"), Just("iq")],
        arb_text(),
        arb_text(),
    )
        .prop_map(|(name, id, body)| {
            Element::builder(name, "jabber:client")
                .attr("id", id)
                .child(Element::builder("body", "jabber:client").text(body).build())
                .child(
                    Element::builder("x", "urn:example:ext")
                        .attr("a", "1")
                        .build(),
                )
                .build()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn the_saved_state_parses_back_to_itself(
        id in proptest::option::of(arb_text()),
        location in proptest::option::of(arb_text()),
        max in proptest::option::of(any::<u32>()),
        jid in proptest::option::of(arb_text()),
        inbound in any::<u32>(),
        acked in any::<u32>(),
        unacked in proptest::collection::vec(arb_stanza(), 0..5),
    ) {
        let state = SmState { id, location, max, jid, inbound, acked, unacked };
        prop_assert_eq!(SmState::from_xml(&state.to_xml()), Ok(state));
    }
}

// ---- back to back: a client against the server role ----

use common::pair::{Chunking, Dir, Pair, pair_client_config, pair_server_config};
use xmpp_sansio::TlsPolicy;

/// Both sides with stream management, plaintext PLAIN, an ack asked for
/// after every 2 stanzas.
fn sm_pair() -> Pair {
    Pair::from_streams(Stream::client(pair_client()), sm_server())
}

fn pair_client() -> ClientConfig {
    let mut c = pair_client_config(TlsPolicy::Disabled);
    c.allow_plaintext_auth = true;
    c.mechanisms = Some(vec![xmpp_sansio::sasl::Mechanism::Plain]);
    c.resource = Some("balcony".into());
    c.stream_management = SmConfig::enabled();
    c.stream_management.ack_after_stanzas = Some(2);
    c
}

fn sm_server() -> Stream {
    let mut s = pair_server_config(TlsPolicy::Disabled);
    s.allow_plaintext_auth = true;
    s.stream_management = SmConfig::enabled();
    s.stream_management.ack_after_stanzas = Some(2);
    Stream::server(s)
}

fn chat(from_server: bool, n: u32) -> Element {
    let (to, body) = if from_server {
        ("juliet@example.com/balcony", format!("s{n}"))
    } else {
        ("romeo@example.net", format!("c{n}"))
    };
    Element::builder("message", "jabber:client")
        .attr("to", to)
        .attr("id", body.clone())
        .child(Element::builder("body", "jabber:client").text(body).build())
        .build()
}

/// The bodies of the messages in `events`.
fn bodies(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => m.body(None),
            _ => None,
        })
        .collect()
}

/// Whether stanzas sent now are protected by stream management: enabled
/// or resumed.
fn protected(events: &[Event]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, Event::SmEnabled { .. } | Event::Resumed { .. }))
}

/// Each application sends its messages once its stream is protected,
/// one at a time, the pair driven between; the ones not taken stay
/// pending.
fn exchange(pair: &mut Pair, client: &mut Vec<Element>, server: &mut Vec<Element>) {
    pair.drive();
    for _ in 0..8 {
        if protected(&pair.client_events)
            && !client.is_empty()
            && pair.client.send(client[0].clone(), pair.now).is_ok()
        {
            client.remove(0);
        }
        if protected(&pair.server_events)
            && !server.is_empty()
            && pair.server.send(server[0].clone(), pair.now).is_ok()
        {
            server.remove(0);
        }
        pair.drive();
    }
}

/// The scripted session, killed at `cut`, then resumed on a new pair;
/// returns what each side received (message bodies, in order), and the
/// bytes each side wrote on the first connection.
fn session(cut: Option<(Dir, usize)>) -> (Vec<String>, Vec<String>, usize, usize, bool) {
    session_chunked(cut, &[])
}

/// [`session`] with both directions read in pieces of `sizes`, cycled.
fn session_chunked(
    cut: Option<(Dir, usize)>,
    sizes: &[usize],
) -> (Vec<String>, Vec<String>, usize, usize, bool) {
    let mut client_out: Vec<Element> = (1..=5).map(|n| chat(false, n)).collect();
    let mut server_out: Vec<Element> = (1..=5).map(|n| chat(true, n)).collect();
    let mut pair = sm_pair();
    pair.cut = cut;
    if !sizes.is_empty() {
        pair.up = Chunking::sizes(sizes.to_vec());
        pair.down = Chunking::sizes(sizes.iter().rev().copied().collect());
    }
    exchange(&mut pair, &mut client_out, &mut server_out);
    let up = pair.client_sent.len();
    let down = pair.server_sent.len();
    let mut server_got = bodies(&pair.server_events);
    let mut client_got = bodies(&pair.client_events);
    if !pair.dead {
        return (server_got, client_got, up, down, false);
    }
    pair.both_eof();
    let client_state = pair.client.sm_state();
    let server_state = pair.server.sm_state();
    // The client resumes when it can; otherwise it starts afresh, and
    // what it had not had acknowledged would go again (nothing here: it
    // sends only once protected, so a state it cannot resume holds none).
    let resumable = client_state.as_ref().is_some_and(SmState::resumable);
    let client = match client_state {
        Some(state) if state.resumable() => Stream::client_resuming(pair_client(), state),
        other => {
            assert!(other.is_none_or(|s| s.unacked.is_empty()), "{cut:?}");
            Stream::client(pair_client())
        }
    };
    let mut next = Pair::from_streams(client, sm_server());
    if !sizes.is_empty() {
        next.up = Chunking::sizes(sizes.to_vec());
        next.down = Chunking::sizes(sizes.to_vec());
    }
    next.drive();
    let request = next.server_events.iter().find_map(|e| match e {
        Event::ResumeRequest { previd, .. } => Some(previd.clone()),
        _ => None,
    });
    let mut resumed = false;
    if let Some(previd) = request {
        let state = server_state
            .clone()
            .filter(|s| s.id.as_deref() == Some(&previd));
        match state {
            Some(state) => {
                next.server
                    .accept_resume(state, next.now)
                    .expect("resume awaited");
                resumed = true;
            }
            None => next.server.refuse_resume(next.now).expect("resume awaited"),
        }
    }
    assert_eq!(
        resumable, resumed,
        "{cut:?}: the server keeps every session the client can resume"
    );
    if !resumed {
        // The old session is gone: what the server had sent and not had
        // acknowledged goes on the new one first (the client had none of
        // it: it never saw <enabled/>, which comes before).
        if let Some(state) = &server_state {
            server_out.splice(0..0, state.unacked.iter().cloned());
        }
    }
    exchange(&mut next, &mut client_out, &mut server_out);
    assert!(
        client_out.is_empty() && server_out.is_empty(),
        "{cut:?}: all sent"
    );
    assert!(
        !next
            .client_events
            .iter()
            .any(|e| matches!(e, Event::Closed { .. })),
        "{cut:?}: {:?}",
        next.client_events
    );
    server_got.extend(bodies(&next.server_events));
    client_got.extend(bodies(&next.client_events));
    (server_got, client_got, up, down, resumed)
}

#[test]
fn back_to_back_stream_management_enables_counts_and_acks() {
    let mut pair = sm_pair();
    let mut client_out: Vec<Element> = (1..=5).map(|n| chat(false, n)).collect();
    let mut server_out: Vec<Element> = (1..=5).map(|n| chat(true, n)).collect();
    exchange(&mut pair, &mut client_out, &mut server_out);
    assert_eq!(bodies(&pair.server_events), ["c1", "c2", "c3", "c4", "c5"]);
    assert_eq!(bodies(&pair.client_events), ["s1", "s2", "s3", "s4", "s5"]);
    assert!(pair.server_sent.contains("<sm xmlns='urn:xmpp:sm:3'/>"));
    let (c, s) = (
        pair.client.sm_state().expect("client"),
        pair.server.sm_state().expect("server"),
    );
    assert_eq!(c.id, s.id, "the server's resumption id");
    assert!(c.id.as_ref().is_some_and(|id| id.len() >= 16));
    // Each side's inbound count is the other's sent count.
    assert_eq!((c.inbound, s.inbound), (s.sent(), c.sent()));
    assert_eq!((c.sent(), s.sent()), (5, 5));
    // Acks were asked for after every 2: all but the last one released.
    assert_eq!((c.acked, s.acked), (4, 4));
    let acked: usize = pair
        .client_events
        .iter()
        .map(|e| match e {
            Event::Acknowledged { stanzas } => stanzas.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(acked, 4);
}

#[test]
fn a_connection_cut_anywhere_then_resumed_delivers_every_stanza_once_in_order() {
    let (server_got, client_got, up, down, _) = session(None);
    let want_server: Vec<String> = (1..=5).map(|n| format!("c{n}")).collect();
    let want_client: Vec<String> = (1..=5).map(|n| format!("s{n}")).collect();
    assert_eq!(server_got, want_server);
    assert_eq!(client_got, want_client);
    let (mut resumed, mut fresh) = (0, 0);
    for cut in (0..=up)
        .map(|k| (Dir::Up, k))
        .chain((0..=down).map(|k| (Dir::Down, k)))
    {
        let (server_got, client_got, _, _, was_resumed) = session(Some(cut));
        assert_eq!(server_got, want_server, "client → server, cut at {cut:?}");
        assert_eq!(client_got, want_client, "server → client, cut at {cut:?}");
        resumed += usize::from(was_resumed);
        fresh += usize::from(!was_resumed);
    }
    // Cuts before <enabled/> reached the client start afresh; the rest resume.
    assert!(
        resumed > 500 && fresh > 0,
        "{resumed} resumed, {fresh} afresh"
    );
}

#[test]
fn the_same_holds_when_reads_come_in_small_pieces() {
    let want_server: Vec<String> = (1..=5).map(|n| format!("c{n}")).collect();
    let want_client: Vec<String> = (1..=5).map(|n| format!("s{n}")).collect();
    let sizes = [3, 1, 7, 2];
    let (_, _, up, down, _) = session_chunked(None, &sizes);
    // Every 11th offset either way (the full sweep is above).
    for cut in (0..=up)
        .step_by(11)
        .map(|k| (Dir::Up, k))
        .chain((0..=down).step_by(11).map(|k| (Dir::Down, k)))
    {
        let (server_got, client_got, ..) = session_chunked(Some(cut), &sizes);
        assert_eq!(server_got, want_server, "cut at {cut:?}");
        assert_eq!(client_got, want_client, "cut at {cut:?}");
    }
}

// ---- the server role, transcripts at every split ----

use common::server_side::{
    CLIENT_HEADER, bind_request, juliet, plain_auth, plain_server_config, started_server,
};
use xmpp_sansio::{ServerConfig, UsageError};

fn sm_server_config() -> ServerConfig {
    let mut c = plain_server_config();
    c.stream_management = SmConfig::enabled();
    c.stream_management.ack_after_stanzas = Some(2);
    c.stream_management.max_resume = Some(Duration::from_secs(600));
    c
}

fn server_setup(config: ServerConfig) -> impl Fn(std::time::Instant) -> Stream {
    move |now| started_server(&config, now)
}

/// Authenticated as juliet over PLAIN, the stream restarted.
fn authenticated(d: &mut Driver) {
    d.feed(format!("{CLIENT_HEADER}{}", plain_auth("juliet", "r0m30")))
        .ok();
    d.stream.provide_credentials(Some(&juliet()), d.now).ok();
    d.drain();
    d.feed(CLIENT_HEADER).ok();
}

/// … and bound as juliet@example.com/balcony.
fn bound(d: &mut Driver) {
    authenticated(d);
    d.feed(bind_request(Some("balcony"))).ok();
    d.stream.accept_bind(Some("balcony"), d.now).ok();
    d.drain();
}

fn from_client(n: u32) -> String {
    format!("<message to='romeo@example.net' id='c{n}'><body>c{n}</body></message>")
}

#[test]
fn the_server_offers_sm_answers_enable_counts_and_asks_for_acks() {
    let (out, (enabled, acks, requested, released, sm)) =
        assert_chunking_invariant(server_setup(sm_server_config()), |d| {
            bound(d);
            d.recent();
            d.feed("<enable xmlns='urn:xmpp:sm:3' resume='true' max='900'/>")
                .ok();
            let enabled = d.recent();
            d.feed(format!(
                "{}{}<r xmlns='urn:xmpp:sm:3'/>",
                from_client(1),
                from_client(2)
            ))
            .ok();
            let acks = d.recent().sent;
            d.stream.send(chat(true, 1), d.now).ok();
            d.stream.send(chat(true, 2), d.now).ok();
            let requested = d.recent().sent;
            d.feed("<a xmlns='urn:xmpp:sm:3' h='1'/>").ok();
            let released = d.recent().events;
            (enabled, acks, requested, released, d.stream.sm_state())
        });
    assert!(out.sent.contains("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session><sm xmlns='urn:xmpp:sm:3'/></stream:features>"), "{}", out.sent);
    let sm = sm.expect("enabled");
    let id = sm.id.clone().unwrap_or_default();
    assert_eq!(id.len(), 24);
    // The server's max is its own, not the client's.
    assert_eq!(
        enabled.sent,
        format!("<enabled xmlns='urn:xmpp:sm:3' id='{id}' resume='true' max='600'/>")
    );
    assert_eq!(
        enabled.events,
        vec![Event::SmEnabled {
            id: Some(id.clone()),
            location: None,
            max: Some(600)
        }]
    );
    assert_eq!(acks, "<a xmlns='urn:xmpp:sm:3' h='2'/>");
    assert!(
        requested.ends_with("</message><r xmlns='urn:xmpp:sm:3'/>"),
        "{requested}"
    );
    assert_eq!(acknowledged(&released), vec![vec![chat(true, 1)]]);
    assert_eq!(sm.jid.as_deref(), Some("juliet@example.com/balcony"));
    assert_eq!(
        (sm.inbound, sm.acked, sm.unacked.clone()),
        (2, 1, vec![chat(true, 2)])
    );
}

#[test]
fn the_server_refuses_enable_before_binding_twice_or_when_off() {
    const UNEXPECTED: &str = "<failed xmlns='urn:xmpp:sm:3'><unexpected-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>";
    let (_, (early, twice)) = assert_chunking_invariant(server_setup(sm_server_config()), |d| {
        authenticated(d);
        d.recent();
        d.feed("<enable xmlns='urn:xmpp:sm:3'/>").ok();
        let early = d.recent().sent;
        d.feed(bind_request(Some("balcony"))).ok();
        d.stream.accept_bind(Some("balcony"), d.now).ok();
        d.feed("<enable xmlns='urn:xmpp:sm:3'/>").ok();
        d.recent();
        d.feed("<enable xmlns='urn:xmpp:sm:3'/>").ok();
        (early, d.recent().sent)
    });
    assert_eq!(early, UNEXPECTED);
    assert_eq!(twice, UNEXPECTED);
    let (out, sm) = assert_chunking_invariant(server_setup(plain_server_config()), |d| {
        bound(d);
        d.recent();
        d.feed("<enable xmlns='urn:xmpp:sm:3'/>").ok();
        d.stream.sm_state()
    });
    assert!(!out.sent.contains("<sm xmlns"), "not offered");
    assert!(out.sent.ends_with(UNEXPECTED));
    assert_eq!(sm, None);
}

fn server_saved() -> SmState {
    SmState {
        id: Some("prev-1".into()),
        location: None,
        max: None,
        jid: Some("juliet@example.com/balcony".into()),
        inbound: 3,
        acked: 0,
        unacked: vec![chat(true, 1), chat(true, 2), chat(true, 3)],
    }
}

#[test]
fn the_server_resumes_a_session_the_application_kept_and_replays() {
    let (out, (request, misuse, resumed, after, sm)) =
        assert_chunking_invariant(server_setup(sm_server_config()), |d| {
            authenticated(d);
            d.recent();
            let early = d.stream.accept_resume(server_saved(), d.now);
            d.feed("<resume xmlns='urn:xmpp:sm:3' previd='prev-1' h='1'/>")
                .ok();
            let request = d.recent();
            let mut other = server_saved();
            other.id = Some("prev-2".into());
            let wrong_id = d.stream.accept_resume(other, d.now);
            let mut other = server_saved();
            other.jid = Some("romeo@example.com/orchard".into());
            let wrong_account = d.stream.accept_resume(other, d.now);
            d.stream.accept_resume(server_saved(), d.now).ok();
            let resumed = d.recent();
            let again = d.stream.refuse_resume(d.now);
            d.feed(format!("{}<r xmlns='urn:xmpp:sm:3'/>", from_client(4)))
                .ok();
            let after = d.recent();
            (
                request,
                (early, wrong_id, wrong_account, again),
                resumed,
                after,
                (
                    d.stream.state(),
                    d.stream.bound_jid().map(str::to_owned),
                    d.stream.sm_state(),
                ),
            )
        });
    assert_eq!(
        request.events,
        vec![Event::ResumeRequest {
            previd: "prev-1".into(),
            h: 1
        }]
    );
    assert_eq!(request.sent, "", "the application decides");
    assert_eq!(
        misuse,
        (
            Err(UsageError::NotAwaitingResume),
            Err(UsageError::ResumeStateMismatch),
            Err(UsageError::ResumeStateMismatch),
            Err(UsageError::NotAwaitingResume)
        )
    );
    assert_eq!(
        resumed.sent,
        "<resumed xmlns='urn:xmpp:sm:3' previd='prev-1' h='3'/>\
         <message to='juliet@example.com/balcony' id='s2'><body>s2</body></message>\
         <message to='juliet@example.com/balcony' id='s3'><body>s3</body></message>\
         <r xmlns='urn:xmpp:sm:3'/>"
    );
    assert_eq!(
        resumed.events,
        vec![
            Event::Acknowledged {
                stanzas: vec![chat(true, 1)]
            },
            Event::Resumed {
                jid: "juliet@example.com/balcony".into(),
                resent: 2
            }
        ]
    );
    assert!(!out.sent.contains("xmpp-bind'><jid>"), "no bind");
    // The resumed session goes on: stanzas stamped and counted.
    assert_eq!(after.sent, "<a xmlns='urn:xmpp:sm:3' h='4'/>");
    assert_eq!(
        after.events.iter().find_map(|e| match e {
            Event::Message(m) => m.element().attr("from").map(str::to_owned),
            _ => None,
        }),
        Some("juliet@example.com/balcony".into())
    );
    let (state, jid, sm) = sm;
    assert_eq!(state, State::Online);
    assert_eq!(jid.as_deref(), Some("juliet@example.com/balcony"));
    assert_eq!(
        sm.map(|s| (s.inbound, s.acked, s.unacked.len())),
        Some((4, 1, 2))
    );
}

#[test]
fn a_refused_resumption_is_item_not_found_and_binding_goes_on() {
    let (out, (refused, online)) =
        assert_chunking_invariant(server_setup(sm_server_config()), |d| {
            authenticated(d);
            d.recent();
            d.feed("<resume xmlns='urn:xmpp:sm:3' previd='gone' h='0'/>")
                .ok();
            d.stream.refuse_resume(d.now).ok();
            let refused = d.recent().sent;
            d.feed(bind_request(Some("balcony"))).ok();
            d.stream.accept_bind(Some("balcony"), d.now).ok();
            (refused, d.stream.state())
        });
    assert_eq!(
        refused,
        "<failed xmlns='urn:xmpp:sm:3'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>"
    );
    assert_eq!(online, State::Online);
    assert!(out.events.contains(&Event::Online {
        jid: "juliet@example.com/balcony".into()
    }));
}

/// The replies the stream makes itself (written without a tree) are
/// counted and kept for resending like any stanza: a ping's result and a
/// refusal stay unacknowledged in the state until the peer's `h` covers
/// them.
#[test]
fn automatic_replies_are_counted_and_kept() {
    let (_, (sent, state)) = assert_chunking_invariant(
        |now| started(&sm_config(), now),
        |d| {
            online_with_sm(d);
            d.feed("<iq type='get' id='p1' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>\
                    <iq type='get' id='v1' from='romeo@example.net/orchard'><query xmlns='jabber:iq:version'/></iq>")
                .ok();
            (d.recent().sent, d.stream.sm_state())
        },
    );
    let ping = "<iq type='result' id='p1' to='example.com'/>";
    let refusal = "<iq type='error' id='v1' to='romeo@example.net/orchard'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>";
    assert_eq!(sent, format!("{ping}{refusal}"));
    let state = state.expect("a state once enabled");
    assert_eq!((state.inbound, state.acked, state.sent()), (2, 0, 2));
    let kept: Vec<String> = state
        .unacked
        .iter()
        .map(|el| {
            let mut out = Vec::new();
            xmpp_sansio::xml::writer::write_stream_child(el, &mut out, "jabber:client");
            String::from_utf8(out).unwrap_or_default()
        })
        .collect();
    assert_eq!(kept, [ping, refusal]);
}
