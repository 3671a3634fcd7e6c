//! IQ bookkeeping: our outstanding requests (id allocation, matching
//! replies by id *and* sender, deadlines), and the inbound requests the
//! application still has to answer.
//!
//! # Who may answer a request (RFC 6120 §8.1.2.1, §8.2.3)
//!
//! A reply comes from the entity the request was sent to. A `result` or
//! `error` with a known id but another sender is not a reply: it surfaces
//! as `Event::Unhandled` and the request stays pending. Exactly:
//!
//! - **No `to`, or our own bare JID.** The server handles the request on
//!   behalf of the account (RFC 6120 §10.3.3; RFC 6121 §8.5.2 for an IQ to
//!   a bare JID; a missing `to` means the account). A stanza the server
//!   generates on behalf of the account has no `from` or the account's bare
//!   JID (§8.1.2.1, rule 3; Prosody sends none); one it generates on its
//!   own behalf, such as an error for a namespace it does not serve, has
//!   the server's domain (rule 2). Those three are accepted, nothing else:
//!   not our full JID (RFC 3920 allowed it, RFC 6120 dropped it), not
//!   another resource.
//! - **Any other `to`** (our full JID, the server's domain, another
//!   entity): the reply's `from` must be that address. No `from` is not
//!   accepted, since the server only omits it for stanzas it generates on
//!   the account's behalf (rule 4).
//!
//! Addresses are compared after preparation by the `jid` crate (case-folded
//! localpart and domain) when it parses both, and as raw text otherwise;
//! either way a domainpart's final dot is stripped first (RFC 7622 §3.2:
//! `juliet@example.com.` is `juliet@example.com`).

use std::collections::{BTreeSet, HashMap};

use crate::stanza::same_address;
use crate::time::Instant;

/// Who issued an IQ request: the application, or the stream itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// The application's `send_iq`.
    Application,
    /// Resource binding (RFC 6120 §7).
    Bind,
    /// Legacy session establishment.
    Session,
    /// A keepalive ping (XEP-0199).
    Ping,
    /// A ping the application asked for (`Stream::ping`), sent at `sent`:
    /// its result becomes `Event::Pong` with the round-trip time.
    UserPing { sent: Instant },
    /// A roster request (RFC 6121 §2.1.3): its result becomes `Event::Roster`.
    /// `ver`: the version it carried, if any; then an empty result means
    /// "that version is current".
    Roster { ver: Option<String> },
}

#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) to: Option<String>,
    pub(crate) deadline: Option<Instant>,
    pub(crate) purpose: Purpose,
}

/// The account's own addresses, to recognise replies from "ourselves".
#[derive(Debug, Clone, Default)]
pub(crate) struct OwnAddress {
    pub(crate) bare: String,
    pub(crate) domain: String,
}

/// Inbound `get`/`set` requests delivered to the application and not yet
/// answered, counted by sender (as sent) and id. Each delivery allows
/// exactly one reply.
#[derive(Debug, Default)]
pub(crate) struct InboundRequests {
    open: HashMap<(Option<String>, String), u32>,
    total: usize,
}

impl InboundRequests {
    /// Records a delivered request.
    pub(crate) fn insert(&mut self, from: Option<&str>, id: &str) {
        *self
            .open
            .entry((from.map(str::to_owned), id.to_owned()))
            .or_insert(0) += 1;
        self.total += 1;
    }

    /// Consumes the right to answer the request `from`/`id`; `false` if it
    /// was answered already or never delivered.
    pub(crate) fn take(&mut self, from: Option<&str>, id: &str) -> bool {
        let key = (from.map(str::to_owned), id.to_owned());
        match self.open.get_mut(&key) {
            Some(n) if *n > 1 => *n -= 1,
            Some(_) => {
                self.open.remove(&key);
            }
            None => return false,
        }
        self.total -= 1;
        if self.total == 0 {
            // All answered: the map's memory goes back (an idle stream
            // holds none).
            self.open = HashMap::new();
        }
        true
    }

    /// How many delivered requests are unanswered.
    pub(crate) fn len(&self) -> usize {
        self.total
    }
}

/// Our outstanding requests by id, and their deadlines in order, so the
/// earliest is found in O(log n) however many are pending.
#[derive(Debug)]
pub(crate) struct IqTracker {
    pending: HashMap<String, Pending>,
    /// `(deadline, id)` of every pending request that has a deadline.
    deadlines: BTreeSet<(Instant, String)>,
    prefix: String,
    counter: u64,
}

impl IqTracker {
    /// `prefix` makes ids unpredictable across sessions (from the stream's rng).
    pub(crate) fn new(prefix: String) -> Self {
        Self {
            pending: HashMap::new(),
            deadlines: BTreeSet::new(),
            prefix,
            counter: 0,
        }
    }

    /// A fresh id, never issued before on this stream.
    pub(crate) fn next_id(&mut self) -> String {
        self.counter += 1;
        format!("{}-{}", self.prefix, self.counter)
    }

    pub(crate) fn register(&mut self, id: String, pending: Pending) {
        if let Some(at) = pending.deadline {
            self.deadlines.insert((at, id.clone()));
        }
        if let Some(old) = self.pending.insert(id.clone(), pending) {
            self.forget_deadline(&id, &old);
        }
    }

    fn forget_deadline(&mut self, id: &str, pending: &Pending) {
        if let Some(at) = pending.deadline {
            self.deadlines.remove(&(at, id.to_owned()));
        }
    }

    /// Takes the request `id` if `from` may answer it (see the module
    /// docs for the rules).
    pub(crate) fn take_reply(
        &mut self,
        id: &str,
        from: Option<&str>,
        own: &OwnAddress,
    ) -> Option<Pending> {
        let pending = self.pending.get(id)?;
        let to_account = pending
            .to
            .as_deref()
            .is_none_or(|to| same_address(to, &own.bare));
        let accepted = match (pending.to.as_deref(), from) {
            (_, None) => to_account,
            (_, Some(from)) if to_account => {
                same_address(from, &own.bare) || same_address(from, &own.domain)
            }
            (Some(to), Some(from)) => same_address(to, from),
            (None, Some(_)) => false,
        };
        if !accepted {
            return None;
        }
        let pending = self.pending.remove(id)?;
        self.forget_deadline(id, &pending);
        self.give_back_if_idle();
        Some(pending)
    }

    /// With nothing pending, the maps' memory goes back: an idle stream
    /// holds none (about 830 B otherwise, kept from its bind request on).
    /// One allocation per map for the next request after an idle spell.
    fn give_back_if_idle(&mut self) {
        if self.pending.is_empty() {
            self.pending = HashMap::new();
            self.deadlines = BTreeSet::new();
        }
    }

    /// Forgets every pending request (the stream failed or ended: no
    /// reply can be read any more).
    pub(crate) fn clear(&mut self) {
        self.pending = HashMap::new();
        self.deadlines = BTreeSet::new();
    }

    /// The earliest deadline of any pending request.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    /// Removes and returns every request whose deadline is at or before
    /// `now`, in deadline order.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<(String, Pending)> {
        let mut out = Vec::new();
        while let Some((at, _)) = self.deadlines.first()
            && *at <= now
        {
            let Some((_, id)) = self.deadlines.pop_first() else {
                break;
            };
            if let Some(pending) = self.pending.remove(&id) {
                out.push((id, pending));
            }
        }
        if !out.is_empty() {
            self.give_back_if_idle();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn own() -> OwnAddress {
        OwnAddress {
            bare: "juliet@example.com".into(),
            domain: "example.com".into(),
        }
    }

    fn pending(to: Option<&str>) -> Pending {
        Pending {
            to: to.map(str::to_owned),
            deadline: None,
            purpose: Purpose::Application,
        }
    }

    /// With nothing pending or open, the maps hold no memory: an idle
    /// stream keeps none of what its last requests grew.
    #[test]
    fn idle_bookkeeping_gives_its_memory_back() {
        #[allow(clippy::disallowed_methods)] // a test needs one real instant as its epoch
        let t0 = Instant::now();
        let mut t = IqTracker::new("x".into());
        for id in ["a", "b"] {
            t.register(
                id.into(),
                Pending {
                    deadline: Some(t0 + Duration::from_secs(1)),
                    ..pending(None)
                },
            );
        }
        assert!(t.take_reply("a", None, &own()).is_some());
        assert!(t.pending.capacity() > 0, "one still pending");
        assert!(t.take_reply("b", None, &own()).is_some());
        assert_eq!(t.pending.capacity(), 0);
        assert!(t.deadlines.is_empty());
        t.register(
            "c".into(),
            Pending {
                deadline: Some(t0),
                ..pending(None)
            },
        );
        assert_eq!(t.expire(t0).len(), 1);
        assert_eq!(t.pending.capacity(), 0);
        let mut r = InboundRequests::default();
        r.insert(None, "1");
        r.insert(Some("romeo@example.net/orchard"), "2");
        assert!(r.take(None, "1"));
        assert!(r.open.capacity() > 0);
        assert!(r.take(Some("romeo@example.net/orchard"), "2"));
        assert_eq!(r.open.capacity(), 0);
    }

    #[test]
    fn replies_must_come_from_the_addressee() {
        let mut t = IqTracker::new("x".into());
        t.register("1".into(), pending(Some("romeo@example.net/orchard")));
        assert!(
            t.take_reply("1", Some("mallory@evil.example/x"), &own())
                .is_none()
        );
        assert!(t.take_reply("1", None, &own()).is_none());
        assert!(
            t.take_reply("1", Some("Romeo@EXAMPLE.net/orchard"), &own())
                .is_some()
        );
        assert!(
            t.take_reply("1", Some("romeo@example.net/orchard"), &own())
                .is_none(),
            "taken once"
        );
    }

    #[test]
    fn requests_to_the_account_accept_exactly_rfc6120s_forms_of_reply() {
        let mut t = IqTracker::new("x".into());
        // No `to`, or our own bare JID: the server answers for the account.
        for to in [None, Some("juliet@example.com"), Some("Juliet@Example.COM")] {
            for from in [
                None,
                Some("juliet@example.com"),
                Some("JULIET@example.com"),
                Some("example.com"),
            ] {
                t.register("a".into(), pending(to));
                assert!(t.take_reply("a", from, &own()).is_some(), "{to:?} {from:?}");
            }
            for from in [
                Some("juliet@example.com/balcony"),
                Some("juliet@example.com/other"),
                Some("other.example"),
                Some("romeo@example.com"),
            ] {
                t.register("b".into(), pending(to));
                assert!(t.take_reply("b", from, &own()).is_none(), "{to:?} {from:?}");
            }
        }
        // Our own full JID: only that JID answers.
        t.register("c".into(), pending(Some("juliet@example.com/balcony")));
        for from in [None, Some("juliet@example.com"), Some("example.com")] {
            assert!(t.take_reply("c", from, &own()).is_none(), "{from:?}");
        }
        assert!(
            t.take_reply("c", Some("juliet@example.com/balcony"), &own())
                .is_some()
        );
        // The server's domain: only the domain answers.
        t.register("d".into(), pending(Some("example.com")));
        for from in [None, Some("juliet@example.com")] {
            assert!(t.take_reply("d", from, &own()).is_none(), "{from:?}");
        }
        assert!(t.take_reply("d", Some("EXAMPLE.com"), &own()).is_some());
    }

    /// RFC 7622 §3.2: a domainpart's final dot is stripped before any
    /// comparison, for addresses the `jid` crate prepares (which keeps the
    /// dot: `Jid::new("a@b.") != Jid::new("a@b")`) and for those compared
    /// raw, in the localpart@domain, domain and domain/resource forms.
    #[test]
    fn a_domains_final_dot_is_stripped_before_comparing() {
        assert_ne!(
            jid::Jid::new("juliet@example.com.").ok(),
            jid::Jid::new("juliet@example.com").ok(),
            "the jid crate alone keeps the dot"
        );
        for (a, b) in [
            ("juliet@example.com.", "juliet@example.com"),
            ("Juliet@Example.COM.", "juliet@example.com"),
            ("example.com.", "example.com"),
            ("example.com./res", "EXAMPLE.com/res"),
            ("romeo@example.net./orchard", "romeo@example.net/orchard"),
            // Raw comparison (the jid crate refuses the resource).
            (
                "coven@chat.example./Niaj 🚀33",
                "coven@chat.example/Niaj 🚀33",
            ),
        ] {
            assert!(same_address(a, b), "{a} = {b}");
            assert!(same_address(b, a), "{b} = {a}");
        }
        for (a, b) in [
            ("juliet@example.com..", "juliet@example.com"),
            ("example.com/res.", "example.com/res"),
            ("juliet.@example.com", "juliet@example.com"),
            (
                "coven@chat.example/Niaj 🚀33.",
                "coven@chat.example/Niaj 🚀33",
            ),
        ] {
            assert!(
                !same_address(a, b),
                "{a} != {b}: only the domain's final dot goes"
            );
        }
        // Through the reply matching: a request to the account and to
        // another entity, answered from the dotted forms.
        let mut t = IqTracker::new("x".into());
        t.register("1".into(), pending(Some("romeo@example.net/orchard")));
        assert!(
            t.take_reply("1", Some("romeo@example.net./orchard"), &own())
                .is_some()
        );
        for from in ["juliet@example.com.", "example.com."] {
            t.register("2".into(), pending(None));
            assert!(t.take_reply("2", Some(from), &own()).is_some(), "{from}");
        }
    }

    /// Which preparation decides equality: RFC 6122 (the `jid` crate) by
    /// default, RFC 7622 with the `precis` feature (see docs/jid.md).
    #[test]
    fn comparison_follows_the_configured_preparation() {
        let precis = cfg!(feature = "precis");
        for (a, b, rfc6122, rfc7622) in [
            ("straße@example.com", "strasse@example.com", true, false),
            ("όσος@example.com", "όσοσ@example.com", true, false),
            (
                "juliet@example.com/ｂａｌｃｏｎｙ",
                "juliet@example.com/balcony",
                true,
                false,
            ),
            (
                "coven@Chat.example/Niaj 🚀",
                "coven@chat.example/Niaj 🚀",
                false,
                true,
            ),
            ("أحمد43@Example.com", "أحمد43@example.com", false, true),
            (
                "Juliet@Example.com/balcony",
                "juliet@example.com/balcony",
                true,
                true,
            ),
            (
                "juliet@example.com/Balcony",
                "juliet@example.com/balcony",
                false,
                false,
            ),
        ] {
            let want = if precis { rfc7622 } else { rfc6122 };
            assert_eq!(same_address(a, b), want, "{a} vs {b} (precis: {precis})");
        }
    }

    #[test]
    fn addresses_the_jid_crate_refuses_compare_raw() {
        let mut t = IqTracker::new("x".into());
        let odd = "romeo@exa mple.net";
        assert!(jid::Jid::new(odd).is_err(), "the jid crate refuses it");
        t.register("1".into(), pending(Some(odd)));
        assert!(
            t.take_reply("1", Some("romeo@exa  mple.net"), &own())
                .is_none()
        );
        assert!(t.take_reply("1", Some(odd), &own()).is_some());
    }

    #[test]
    fn inbound_requests_allow_one_reply_per_delivery() {
        let mut r = InboundRequests::default();
        assert!(!r.take(None, "1"), "never delivered");
        r.insert(Some("romeo@example.net/orchard"), "1");
        r.insert(Some("romeo@example.net/orchard"), "1");
        r.insert(None, "1");
        assert_eq!(r.len(), 3);
        assert!(!r.take(Some("mallory@evil.example"), "1"));
        assert!(r.take(Some("romeo@example.net/orchard"), "1"));
        assert!(r.take(Some("romeo@example.net/orchard"), "1"));
        assert!(
            !r.take(Some("romeo@example.net/orchard"), "1"),
            "answered twice"
        );
        assert!(r.take(None, "1"));
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn deadlines_expire_in_order() {
        #[allow(clippy::disallowed_methods)] // a test needs one real instant as its epoch
        let t0 = Instant::now();
        let mut t = IqTracker::new("x".into());
        for (id, secs) in [("a", 30), ("b", 10), ("c", 20)] {
            t.register(
                id.into(),
                Pending {
                    deadline: Some(t0 + Duration::from_secs(secs)),
                    ..pending(None)
                },
            );
        }
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_secs(10)));
        let expired: Vec<_> = t
            .expire(t0 + Duration::from_secs(20))
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(expired, ["b", "c"]);
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_secs(30)));
        assert!(t.next_id() != t.next_id());
    }

    /// A reply takes its request's deadline with it, and a re-registered id
    /// keeps only its new deadline.
    #[test]
    fn answered_requests_leave_the_deadline_order() {
        #[allow(clippy::disallowed_methods)] // a test needs one real instant as its epoch
        let t0 = Instant::now();
        let at = |secs| Pending {
            deadline: Some(t0 + Duration::from_secs(secs)),
            ..pending(None)
        };
        let mut t = IqTracker::new("x".into());
        t.register("a".into(), at(10));
        t.register("b".into(), at(20));
        t.register("c".into(), at(5));
        t.register("c".into(), at(30));
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_secs(10)));
        assert!(t.take_reply("a", None, &own()).is_some());
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_secs(20)));
        let expired: Vec<_> = t
            .expire(t0 + Duration::from_secs(60))
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(expired, ["b", "c"]);
        assert_eq!(t.next_deadline(), None);
    }

    /// The earliest deadline costs about as much with 64,000 requests
    /// pending as with 1,000 (a scan of every pending request, as once,
    /// costs 64 times as much: issue 14 measured 30 µs per read with
    /// 10,000 pending). Timed as the minimum of several rounds, so a
    /// loaded machine slows both sides alike; the bound is generous.
    #[test]
    fn the_earliest_deadline_does_not_scan_every_pending_request() {
        #[allow(clippy::disallowed_methods)] // timing is what this test checks
        fn cost(n: u64) -> Duration {
            let t0 = Instant::now();
            let mut t = IqTracker::new("x".into());
            for i in 0..n {
                let id = t.next_id();
                t.register(
                    id,
                    Pending {
                        deadline: Some(t0 + Duration::from_millis(n - i)),
                        ..pending(Some("romeo@example.net"))
                    },
                );
            }
            (0..7)
                .map(|_| {
                    let start = Instant::now();
                    for _ in 0..2_000 {
                        std::hint::black_box(t.next_deadline());
                    }
                    start.elapsed()
                })
                .min()
                .unwrap_or_default()
        }
        let (small, large) = (cost(1_000), cost(64_000));
        assert!(
            large < small * 16 + Duration::from_millis(2),
            "next_deadline: {large:?} with 64,000 pending, {small:?} with 1,000"
        );
    }
}
