//! Time, always passed in by the caller: the crate never reads a clock.
//!
//! Every signature that takes a moment uses [`Instant`], one alias, so a
//! future port (wasm, or a `Timestamp` newtype for bindings) changes one
//! line. `clippy.toml` forbids `Instant::now` in the library.

/// A monotonic moment supplied by the caller.
pub type Instant = std::time::Instant;
pub use std::time::Duration;
