//! Everything the stream writes: headers, stanzas, other elements
//! (nonzas: negotiation, stream errors), the closing tag.
//!
//! [`Output`] tells stanzas (`<message/>`, `<presence/>`, `<iq/>`) from
//! nonzas: stanzas go through one counted path, [`Output::stanza`], which
//! stream management builds on (`sm.rs` keeps each one written once
//! counting started, until acknowledged). Both are serialized straight into the one output
//! buffer, with no intermediate copy.
//!
//! Once our `</stream:stream>` is out, nothing more is written (RFC 6120
//! §4.4: the closing entity "MUST NOT send any further data"). The check
//! is here, in the one place every write goes through, so automatic
//! replies (pings, `service-unavailable`, `bad-request`, roster-push
//! acknowledgements) cannot slip out after it; commands fail earlier with
//! [`super::UsageError::Closed`].

use bytes::Bytes;

use crate::stanza::{StreamError, StreamErrorCondition};
use crate::xml::{Element, writer};

use super::reply::IqReply;

/// The bytes queued for the transport, and what has been written.
#[derive(Debug, Default)]
pub(super) struct Output {
    buf: Vec<u8>,
    header_sent: bool,
    close_sent: bool,
    stanzas_sent: u64,
}

impl Output {
    /// Whether our closing tag is out (nothing more is written).
    pub(super) fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// Whether our stream header is out.
    pub(super) fn header_sent(&self) -> bool {
        self.header_sent
    }

    /// How many stanzas were queued.
    pub(super) fn stanzas_sent(&self) -> u64 {
        self.stanzas_sent
    }

    /// Queues `bytes` (whitespace); `false` if our closing tag is out.
    pub(super) fn raw(&mut self, bytes: &[u8]) -> bool {
        if self.close_sent {
            return false;
        }
        self.buf.extend_from_slice(bytes);
        true
    }

    /// Queues our stream header, written by the role.
    pub(super) fn header(&mut self, header: &[u8]) -> bool {
        let written = self.raw(header);
        self.header_sent |= written;
        written
    }

    /// Queues a stanza in stream context (`content_ns` needs no
    /// declaration) and counts it.
    pub(super) fn stanza(&mut self, el: &Element, content_ns: &str) -> bool {
        let written = self.nonza(el, content_ns);
        if written {
            self.stanzas_sent += 1;
        }
        written
    }

    /// Queues an IQ reply the stream makes itself, written without a tree
    /// (`reply.rs`), and counts it as a stanza.
    pub(super) fn reply(&mut self, reply: &IqReply<'_>, content_ns: &str) -> bool {
        if self.close_sent {
            return false;
        }
        self.buf.reserve(reply.size_hint());
        reply.write(&mut self.buf, content_ns);
        self.stanzas_sent += 1;
        true
    }

    /// Queues an element that is no stanza (negotiation, stream errors).
    pub(super) fn nonza(&mut self, el: &Element, content_ns: &str) -> bool {
        if self.close_sent {
            return false;
        }
        writer::write_stream_child(el, &mut self.buf, content_ns);
        true
    }

    /// `<stream:error>` with `condition` and optional text (RFC 6120 §4.9.2).
    /// `app`: an application-specific condition element.
    pub(super) fn stream_error(
        &mut self,
        condition: StreamErrorCondition,
        text: Option<&str>,
        app: Option<Element>,
        content_ns: &str,
    ) {
        let mut error = StreamError::new(condition);
        if let Some(text) = text {
            error = error.with_text(Some("en"), text);
        }
        error.app_condition = app;
        self.nonza(&error.to_element(), content_ns);
    }

    /// Our `</stream:stream>`, once; nothing is written after it.
    pub(super) fn close(&mut self) -> bool {
        let written = self.raw(b"</stream:stream>");
        self.close_sent = true;
        written
    }

    /// Whether bytes wait for `take`.
    pub(super) fn pending(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Everything queued so far; the buffer goes with it, so an idle
    /// stream holds none.
    ///
    /// Inlined into the caller (across the crate boundary: an application
    /// polls after every read, most often for nothing), down to the test
    /// of the buffer's length; the hand-over is out of line.
    #[inline]
    pub(super) fn take(&mut self) -> Option<Bytes> {
        if self.buf.is_empty() {
            return None;
        }
        Some(self.take_all())
    }

    #[inline(never)]
    fn take_all(&mut self) -> Bytes {
        Bytes::from(std::mem::take(&mut self.buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::ns;

    #[test]
    fn stanzas_are_counted_and_nothing_follows_the_close() {
        let mut out = Output::default();
        assert!(out.header(b"<stream:stream>"));
        let message = Element::new("message", ns::JABBER_CLIENT);
        assert!(out.stanza(&message, ns::JABBER_CLIENT));
        assert!(out.nonza(&Element::new("starttls", ns::TLS), ns::JABBER_CLIENT));
        assert_eq!(out.stanzas_sent(), 1);
        out.stream_error(
            StreamErrorCondition::BadFormat,
            None,
            None,
            ns::JABBER_CLIENT,
        );
        assert!(out.close());
        assert!(!out.close(), "one closing tag");
        assert!(!out.stanza(&message, ns::JABBER_CLIENT));
        assert!(!out.raw(b" "));
        assert_eq!(out.stanzas_sent(), 1);
        let bytes = out.take().unwrap_or_default();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap_or_default(),
            "<stream:stream><message/><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\
             <stream:error><bad-format xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>\
             </stream:stream>"
        );
        assert_eq!(out.take(), None);
    }
}
