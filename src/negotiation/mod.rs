//! The typed pieces of stream negotiation: stream features and SASL
//! failures. The state machine that uses them is in [`crate::Stream`].

mod features;
mod sasl_failure;

pub use features::StreamFeatures;
pub use sasl_failure::{SaslCondition, SaslFailure};
