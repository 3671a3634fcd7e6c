//! The stream's timers in one table (after quinn-proto's `TimerTable`).
//!
//! Each timer is armed and stopped where the stream changes state (a
//! transition, a write, a read); [`super::Stream::poll_timeout`] returns
//! the earliest entry (and the IQ tracker's earliest deadline), and
//! [`super::Stream::handle_timeout`] fires the entries that are due. No
//! condition is evaluated twice: whether a timer should run at all is
//! decided when it is armed.
//!
//! The ping timer runs from the last input, which moves on every read: it
//! is kept as its interval, and its deadline is worked out from the last
//! input only when asked for, so a read (a byte at a time, say) only notes
//! its instant.

use std::time::Duration;

use crate::time::{Instant, deadline};

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
    /// Online, no keepalive ping in flight: a ping if nothing was read
    /// since (armed with [`TimerTable::arm_ping`], relative to the last
    /// input).
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
    /// The ping timer's interval after the last input, when it is armed
    /// (its entry in `at` is unused).
    ping_after: Option<Duration>,
}

impl TimerTable {
    /// Arms `timer` for `at`; `None` (a deadline too far to represent, or
    /// no deadline configured) stops it.
    /// (Not for [`Timer::Ping`]: see [`TimerTable::arm_ping`].)
    pub(super) fn set(&mut self, timer: Timer, at: Option<Instant>) {
        debug_assert_ne!(timer, Timer::Ping);
        self.at[timer.index()] = at;
    }

    /// Arms the ping timer to fall due `after` the last input, whenever
    /// that is (`None` stops it).
    pub(super) fn arm_ping(&mut self, after: Option<Duration>) {
        self.ping_after = after;
    }

    pub(super) fn stop(&mut self, timer: Timer) {
        self.at[timer.index()] = None;
        if timer == Timer::Ping {
            self.ping_after = None;
        }
    }

    /// Stops every timer but `keep`.
    pub(super) fn stop_all_but(&mut self, keep: Option<Timer>) {
        for (i, at) in self.at.iter_mut().enumerate() {
            if keep.is_none_or(|k| k.index() != i) {
                *at = None;
            }
        }
        if keep != Some(Timer::Ping) {
            self.ping_after = None;
        }
    }

    /// When `timer` falls due, with `last_input` the instant of the last
    /// input (for the ping timer).
    pub(super) fn get(&self, timer: Timer, last_input: Option<Instant>) -> Option<Instant> {
        match timer {
            Timer::Ping => self
                .ping_after
                .zip(last_input)
                .and_then(|(after, last)| deadline(last, after)),
            _ => self.at[timer.index()],
        }
    }

    /// Whether `timer` is armed and due at `now`.
    pub(super) fn expired(&self, timer: Timer, now: Instant, last_input: Option<Instant>) -> bool {
        self.get(timer, last_input).is_some_and(|t| t <= now)
    }

    /// The earliest armed timer's deadline.
    pub(super) fn next(&self, last_input: Option<Instant>) -> Option<Instant> {
        let ping = self.get(Timer::Ping, last_input);
        self.at.iter().flatten().chain(&ping).min().copied()
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
        let input = Some(t0);
        assert_eq!(t.next(input), None);
        t.set(Timer::Keepalive, Some(t0 + s(30)));
        t.arm_ping(Some(s(10)));
        t.set(Timer::Close, None);
        assert_eq!(t.next(input), Some(t0 + s(10)));
        assert!(t.expired(Timer::Ping, t0 + s(10), input));
        assert!(!t.expired(Timer::Keepalive, t0 + s(10), input));
        assert!(!t.expired(Timer::Close, t0 + s(100), input), "not armed");
        // The ping timer moves with the last input; without one it waits.
        assert_eq!(t.next(Some(t0 + s(15))), Some(t0 + s(25)));
        assert!(!t.expired(Timer::Ping, t0 + s(10), Some(t0 + s(15))));
        assert_eq!(t.next(None), Some(t0 + s(30)));
        t.stop(Timer::Ping);
        assert_eq!(t.next(input), Some(t0 + s(30)));
        t.set(Timer::Close, Some(t0 + s(40)));
        t.set(Timer::Negotiation, Some(t0 + s(5)));
        t.arm_ping(Some(s(1)));
        t.stop_all_but(Some(Timer::Close));
        assert_eq!(t.next(input), Some(t0 + s(40)));
        t.stop_all_but(None);
        assert_eq!(t.next(input), None);
    }
}
