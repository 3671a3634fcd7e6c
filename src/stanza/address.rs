//! Stanza addresses, never lost over a JID the `jid` crate refuses.
//!
//! The `jid` crate implements RFC 6122 (stringprep). Servers implement
//! RFC 7622 (PRECIS) and deliver addresses it rejects, such as a MUC
//! nickname with an emoji (`room@muc.example/Niaj 🚀33`) or Arabic letters
//! followed by digits (`…/أحمد43`). Two well-known client libraries drop
//! such stanzas. Here an [`Address`] is the text as sent, always available;
//! [`Address::jid`] prepares it on demand and reports a refusal as the
//! stanza error `jid-malformed`, so the application chooses what to do.
//!
//! A domainpart's final dot (`example.com.`, the DNS root label) is
//! stripped before an address is prepared or compared (RFC 7622 §3.2,
//! RFC 6122 §2.2): [`Address::jid`] and every comparison the crate makes
//! (IQ reply senders, roster push senders, our own account) see
//! `example.com`. The text as sent is still [`Address::as_str`].
//! `docs/jid.md` lists where the `jid` crate's RFC 6122 preparation
//! differs from RFC 7622's.

use std::borrow::Cow;

use super::StanzaParseError;

/// Why a string is not a valid JID (RFC 7622 §3, with the `jid` crate's
/// RFC 6122 preparation of each part).
///
/// ```
/// use xmpp_sansio::stanza::{Address, JidProblem};
/// assert_eq!(Address::new("alice@").check(), Err(JidProblem::EmptyDomain));
/// assert_eq!(Address::new("a@b@c").check(), Err(JidProblem::TooManyAts));
/// assert_eq!(Address::new("alice@exa mple.com").check(), Err(JidProblem::Domain));
/// assert_eq!(Address::new("alice@example.com.").check(), Ok(()));
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum JidProblem {
    /// The string is empty.
    #[error("the JID is empty")]
    Empty,
    /// Nothing before the `@` (RFC 7622 §3.3: a localpart is 1 to 1023 bytes).
    #[error("the localpart before '@' is empty")]
    EmptyLocalpart,
    /// No domainpart, or only the root dot (RFC 7622 §3.2).
    #[error("the domainpart is empty")]
    EmptyDomain,
    /// Nothing after the `/` (RFC 7622 §3.4: a resourcepart is 1 to 1023 bytes).
    #[error("the resourcepart after '/' is empty")]
    EmptyResource,
    /// A second `@` before the resource: `@` is not allowed in a localpart
    /// or a domainpart (RFC 7622 §3.3.1).
    #[error("more than one '@' before the resource")]
    TooManyAts,
    /// The prepared localpart is longer than 1023 bytes (RFC 7622 §3.3).
    #[error("the localpart is longer than 1023 bytes")]
    LocalpartTooLong,
    /// The prepared resourcepart is longer than 1023 bytes (RFC 7622 §3.4).
    #[error("the resourcepart is longer than 1023 bytes")]
    ResourceTooLong,
    /// The localpart has characters its preparation refuses: nodeprep
    /// (RFC 6122 §A), or with `Address::enforce_rfc7622` (feature `precis`) the
    /// UsernameCaseMapped profile and RFC 7622 §3.3.1.
    #[error("the localpart has characters that are not allowed")]
    Localpart,
    /// The domainpart is not a domain name (IDNA) or an IP address.
    #[error("the domainpart is not a valid domain name or IP address")]
    Domain,
    /// The resourcepart has characters its preparation refuses:
    /// resourceprep (RFC 6122 §B), or with `Address::enforce_rfc7622` (feature `precis`)
    /// the OpaqueString profile.
    #[error("the resourcepart has characters that are not allowed")]
    Resource,
}

impl From<jid::Error> for JidProblem {
    fn from(e: jid::Error) -> Self {
        match e {
            jid::Error::NodeEmpty => JidProblem::EmptyLocalpart,
            jid::Error::ResourceEmpty => JidProblem::EmptyResource,
            jid::Error::NodeTooLong => JidProblem::LocalpartTooLong,
            jid::Error::ResourceTooLong => JidProblem::ResourceTooLong,
            jid::Error::NodePrep => JidProblem::Localpart,
            jid::Error::ResourcePrep => JidProblem::Resource,
            jid::Error::TooManyAts => JidProblem::TooManyAts,
            // NamePrep, Idna, and the bare/full distinctions `Jid::new`
            // never makes.
            _ => JidProblem::Domain,
        }
    }
}

/// `raw` without its domainpart's final dot (RFC 7622 §3.2: stripped
/// "before the JID ... is used for the purpose of routing an XML stanza,
/// comparing against another JID, or constructing an XMPP URI or IRI").
/// A domainpart that is only a dot is left alone (it is invalid anyway).
pub(crate) fn without_root_dot(raw: &str) -> Cow<'_, str> {
    let (bare, resource) = match raw.find('/') {
        Some(i) => raw.split_at(i),
        None => (raw, ""),
    };
    let domain_start = bare.find('@').map_or(0, |i| i + 1);
    let domain = &bare[domain_start..];
    match domain.strip_suffix('.') {
        Some(stripped) if !stripped.is_empty() => {
            Cow::Owned(format!("{}{stripped}{resource}", &bare[..domain_start]))
        }
        _ => Cow::Borrowed(raw),
    }
}

/// Prepares `raw` as a JID (RFC 6122, by the `jid` crate), its root dot
/// stripped first.
pub(crate) fn prepare(raw: &str) -> Result<jid::Jid, JidProblem> {
    if raw.is_empty() {
        return Err(JidProblem::Empty);
    }
    let raw = without_root_dot(raw);
    let bare = raw.split('/').next().unwrap_or_default();
    let domain = bare.split_once('@').map_or(bare, |(_, d)| d);
    if domain.is_empty() || domain == "." {
        return Err(JidProblem::EmptyDomain);
    }
    if domain.ends_with('.') {
        // An empty label (`example.com..`): the `jid` crate would strip a
        // second dot and accept it.
        return Err(JidProblem::Domain);
    }
    Ok(jid::Jid::new(&raw)?)
}

/// The most bytes a localpart, domainpart or resourcepart may have
/// (RFC 7622 §3.2–§3.4).
pub(crate) const MAX_PART_BYTES: usize = 1023;

/// Whether `raw` has the form of an address (RFC 7622 §3.1):
/// `[localpart@]domainpart[/resourcepart]`, each part present when its
/// separator is and 1 to 1023 bytes long, no control characters; no
/// whitespace or character excluded by §3.3.1 (`"&'/:<>@`) in the
/// localpart, no whitespace or `@` in the domainpart. Preparation
/// (stringprep, PRECIS) is not applied: an address of that form that the
/// `jid` crate refuses (a MUC nickname with an emoji) is still one we can
/// answer, while `juliet@`, `@example.com`, `a@b@c`, `example.com/` or an
/// empty string is not: a reply to it would go nowhere meant.
pub(crate) fn is_valid_address(raw: &str) -> bool {
    let part =
        |p: &str| !p.is_empty() && p.len() <= MAX_PART_BYTES && !p.contains(char::is_control);
    let (bare, resource) = match raw.split_once('/') {
        Some((bare, resource)) => (bare, Some(resource)),
        None => (raw, None),
    };
    let (local, domain) = match bare.split_once('@') {
        Some((local, domain)) => (Some(local), domain),
        None => (None, bare),
    };
    let local_ok = local.is_none_or(|l| {
        part(l) && !l.contains(|c: char| c.is_whitespace() || "\"&'/:<>@".contains(c))
    });
    let domain_ok = part(domain) && !domain.contains(|c: char| c.is_whitespace() || c == '@');
    local_ok && domain_ok && resource.is_none_or(part)
}

/// Whether two addresses denote the same entity: equal text, or equal once
/// prepared by the `jid` crate (case-folded localpart and domain); in both
/// cases after the domainpart's final dot is stripped (RFC 7622 §3.2).
///
/// With the `precis` feature, "prepared" is RFC 7622's preparation
/// (`Address::enforce_rfc7622`) instead of the `jid` crate's RFC 6122:
/// `straße@example.com` is then not `strasse@example.com`, and
/// `coven@Chat.example/Niaj 🚀` is `coven@chat.example/Niaj 🚀`.
pub(crate) fn same_address(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    if without_root_dot(a) == without_root_dot(b) {
        return true;
    }
    #[cfg(feature = "precis")]
    let prepared = (rfc7622::enforce(a), rfc7622::enforce(b));
    #[cfg(not(feature = "precis"))]
    let prepared = (prepare(a), prepare(b));
    match prepared {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// The bare JID and domain of a full JID `[local@]domain/resource`, each
/// part non-empty; `None` if `jid` is not one.
pub(crate) fn full_jid_parts(jid: &str) -> Option<(&str, &str)> {
    let (bare, resource) = jid.split_once('/')?;
    let domain = match bare.split_once('@') {
        Some((local, domain)) if !local.is_empty() => domain,
        Some(_) => return None,
        None => bare,
    };
    (!domain.is_empty() && !resource.is_empty() && !domain.contains('@')).then_some((bare, domain))
}

/// The `to` or `from` of a stanza, as sent.
///
/// ```
/// use xmpp_sansio::stanza::Address;
/// let a = Address::new("coven@chat.shakespeare.lit/Niaj 🚀33");
/// assert_eq!(a.as_str(), "coven@chat.shakespeare.lit/Niaj 🚀33");
/// assert_eq!(a.bare(), "coven@chat.shakespeare.lit");
/// assert_eq!(a.resource(), Some("Niaj 🚀33"));
/// assert!(a.jid().is_err()); // RFC 6122 refuses it; the stanza is still here
/// assert!(Address::new("romeo@example.net/orchard").jid().is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address<'a> {
    raw: &'a str,
    attr: &'static str,
}

impl<'a> Address<'a> {
    /// An address with this text.
    pub fn new(raw: &'a str) -> Self {
        Self {
            raw,
            attr: "address",
        }
    }

    pub(crate) fn of(raw: &'a str, attr: &'static str) -> Self {
        Self { raw, attr }
    }

    /// The text as sent.
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// Everything before the first `/`: `localpart@domain` or `domain`.
    pub fn bare(&self) -> &'a str {
        self.raw.split_once('/').map_or(self.raw, |(b, _)| b)
    }

    /// The resource, if any.
    pub fn resource(&self) -> Option<&'a str> {
        self.raw.split_once('/').map(|(_, r)| r)
    }

    /// The address as a typed, prepared JID (RFC 6122), the domainpart's
    /// final dot stripped (RFC 7622 §3.2).
    ///
    /// ```
    /// use xmpp_sansio::stanza::Address;
    /// let a = Address::new("Juliet@Example.com./balcony");
    /// assert_eq!(a.jid()?.to_string(), "juliet@example.com/balcony");
    /// assert_eq!(a.as_str(), "Juliet@Example.com./balcony"); // as sent
    /// # Ok::<(), xmpp_sansio::stanza::StanzaParseError>(())
    /// ```
    pub fn jid(&self) -> Result<jid::Jid, StanzaParseError> {
        prepare(self.raw).map_err(|_| StanzaParseError::JidMalformed {
            attr: self.attr,
            value: self.raw.to_owned(),
        })
    }

    /// Whether the address is a valid JID, and if not, why (RFC 7622 §3,
    /// each part prepared as [`Address::jid`] does).
    pub fn check(&self) -> Result<(), JidProblem> {
        prepare(self.raw).map(|_| ())
    }

    /// The address prepared and enforced as RFC 7622 says (PRECIS), not
    /// as RFC 6122 did ([`Address::jid`]): the localpart by the
    /// UsernameCaseMapped profile (RFC 8265 §3.3) without RFC 7622
    /// §3.3.1's eight excluded characters, the domainpart by UTS 46
    /// (IDNA2008 with RFC 5895's mappings: case, width, NFC) without its
    /// final dot, the resourcepart by the OpaqueString profile (RFC 8265
    /// §4.2); each part 1 to 1023 bytes. Two addresses denote the same
    /// entity when these strings are equal. `docs/jid.md` lists where the
    /// two preparations differ. Needs the `precis` feature.
    ///
    /// ```
    /// use xmpp_sansio::stanza::{Address, JidProblem};
    /// let muc = Address::new("Coven@Chat.Example./Niaj 🚀33");
    /// assert!(muc.jid().is_err()); // RFC 6122 refuses the emoji
    /// assert_eq!(muc.enforce_rfc7622().as_deref(), Ok("coven@chat.example/Niaj 🚀33"));
    /// // RFC 7622 keeps the sharp s that RFC 6122 maps to "ss":
    /// assert_eq!(Address::new("Straße@example.com").enforce_rfc7622().as_deref(), Ok("straße@example.com"));
    /// assert_eq!(Address::new("♚@example.com").enforce_rfc7622(), Err(JidProblem::Localpart));
    /// ```
    #[cfg(feature = "precis")]
    pub fn enforce_rfc7622(&self) -> Result<String, JidProblem> {
        rfc7622::enforce(self.raw)
    }
}

/// RFC 7622 (PRECIS) enforcement, behind the `precis` feature.
#[cfg(feature = "precis")]
pub(crate) mod rfc7622 {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use idna::uts46::{AsciiDenyList, Hyphens, Uts46};
    use precis_profiles::precis_core::profile::Profile;
    use precis_profiles::{OpaqueString, UsernameCaseMapped};

    use super::{JidProblem, without_root_dot};

    use super::MAX_PART_BYTES as MAX_PART;

    /// RFC 7622 §3.3.1: excluded from localparts (they would be ambiguous
    /// in URIs and XML, or end the localpart).
    const LOCALPART_EXCLUDED: [char; 8] = ['"', '&', '\'', '/', ':', '<', '>', '@'];

    pub(crate) fn enforce(raw: &str) -> Result<String, JidProblem> {
        if raw.is_empty() {
            return Err(JidProblem::Empty);
        }
        let raw = without_root_dot(raw);
        // §3.1: the resourcepart starts at the first '/', the localpart
        // ends at the first '@' before it.
        let (bare, resource) = match raw.split_once('/') {
            Some((bare, resource)) => (bare, Some(resource)),
            None => (&*raw, None),
        };
        let (local, domain) = match bare.split_once('@') {
            Some((local, domain)) => (Some(local), domain),
            None => (None, bare),
        };
        let mut out = String::with_capacity(raw.len());
        if let Some(local) = local {
            out.push_str(&localpart(local)?);
            out.push('@');
        }
        out.push_str(&domainpart(domain)?);
        if let Some(resource) = resource {
            out.push('/');
            out.push_str(&resourcepart(resource)?);
        }
        Ok(out)
    }

    fn localpart(local: &str) -> Result<String, JidProblem> {
        if local.is_empty() {
            return Err(JidProblem::EmptyLocalpart);
        }
        let enforced = UsernameCaseMapped::new()
            .enforce(local)
            .map_err(|_| JidProblem::Localpart)?;
        if enforced.contains(LOCALPART_EXCLUDED) {
            return Err(JidProblem::Localpart);
        }
        if enforced.len() > MAX_PART {
            return Err(JidProblem::LocalpartTooLong);
        }
        Ok(enforced.into_owned())
    }

    fn domainpart(domain: &str) -> Result<String, JidProblem> {
        if domain.is_empty() || domain == "." {
            return Err(JidProblem::EmptyDomain);
        }
        if domain.contains('@') {
            return Err(JidProblem::TooManyAts);
        }
        if domain.ends_with('.') {
            return Err(JidProblem::Domain);
        }
        if domain.parse::<Ipv4Addr>().is_ok() {
            return Ok(domain.to_owned());
        }
        if let Some(v6) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
            return match v6.parse::<Ipv6Addr>() {
                Ok(_) => Ok(domain.to_owned()),
                Err(_) => Err(JidProblem::Domain),
            };
        }
        let (unicode, result) =
            Uts46::new().to_unicode(domain.as_bytes(), AsciiDenyList::URL, Hyphens::Allow);
        if result.is_err() || unicode.is_empty() || unicode.len() > MAX_PART {
            return Err(JidProblem::Domain);
        }
        Ok(unicode.into_owned())
    }

    fn resourcepart(resource: &str) -> Result<String, JidProblem> {
        if resource.is_empty() {
            return Err(JidProblem::EmptyResource);
        }
        let enforced = OpaqueString::new()
            .enforce(resource)
            .map_err(|_| JidProblem::Resource)?;
        if enforced.len() > MAX_PART {
            return Err(JidProblem::ResourceTooLong);
        }
        Ok(enforced.into_owned())
    }
}

impl std::fmt::Display for Address<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_have_the_form_rfc7622_gives_them() {
        let long = "x".repeat(MAX_PART_BYTES);
        let too_long = "x".repeat(MAX_PART_BYTES + 1);
        for ok in [
            "example.com".to_owned(),
            "juliet@example.com".to_owned(),
            "juliet@example.com/balcony".to_owned(),
            "coven@chat.shakespeare.lit/Niaj 🚀33".to_owned(),
            "example.com/a/b@c".to_owned(),
            "[::1]".to_owned(),
            format!("{long}@{long}/{long}"),
        ] {
            assert!(is_valid_address(&ok), "{ok:?}");
        }
        for bad in [
            String::new(),
            "juliet@".to_owned(),
            "@example.com".to_owned(),
            "a@b@c".to_owned(),
            "example.com/".to_owned(),
            "juliet@example.com/".to_owned(),
            "@".to_owned(),
            "/r".to_owned(),
            "jul iet@example.com".to_owned(),
            "jul:iet@example.com".to_owned(),
            "juliet@exa mple.com".to_owned(),
            "juliet@example.com/bal\u{7}cony".to_owned(),
            format!("{too_long}@example.com"),
            format!("juliet@{too_long}"),
            format!("juliet@example.com/{too_long}"),
        ] {
            assert!(!is_valid_address(&bad), "{bad:?}");
        }
    }

    #[test]
    fn full_jids_split_into_bare_and_domain() {
        assert_eq!(
            full_jid_parts("juliet@example.com/balcony"),
            Some(("juliet@example.com", "example.com"))
        );
        assert_eq!(
            full_jid_parts("example.com/Niaj 🚀"),
            Some(("example.com", "example.com"))
        );
        for not_full in [
            "juliet@example.com",
            "@example.com/r",
            "juliet@/r",
            "a@b@c/r",
            "juliet@example.com/",
            "/r",
        ] {
            assert_eq!(full_jid_parts(not_full), None, "{not_full:?}");
        }
    }
}
