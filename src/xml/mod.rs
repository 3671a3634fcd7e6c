//! The XML layer: incremental framing of the inbound stream, owned
//! namespace-resolved elements, and their serializer.
//!
//! XMPP is one long XML document per direction (RFC 6120 §4): a
//! `<stream:stream>` header, top-level elements, and `</stream:stream>`.
//! [`Framer`] finds those pieces in bytes of any chunking with a resumable
//! scan, then tokenizes each complete element once, in a single pass of the
//! crate's own tokenizer, into an [`Element`]. It speaks the restricted XML of RFC 6120 §11.1 only, and maps
//! every failure to the stream error the RFC prescribes
//! ([`XmlError::condition`]).

mod element;
mod error;
mod framer;
pub mod ns;
mod parser;
mod scanner;
mod standalone;
mod tokenizer;
mod unescape;
pub mod writer;

pub use element::{Attribute, Element, ElementBuilder, Node, Nodes};
pub use error::{BuildError, LimitKind, XmlError};
pub use framer::{FrameEvent, Framer};
pub use parser::StreamHeader;

/// Limits on inbound XML, each failing with `policy-violation` when exceeded.
///
/// Each holds while the bytes arrive: the framer fails on the byte that
/// passes it (a name, for one, within `max_name_len` bytes of its first),
/// so neither what is buffered nor the wait for the error grows past it.
/// Text, attribute values and whitespace inside tags have no limit of
/// their own: the byte limit of the element they are in bounds them. The
/// tree budget (`max_tree_bytes`) holds as the complete element's tree is
/// built: no more than it is ever allocated for one.
///
/// ```
/// use xmpp_sansio::xml::{Element, LimitKind, Limits, XmlError};
/// use xmpp_sansio::StreamErrorCondition;
/// let limits = Limits { max_stanza_bytes: 64 * 1024, ..Limits::default() };
/// let big = format!("<a>{}</a>", "x".repeat(64 * 1024));
/// let err = Element::parse(&big, limits).unwrap_err();
/// assert!(matches!(err, XmlError::LimitExceeded { kind: LimitKind::StanzaBytes, limit: 65536 }));
/// assert_eq!(err.condition(), StreamErrorCondition::PolicyViolation);
///
/// // 16 KiB of empty elements: 4,096 nodes, a tree of over 128 KiB.
/// let dense = format!("<a>{}</a>", "<b/>".repeat(4096));
/// let limits = Limits { max_tree_bytes: 64 * 1024, ..Limits::default() };
/// let err = Element::parse(&dense, limits).unwrap_err();
/// assert!(matches!(err, XmlError::LimitExceeded { kind: LimitKind::TreeBytes, .. }));
/// assert!(Element::parse(&dense, Limits::default()).is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one top-level element, or of the stream header (default
    /// 256 KiB; values above [`Limits::MAX_STANZA_BYTES`] are treated as it).
    pub max_stanza_bytes: usize,
    /// Nesting depth, counting the stream element as 1 (default 32).
    pub max_depth: usize,
    /// Attributes on one element, namespace declarations included (default 64).
    pub max_attributes: usize,
    /// Bytes of one qualified element or attribute name, prefix included
    /// (default 256). End tags are bounded by the name they must match.
    pub max_name_len: usize,
    /// Heap bytes the tree of one top-level element may take while it is
    /// built (its strings, nodes and attributes, counting the new block
    /// beside the old while a buffer grows), and for a roster result the
    /// typed [`crate::im::Roster`] made from it with it (default 2 MiB).
    ///
    /// With `max_stanza_bytes` this bounds what one stanza costs however
    /// it is written. A tree costs a multiple of its bytes: an ordinary
    /// stanza two to five times (a roster 4.3 times), one made of nothing
    /// but the smallest elements and text up to 17 times. The default
    /// holds any ordinary stanza up to the default byte limit (a roster
    /// of 2,400 items, 252 KB) and refuses the densest past about 67 KB;
    /// raise it with the byte limit.
    pub max_tree_bytes: usize,
}

impl Limits {
    /// The largest stanza limit honoured (1 GiB).
    pub const MAX_STANZA_BYTES: usize = 1 << 30;

    #[inline]
    pub(crate) fn stanza_bytes(&self) -> usize {
        self.max_stanza_bytes.min(Self::MAX_STANZA_BYTES)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_stanza_bytes: 256 * 1024,
            max_depth: 32,
            max_attributes: 64,
            max_name_len: 256,
            max_tree_bytes: 2 << 20,
        }
    }
}
