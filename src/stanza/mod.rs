//! Typed views over stanzas and errors (RFC 6120 §8, §4.9).

mod condition;

pub use condition::StreamErrorCondition;
