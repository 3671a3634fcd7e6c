//! Everything the stream writes: headers, elements, stream errors, closes.
//!
//! Once our `</stream:stream>` is out, nothing more is written (RFC 6120
//! §4.4: the closing entity "MUST NOT send any further data"). The check
//! is here, in the one place every write goes through, so automatic
//! replies (pings, `service-unavailable`, `bad-request`, roster-push
//! acknowledgements) cannot slip out after it; commands fail earlier with
//! [`super::UsageError::Closed`].

use crate::stanza::{StreamError, StreamErrorCondition};
use crate::time::Instant;
use crate::xml::{Element, ns, writer};

use super::Stream;

impl Stream {
    /// Queues `bytes`, unless our closing tag is already out.
    pub(super) fn write_raw(&mut self, bytes: &[u8], now: Instant) {
        if self.close_sent {
            return;
        }
        self.out.extend_from_slice(bytes);
        self.last_output = Some(now);
    }

    /// Queues `el` in stream context, unless our closing tag is already out.
    pub(super) fn write_element(&mut self, el: &Element, now: Instant) {
        if self.close_sent {
            return;
        }
        let mut buf = Vec::new();
        writer::write_stream_child(el, &mut buf, ns::JABBER_CLIENT);
        self.write_raw(&buf, now);
    }

    /// Our stream header (RFC 6120 §4.7). `from` is included once the
    /// stream is encrypted, as §4.7.1 recommends.
    pub(super) fn send_header(&mut self, now: Instant) {
        let mut h = Vec::with_capacity(256);
        h.extend_from_slice(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='");
        writer::escape_attr(self.config.domain(), &mut h);
        h.extend_from_slice(b"' version='1.0'");
        if self.tls_active {
            h.extend_from_slice(b" from='");
            writer::escape_attr(self.config.bare_jid(), &mut h);
            h.push(b'\'');
        }
        if let Some(lang) = &self.config.lang {
            h.extend_from_slice(b" xml:lang='");
            writer::escape_attr(lang, &mut h);
            h.push(b'\'');
        }
        h.push(b'>');
        self.write_raw(&h, now);
        self.header_sent = true;
    }

    /// `<stream:error>` with `condition` and optional text (RFC 6120 §4.9.2).
    pub(super) fn write_stream_error(
        &mut self,
        condition: StreamErrorCondition,
        text: Option<&str>,
    ) {
        if self.close_sent {
            return;
        }
        let mut error = StreamError::new(condition);
        if let Some(text) = text {
            error = error.with_text(Some("en"), text);
        }
        let mut buf = Vec::new();
        writer::write_stream_child(&error.to_element(), &mut buf, ns::JABBER_CLIENT);
        self.out.extend_from_slice(&buf);
    }

    pub(super) fn write_close(&mut self, now: Instant) {
        if !self.close_sent {
            self.write_raw(b"</stream:stream>", now);
            self.close_sent = true;
        }
    }

    /// The closing tag when no `now` is at hand (failure paths).
    pub(super) fn write_close_now(&mut self) {
        if !self.close_sent {
            self.out.extend_from_slice(b"</stream:stream>");
            self.close_sent = true;
        }
    }
}
