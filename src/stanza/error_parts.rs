//! The shape RFC 6120 gives both stream errors (§4.9.2) and stanza errors
//! (§8.3.2): one defined-condition element, descriptive `<text/>`s with
//! `xml:lang` (own or inherited), and an optional application-specific element, all below
//! the error element. Read and written here once for both.

use crate::xml::{Element, ElementBuilder};

/// The children of an error element.
#[derive(Debug, Clone, Default)]
pub(crate) struct ErrorParts {
    /// The first defined-condition element (its name and text).
    pub(crate) condition: Option<Element>,
    pub(crate) texts: Vec<(Option<String>, String)>,
    pub(crate) app_condition: Option<Element>,
}

impl ErrorParts {
    /// Reads the children of `el`, whose conditions live in `defined_ns`.
    pub(crate) fn read(el: &Element, defined_ns: &str) -> Self {
        let mut parts = Self::default();
        for child in el.children() {
            if child.ns() != defined_ns {
                if parts.app_condition.is_none() {
                    parts.app_condition = Some(child);
                }
            } else if child.name() == "text" {
                // The effective language: the text's own `xml:lang`, else
                // the one it inherits (the stanza's, or the stream's).
                parts
                    .texts
                    .push((child.lang().map(str::to_owned), child.text().into_owned()));
            } else if parts.condition.is_none() {
                parts.condition = Some(child);
            }
        }
        parts
    }

    /// The text in `lang`, else the first text (RFC 6120 §4.9.2, §8.3.2:
    /// several `<text/>`s differ only in language).
    pub(crate) fn text_in<'a>(
        texts: &'a [(Option<String>, String)],
        lang: Option<&str>,
    ) -> Option<&'a str> {
        texts
            .iter()
            .find(|(l, _)| same_lang(l.as_deref(), lang))
            .or_else(|| texts.first())
            .map(|(_, t)| t.as_str())
    }

    /// Sets the text in `lang`, replacing one already in that language
    /// (RFC 6120 §4.9.2, §8.3.2: at most one text per language).
    pub(crate) fn set_text(
        texts: &mut Vec<(Option<String>, String)>,
        lang: Option<&str>,
        text: String,
    ) {
        match texts
            .iter_mut()
            .find(|(l, _)| same_lang(l.as_deref(), lang))
        {
            Some(slot) => slot.1 = text,
            None => texts.push((lang.map(str::to_owned), text)),
        }
    }

    /// The condition element's trimmed text, if any (a `see-other-host`
    /// target, a `gone`/`redirect` URI).
    pub(crate) fn condition_text(&self) -> Option<String> {
        let text = self.condition.as_ref()?.text().trim().to_owned();
        (!text.is_empty()).then_some(text)
    }

    /// Appends a condition, texts and an application element to `error`.
    pub(crate) fn write(
        error: ElementBuilder,
        defined_ns: &str,
        condition: &str,
        condition_text: Option<&str>,
        texts: &[(Option<String>, String)],
        app_condition: Option<&Element>,
    ) -> Element {
        let mut b = error.child(
            Element::builder(condition, defined_ns)
                .text(condition_text.unwrap_or_default())
                .build(),
        );
        for (lang, text) in texts {
            b = b.child(
                Element::builder("text", defined_ns)
                    .lang(lang.clone())
                    .text(text.clone())
                    .build(),
            );
        }
        b.children(app_condition.cloned()).build()
    }
}

/// Language tags compare without regard to ASCII case (BCP 47 §2.1.1).
fn same_lang(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (None, None) => true,
        _ => false,
    }
}
