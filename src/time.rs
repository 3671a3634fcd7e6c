//! Time, always passed in by the caller: the crate never reads a clock.
//!
//! Every signature that takes a moment uses [`Instant`], one alias, so a
//! future port (wasm, or a `Timestamp` newtype for bindings) changes one
//! line. `clippy.toml` forbids `Instant::now` in the library.

/// A monotonic moment supplied by the caller.
pub type Instant = std::time::Instant;
pub use std::time::Duration;

/// `at + after`, or `None` ("never") where that is past what [`Instant`]
/// can hold: a configured timeout of `Duration::MAX` means no deadline,
/// not an overflow.
///
/// ```
/// use xmpp_sansio::time::{Duration, Instant, deadline};
/// let now = Instant::now();
/// assert_eq!(deadline(now, Duration::from_secs(5)), Some(now + Duration::from_secs(5)));
/// assert_eq!(deadline(now, Duration::MAX), None);
/// ```
pub fn deadline(at: Instant, after: Duration) -> Option<Instant> {
    at.checked_add(after)
}
