//! The stream's timers in one table (after quinn-proto's `TimerTable`).
//!
//! Each timer is armed and stopped where the stream changes state (a
//! transition, a write, a read); [`super::Stream::poll_timeout`] returns
//! the earliest entry (and the IQ tracker's earliest deadline), and
//! [`super::Stream::handle_timeout`] fires the entries that are due. No
//! condition is evaluated twice: whether a timer should run at all is
//! decided when it is armed.

use crate::time::Instant;

/// One of the stream's own deadlines. IQ deadlines are kept by the IQ
/// tracker, one per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    /// Negotiation must finish by then (`negotiation_timeout`); runs from
    /// `start` until online.
    Negotiation,
    /// After our closing tag: the peer's closing tag is not awaited past it.
    Close,
    /// Online: a whitespace keepalive if nothing was written since.
    Keepalive,
    /// Online, no keepalive ping in flight: a ping if nothing was read since.
    Ping,
    /// Stream management: an ack request (`<r/>`) for the stanzas sent
    /// since the last one (`SmConfig::ack_after` after the first of them).
    SmAck,
}

impl Timer {
    const COUNT: usize = 5;

    fn index(self) -> usize {
        self as usize
    }
}

/// When each [`Timer`] fires, if it is armed.
#[derive(Debug, Clone, Default)]
pub(super) struct TimerTable {
    at: [Option<Instant>; Timer::COUNT],
}

impl TimerTable {
    /// Arms `timer` for `at`; `None` (a deadline too far to represent, or
    /// no deadline configured) stops it.
    pub(super) fn set(&mut self, timer: Timer, at: Option<Instant>) {
        self.at[timer.index()] = at;
    }

    pub(super) fn stop(&mut self, timer: Timer) {
        self.at[timer.index()] = None;
    }

    /// Stops every timer but `keep`.
    pub(super) fn stop_all_but(&mut self, keep: Option<Timer>) {
        for (i, at) in self.at.iter_mut().enumerate() {
            if keep.is_none_or(|k| k.index() != i) {
                *at = None;
            }
        }
    }

    pub(super) fn get(&self, timer: Timer) -> Option<Instant> {
        self.at[timer.index()]
    }

    /// Whether `timer` is armed and due at `now`.
    pub(super) fn expired(&self, timer: Timer, now: Instant) -> bool {
        self.get(timer).is_some_and(|t| t <= now)
    }

    /// The earliest armed timer's deadline.
    pub(super) fn next(&self) -> Option<Instant> {
        self.at.iter().flatten().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_table_returns_its_earliest_armed_entry() {
        #[allow(clippy::disallowed_methods)] // a test needs one real instant as its epoch
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut t = TimerTable::default();
        assert_eq!(t.next(), None);
        t.set(Timer::Keepalive, Some(t0 + s(30)));
        t.set(Timer::Ping, Some(t0 + s(10)));
        t.set(Timer::Close, None);
        assert_eq!(t.next(), Some(t0 + s(10)));
        assert!(t.expired(Timer::Ping, t0 + s(10)));
        assert!(!t.expired(Timer::Keepalive, t0 + s(10)));
        assert!(!t.expired(Timer::Close, t0 + s(100)), "not armed");
        t.stop(Timer::Ping);
        assert_eq!(t.next(), Some(t0 + s(30)));
        t.set(Timer::Close, Some(t0 + s(40)));
        t.set(Timer::Negotiation, Some(t0 + s(5)));
        t.stop_all_but(Some(Timer::Close));
        assert_eq!(t.next(), Some(t0 + s(40)));
        t.stop_all_but(None);
        assert_eq!(t.next(), None);
    }
}
