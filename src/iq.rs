//! Outstanding IQ requests: id allocation, matching replies by id *and*
//! sender, and deadlines.
//!
//! RFC 6120 §8.1.2.1: a reply comes from the entity the request was sent to.
//! A `result` or `error` with a known id but another sender is not a reply;
//! it is treated as an unsolicited stanza and the request stays pending.
//! Requests sent without `to` are handled by the user's server on behalf of
//! the account, so their replies may carry no `from`, the account's bare or
//! full JID, or the server's domain. Servers also answer requests addressed
//! to the account's bare JID without `from` (Prosody does), which is
//! accepted too.

use std::collections::HashMap;

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
    /// A roster request (RFC 6121 §2.1.3): its result becomes `Event::Roster`.
    /// `versioned`: it carried a `ver`, so an empty result means "current".
    Roster { versioned: bool },
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
    pub(crate) full: Option<String>,
    pub(crate) domain: String,
}

/// Whether two addresses denote the same entity: equal text, or equal once
/// prepared by the `jid` crate (case-folded localpart and domain).
pub(crate) fn same_address(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (jid::Jid::new(a), jid::Jid::new(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

#[derive(Debug)]
pub(crate) struct IqTracker {
    pending: HashMap<String, Pending>,
    prefix: String,
    counter: u64,
}

impl IqTracker {
    /// `prefix` makes ids unpredictable across sessions (from the stream's rng).
    pub(crate) fn new(prefix: String) -> Self {
        Self {
            pending: HashMap::new(),
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
        self.pending.insert(id, pending);
    }

    /// Takes the request `id` if `from` is an acceptable sender for it.
    pub(crate) fn take_reply(
        &mut self,
        id: &str,
        from: Option<&str>,
        own: &OwnAddress,
    ) -> Option<Pending> {
        let pending = self.pending.get(id)?;
        let accepted = match (pending.to.as_deref(), from) {
            (Some(to), Some(from)) => same_address(to, from),
            (Some(to), None) => {
                same_address(to, &own.bare)
                    || own.full.as_deref().is_some_and(|f| same_address(to, f))
            }
            (None, None) => true,
            (None, Some(from)) => {
                same_address(from, &own.bare)
                    || same_address(from, &own.domain)
                    || own.full.as_deref().is_some_and(|f| same_address(from, f))
            }
        };
        if accepted {
            self.pending.remove(id)
        } else {
            None
        }
    }

    /// The earliest deadline of any pending request.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.pending.values().filter_map(|p| p.deadline).min()
    }

    /// Removes and returns every request whose deadline is at or before
    /// `now`, in deadline order.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<(String, Pending)> {
        let due: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline.is_some_and(|d| d <= now))
            .map(|(id, _)| id.clone())
            .collect();
        let mut out: Vec<(String, Pending)> = due
            .into_iter()
            .filter_map(|id| self.pending.remove(&id).map(|p| (id, p)))
            .collect();
        out.sort_by_key(|(id, p)| (p.deadline, id.clone()));
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
            full: Some("juliet@example.com/balcony".into()),
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
    fn requests_to_the_server_or_self_accept_their_forms_of_reply() {
        let mut t = IqTracker::new("x".into());
        for (i, from) in [
            None,
            Some("juliet@example.com"),
            Some("example.com"),
            Some("juliet@example.com/balcony"),
        ]
        .into_iter()
        .enumerate()
        {
            t.register(i.to_string(), pending(None));
            assert!(
                t.take_reply(&i.to_string(), from, &own()).is_some(),
                "{from:?}"
            );
        }
        t.register("b".into(), pending(Some("juliet@example.com")));
        assert!(
            t.take_reply("b", None, &own()).is_some(),
            "Prosody answers own-bare requests without from"
        );
        t.register("c".into(), pending(None));
        assert!(t.take_reply("c", Some("other.example"), &own()).is_none());
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
}
