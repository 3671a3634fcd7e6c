//! Instant messaging (RFC 6121): rosters, presence and subscriptions,
//! messages. The typed values here are plain data; [`crate::Stream`]
//! sends and receives them ([`crate::Stream::request_roster`],
//! [`crate::Event::RosterPush`], [`crate::Event::SubscriptionRequest`]).

mod groups;
mod message;
mod presence;
mod roster;

pub use groups::Groups;
pub use message::MessageBuilder;
pub use presence::{
    PresenceBuilder, PresenceError, PresenceTracker, ResourcePresence, Show, subscription,
};
pub use roster::{Roster, RosterCache, RosterItem, RosterPushRejection, Subscription};
