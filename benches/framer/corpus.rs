//! The benchmark's corpus: what a busy client reads from its socket after
//! the last stream restart, generated deterministically from a seed.
//!
//! A `small` corpus (1 MiB) and a `large` one (20 MiB) are the same stream
//! cut at different places (the small one is a stanza-wise prefix of the
//! large one): the stream header, `<stream:features>` (bind, sm, csi,
//! rosterver), the bind result, a roster result of 1000 items (names, 0-3
//! groups, every subscription state, `ask` and `approved`), then a
//! weighted mix of
//! - presences from full JIDs: show, status (sometimes with `xml:lang`),
//!   priority, XEP-0115 caps, vcard-temp avatar hashes, XEP-0203 delays,
//!   XEP-0319 idle, unavailable presences;
//! - MUC presences whose occupant nicknames hold emoji or start
//!   right-to-left and end in digits: addresses the `jid` crate refuses,
//!   which a client still receives;
//! - chat messages with bodies of 20 to 2000 characters (most under 120)
//!   holding escaped `& < > '`, numeric character references, CJK, Hangul,
//!   Cyrillic, Arabic, emoji with ZWJ sequences and skin tones; subjects,
//!   threads, chat states, receipts, origin and stanza ids, and carbons
//!   (`<sent>`/`<received>` wrapping a forwarded message);
//! - groupchat messages, PEP headlines whose payloads use namespace
//!   prefixes (`<ev:event>`, `<av:info>`, a prefixed attribute);
//! - roster pushes (a fifth of them removals), IQ gets (ping, disco#info),
//!   IQ results (empty, disco#info, version, time);
//! - IQ and message errors with each of RFC 6120's 22 conditions, `by`,
//!   `<text xml:lang>`, the `<gone>` and `<redirect>` URIs and an
//!   application-specific condition;
//! - whitespace keepalives between 3 % of the stanzas;
//!
//! and `</stream:stream>`. Probe corpora hold one roster result of N items,
//! for checking that feeding a single large stanza one byte at a time
//! stays linear.
//!
//! Each corpus comes with a manifest whose counts the writer tallies as it
//! emits the markup (top-level elements, elements and attributes below the
//! stream root without the `xmlns` declarations, bytes of their local
//! names), independently of any parser; every row of the benchmark must
//! reproduce them. The PRNG is splitmix64 with integer arithmetic only,
//! so a seed gives the same bytes on every platform and compiler.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Names this generator in every manifest: a corpus written by another
/// version (or another generator) is not reused.
pub(crate) const GENERATOR: &str = "xmpp-sansio benches/framer/corpus.rs v1";
/// The default seed.
pub(crate) const SEED: u64 = 6120;
/// Bytes of the `small` corpus (it ends at the first stanza boundary at or
/// past this size).
pub(crate) const SMALL_BYTES: usize = 1 << 20;
/// Bytes of the `large` corpus, likewise.
pub(crate) const LARGE_BYTES: usize = 20 << 20;
/// Items of the roster result at the start of each corpus.
pub(crate) const ROSTER_ITEMS: usize = 1000;

/// What the writer counted while emitting a corpus.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) top_level_elements: u64,
    pub(crate) elements: u64,
    pub(crate) attributes: u64,
    pub(crate) name_bytes: u64,
    pub(crate) by_kind: BTreeMap<&'static str, u64>,
}

/// A generated corpus: its bytes and its manifest (JSON).
pub(crate) struct Corpus {
    pub(crate) xml: Vec<u8>,
    pub(crate) manifest: String,
}

/// The stream cut at the first stanza boundary at or past `limit_bytes`.
pub(crate) fn stream(name: &str, seed: u64, limit_bytes: usize, roster_items: usize) -> Corpus {
    let mut g = Gen::new(seed);
    g.w.raw(&header());
    g.features();
    g.bind_result();
    g.roster_result(roster_items);
    while g.w.out.len() < limit_bytes {
        if g.r.percent(3) {
            g.w.raw(if g.r.percent(50) { "\n" } else { " " });
        }
        g.mixed();
    }
    g.w.raw("</stream:stream>");
    g.finish(name, seed)
}

/// A stream holding `<stream:features>` and one roster result of `items`.
pub(crate) fn probe(name: &str, seed: u64, items: usize) -> Corpus {
    let mut g = Gen::new(seed);
    g.w.raw(&header());
    g.features();
    g.roster_result(items);
    g.w.raw("</stream:stream>");
    g.finish(name, seed)
}

fn header() -> String {
    format!(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
         xmlns:stream='http://etherx.jabber.org/streams' id='c2s-7d1c5a09' \
         from='{SERVER}' to='{ME_BARE}' version='1.0' xml:lang='en'>"
    )
}

/// splitmix64 (Steele, Lea and Flood): small, fast, fixed forever.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Inclusive.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
    fn token(&mut self, len: usize, alphabet: &[u8]) -> String {
        (0..len)
            .map(|_| char::from(alphabet[self.below(alphabet.len())]))
            .collect()
    }
    fn alnum(&mut self, len: usize) -> String {
        self.token(
            len,
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        )
    }
    fn hex(&mut self, len: usize) -> String {
        self.token(len, b"0123456789abcdef")
    }
}

/// Emits markup and counts what it emits.
#[derive(Default)]
struct Writer {
    out: String,
    depth: usize,
    counts: Counts,
}

impl Writer {
    fn raw(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        if self.depth == 0 {
            self.counts.top_level_elements += 1;
        }
        self.counts.elements += 1;
        self.counts.name_bytes += local(name).len() as u64;
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            if *key != "xmlns" && !key.starts_with("xmlns:") {
                self.counts.attributes += 1;
                self.counts.name_bytes += local(key).len() as u64;
            }
            let _ = write!(self.out, " {key}='");
            escape(&mut self.out, value, true);
            self.out.push('\'');
        }
    }

    fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start(name, attrs);
        self.out.push('>');
        self.depth += 1;
    }

    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start(name, attrs);
        self.out.push_str("/>");
    }

    fn close(&mut self, name: &str) {
        self.depth -= 1;
        let _ = write!(self.out, "</{name}>");
    }

    fn text(&mut self, s: &str) {
        escape(&mut self.out, s, false);
    }

    /// `<name attrs>text</name>`.
    fn leaf(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.open(name, attrs);
        self.text(text);
        self.close(name);
    }
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// Text escapes `&`, `<`, `>` and `'` (as `&apos;`, which servers do send);
/// attribute values (quoted with `'`) escape `&`, `<`, `'` and `"`.
fn escape(out: &mut String, s: &str, attr: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' if !attr => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' if attr => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

const SERVER: &str = "example.net";
const ME_BARE: &str = "romeo@example.net";
const ME: &str = "romeo@example.net/orchard-41c2";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

const LOCALPARTS: &[&str] = &[
    "anna", "benedikt", "chiara", "dmitri", "elif", "farid", "greta", "hiroshi", "ines", "jonas",
    "kwame", "leila", "mateo", "noor", "oskar", "paula", "quentin", "rosa", "sven", "tamar", "ugo",
    "vera", "wen", "ximena", "yusuf", "zofia", "aiko", "bjorn", "chidi", "dana",
];
const DOMAINS: &[&str] = &[
    "example.net",
    "example.org",
    "xmpp.example.com",
    "chat.example.io",
    "im.example.de",
    "jabber.example.fr",
    "talk.example.jp",
];
const CLIENTS: &[&str] = &[
    "Gajim",
    "Conversations",
    "Dino",
    "Monal",
    "Cheogram",
    "Siskin",
    "Movim",
    "Psi+",
    "Profanity",
    "Poezio",
    "Kaidan",
    "Beagle",
    "tablet",
    "laptop",
    "phone",
];
const DISPLAY_NAMES: &[&str] = &[
    "Anna Schmidt",
    "Ben & Jerry",
    "Chiara <office>",
    "Dmitri O'Neil",
    "Elif \"Ellie\" Kaya",
    "Farid",
    "Greta Müller",
    "佐藤 弘",
    "王芳",
    "이서연",
    "Дмитрий Соколов",
    "فريد",
    "תמר",
    "Noor 🌙",
    "Oskar Åberg",
    "Zofia 🦊",
    "Wen 文",
    "Ximena Peña",
    "Yusuf 🚀",
    "Þóra",
    "Ngọc Anh",
];
/// MUC nicknames: with a digit suffix, the emoji and right-to-left ones
/// make occupant addresses that RFC 3454 resourceprep (the `jid` crate)
/// refuses and RFC 7622's PRECIS profile admits.
const NICKS: &[&str] = &[
    "anna",
    "Ben",
    "chiara_w",
    "Noor 🌙",
    "Zofia 🦊",
    "Yusuf 🚀",
    "فريد",
    "תמר",
    "Дима",
    "佐藤",
    "이서연",
    "Oskar",
    "ximena🌮",
    "kwame 👋🏾",
    "Greta",
];
const GROUPS: &[&str] = &[
    "Friends",
    "Family",
    "Work",
    "Clients & Suppliers",
    "Ops <on call>",
    "Book club",
    "仲間",
    "Семья",
    "Football ⚽",
    "Band 🎸",
    "University",
];
const SHOWS: &[&str] = &["away", "chat", "dnd", "xa"];
const STATUSES: &[&str] = &[
    "At lunch",
    "In a call",
    "Deploying & monitoring",
    "back in 5",
    "Presenting <do not disturb>",
    "Remote today",
    "移動中",
    "Не беспокоить",
    "🎵 music on",
    "🌴 on holiday",
    "It's late here",
    "Flying ✈️ to Zürich",
    "Available",
];
const LANGS: &[&str] = &["en", "de", "ja", "ru", "fr"];
const CAPS_NODES: &[&str] = &[
    "https://gajim.org",
    "http://conversations.im",
    "https://dino.im",
    "https://monal-im.org/",
    "https://kaidan.im",
    "https://poez.io",
    "https://movim.eu/",
];
const WORDS: &[&str] = &[
    "hi",
    "the",
    "build",
    "is",
    "green",
    "again",
    "can",
    "you",
    "review",
    "my",
    "patch",
    "https://example.org/search?q=xmpp&lang=en",
    "Fish & Chips",
    "x < y",
    "y > x",
    "it's",
    "we're",
    "'single'",
    "\"double\"",
    "deploy",
    "tonight",
    "tomorrow",
    "XMPP",
    "roster",
    "presence",
    "你好",
    "谢谢",
    "おはよう",
    "よろしく",
    "감사합니다",
    "Здравствуйте",
    "пока",
    "Straße",
    "déjà",
    "vu",
    "façade",
    "😀",
    "🎉",
    "👍🏽",
    "❤️",
    "🙈",
    "👩‍💻",
    "👨‍👩‍👧‍👦",
    "ok",
    "sure",
    "no",
    "later",
    "on",
    "my",
    "way",
    "see",
    "you",
    "then",
    "if a < b && b > c",
    "R&D",
    "<i>not markup</i>",
    "O'Brien",
    "50%",
    "#release",
    "@channel",
    "→",
    "…",
    "€",
    "mañana",
    "Kraków",
    "Reykjavík",
    "大阪",
    "上海",
    "부산",
    "Санкт-Петербург",
    "مرحبا",
];
const CHAR_REFS: &[&str] = &[
    "&#233;",
    "&#x2603;",
    "&#x1F44B;",
    "&#38;",
    "&#60;",
    "&#x6F22;",
];
const CONDITIONS: &[(&str, &str)] = &[
    ("modify", "bad-request"),
    ("cancel", "conflict"),
    ("cancel", "feature-not-implemented"),
    ("auth", "forbidden"),
    ("cancel", "gone"),
    ("cancel", "internal-server-error"),
    ("cancel", "item-not-found"),
    ("modify", "jid-malformed"),
    ("modify", "not-acceptable"),
    ("cancel", "not-allowed"),
    ("auth", "not-authorized"),
    ("auth", "policy-violation"),
    ("wait", "recipient-unavailable"),
    ("modify", "redirect"),
    ("auth", "registration-required"),
    ("cancel", "remote-server-not-found"),
    ("wait", "remote-server-timeout"),
    ("wait", "resource-constraint"),
    ("cancel", "service-unavailable"),
    ("auth", "subscription-required"),
    ("cancel", "undefined-condition"),
    ("modify", "unexpected-request"),
];
const ERROR_TEXTS: &[&str] = &[
    "No such item",
    "Blocked & reported",
    "Retry <later>",
    "Recipient isn't online",
    "サービスは利用できません",
];
const FEATURES: &[&str] = &[
    "http://jabber.org/protocol/caps",
    "http://jabber.org/protocol/disco#info",
    "http://jabber.org/protocol/disco#items",
    "urn:xmpp:ping",
    "urn:xmpp:receipts",
    "urn:xmpp:time",
    "jabber:iq:version",
    "urn:xmpp:carbons:2",
    "http://jabber.org/protocol/chatstates",
    "urn:xmpp:jingle:1",
    "urn:xmpp:avatar:metadata+notify",
    "http://jabber.org/protocol/nick+notify",
    "urn:xmpp:mam:2",
    "urn:xmpp:sid:0",
    "urn:xmpp:reactions:0",
];
const SUBSCRIPTIONS: &[&str] = &["both", "both", "both", "to", "from", "none"];

struct Gen {
    r: Rng,
    w: Writer,
    contacts: Vec<String>,
    roster_version: u64,
    serial: u64,
}

impl Gen {
    fn new(seed: u64) -> Self {
        Self {
            r: Rng(seed),
            w: Writer::default(),
            contacts: Vec::new(),
            roster_version: 1,
            serial: 0,
        }
    }

    fn finish(self, name: &str, seed: u64) -> Corpus {
        let c = &self.w.counts;
        let xml = self.w.out.into_bytes();
        let stanzas: u64 = c
            .by_kind
            .iter()
            .filter(|(k, _)| **k != "features")
            .map(|(_, n)| n)
            .sum();
        let by_kind = c
            .by_kind
            .iter()
            .map(|(k, n)| format!("\"{k}\": {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let manifest = format!(
            "{{\n \"generator\": \"{GENERATOR}\",\n \"file\": \"{name}.xml\",\n \"seed\": {seed},\n \
             \"bytes\": {},\n \"fnv1a64\": \"{:016x}\",\n \"stanzas\": {stanzas},\n \
             \"by_kind\": {{{by_kind}}},\n \"top_level_elements\": {},\n \"elements\": {},\n \
             \"attributes\": {},\n \"name_bytes\": {},\n \"notes\": \"top_level_elements = \
             stanzas + 1 <stream:features>; elements and attributes exclude the \
             <stream:stream> root and xmlns declarations; name_bytes = UTF-8 bytes of element \
             and attribute local names\"\n}}\n",
            xml.len(),
            fnv1a64(&xml),
            c.top_level_elements,
            c.elements,
            c.attributes,
            c.name_bytes,
        );
        Corpus { xml, manifest }
    }

    fn kind(&mut self, kind: &'static str) {
        *self.w.counts.by_kind.entry(kind).or_default() += 1;
    }

    fn id(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!("{prefix}{}-{}", self.serial, self.r.alnum(6))
    }

    fn contact(&self, i: usize) -> String {
        let n = LOCALPARTS.len();
        format!(
            "{}{i}@{}",
            LOCALPARTS[i % n],
            DOMAINS[(i / n) % DOMAINS.len()]
        )
    }

    /// A roster contact and one of its full JIDs.
    fn someone(&mut self) -> (String, String) {
        let bare = self.contacts[self.r.below(self.contacts.len())].clone();
        let full = format!("{bare}/{}.{}", self.r.pick(CLIENTS), self.r.alnum(4));
        (bare, full)
    }

    fn stamp(&mut self) -> String {
        let r = &mut self.r;
        let (mo, d, h, mi, s) = (
            r.range(1, 12),
            r.range(1, 28),
            r.range(0, 23),
            r.range(0, 59),
            r.range(0, 59),
        );
        let frac = if r.percent(40) {
            format!(".{:03}", r.below(1000))
        } else {
            String::new()
        };
        format!("2026-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}Z")
    }

    fn room(&mut self) -> String {
        format!("room{}@muc.{}", self.r.below(40), self.r.pick(DOMAINS))
    }

    fn features(&mut self) {
        let w = &mut self.w;
        w.open("stream:features", &[]);
        w.empty("bind", &[("xmlns", "urn:ietf:params:xml:ns:xmpp-bind")]);
        w.empty("sm", &[("xmlns", "urn:xmpp:sm:3")]);
        w.empty("csi", &[("xmlns", "urn:xmpp:csi:0")]);
        w.empty("ver", &[("xmlns", "urn:xmpp:features:rosterver")]);
        w.close("stream:features");
        self.kind("features");
    }

    fn bind_result(&mut self) {
        let w = &mut self.w;
        w.open("iq", &[("type", "result"), ("id", "bind-1")]);
        w.open("bind", &[("xmlns", "urn:ietf:params:xml:ns:xmpp-bind")]);
        w.leaf("jid", &[], ME);
        w.close("bind");
        w.close("iq");
        self.kind("iq-result");
    }

    fn roster_item(&mut self, jid: &str, remove: bool) {
        let r = &mut self.r;
        let name = r.percent(85).then(|| r.pick(DISPLAY_NAMES));
        let subscription = if remove {
            "remove"
        } else {
            r.pick(SUBSCRIPTIONS)
        };
        let ask = matches!(subscription, "none" | "from") && r.percent(30);
        let approved = r.percent(5);
        let groups = if remove {
            0
        } else {
            [0, 0, 1, 1, 1, 2, 3][r.below(7)]
        };
        let mut chosen: Vec<&str> = Vec::new();
        for _ in 0..groups {
            let g = r.pick(GROUPS);
            if !chosen.contains(&g) {
                chosen.push(g);
            }
        }
        let mut attrs = vec![("jid", jid)];
        if let Some(name) = name {
            attrs.push(("name", name));
        }
        attrs.push(("subscription", subscription));
        if ask {
            attrs.push(("ask", "subscribe"));
        }
        if approved {
            attrs.push(("approved", "true"));
        }
        if chosen.is_empty() {
            self.w.empty("item", &attrs);
        } else {
            self.w.open("item", &attrs);
            for g in chosen {
                self.w.leaf("group", &[], g);
            }
            self.w.close("item");
        }
    }

    fn roster_result(&mut self, items: usize) {
        self.contacts = (0..items).map(|i| self.contact(i)).collect();
        let ver = format!("v{}", self.roster_version);
        self.w
            .open("iq", &[("to", ME), ("type", "result"), ("id", "roster-1")]);
        self.w
            .open("query", &[("xmlns", "jabber:iq:roster"), ("ver", &ver)]);
        for i in 0..items {
            let jid = self.contacts[i].clone();
            self.roster_item(&jid, false);
        }
        self.w.close("query");
        self.w.close("iq");
        self.kind("iq-result");
    }

    fn mixed(&mut self) {
        match self.r.below(1000) {
            0..380 => self.presence(),
            380..450 => self.muc_presence(),
            450..680 => self.chat(),
            680..760 => self.groupchat(),
            760..800 => self.pep(),
            800..830 => self.roster_push(),
            830..880 => self.iq_get(),
            880..950 => self.iq_result(),
            950..990 => self.error(true),
            _ => self.error(false),
        }
    }

    fn roster_push(&mut self) {
        self.roster_version += 1;
        let remove = self.r.percent(20);
        let jid = if !remove && self.r.percent(50) {
            let i = self.r.range(ROSTER_ITEMS, 99_999);
            self.contact(i)
        } else {
            self.contacts[self.r.below(self.contacts.len())].clone()
        };
        let id = self.id("push");
        let ver = format!("v{}", self.roster_version);
        self.w
            .open("iq", &[("to", ME), ("type", "set"), ("id", &id)]);
        self.w
            .open("query", &[("xmlns", "jabber:iq:roster"), ("ver", &ver)]);
        self.roster_item(&jid, remove);
        self.w.close("query");
        self.w.close("iq");
        self.kind("iq-set");
    }

    fn presence(&mut self) {
        let (bare, full) = self.someone();
        self.kind("presence");
        if self.r.percent(12) {
            let attrs = [("from", full.as_str()), ("to", ME), ("type", "unavailable")];
            if self.r.percent(30) {
                let status = self.r.pick(STATUSES);
                self.w.open("presence", &attrs);
                self.w.leaf("status", &[], status);
                self.w.close("presence");
            } else {
                self.w.empty("presence", &attrs);
            }
            return;
        }
        self.w.open("presence", &[("from", &full), ("to", ME)]);
        if self.r.percent(60) {
            let show = self.r.pick(SHOWS);
            self.w.leaf("show", &[], show);
        }
        if self.r.percent(55) {
            let lang = self.r.percent(20).then(|| self.r.pick(LANGS));
            let status = self.r.pick(STATUSES);
            match lang {
                Some(lang) => self.w.leaf("status", &[("xml:lang", lang)], status),
                None => self.w.leaf("status", &[], status),
            }
        }
        if self.r.percent(70) {
            let priority = self.r.range(0, 55) as i64 - 5;
            self.w.leaf("priority", &[], &priority.to_string());
        }
        if self.r.percent(65) {
            self.caps();
        }
        if self.r.percent(30) {
            let photo = self.r.hex(40);
            self.w.open("x", &[("xmlns", "vcard-temp:x:update")]);
            self.w.leaf("photo", &[], &photo);
            self.w.close("x");
        }
        if self.r.percent(25) {
            let stamp = self.stamp();
            self.w.empty(
                "delay",
                &[
                    ("xmlns", "urn:xmpp:delay"),
                    ("from", &bare),
                    ("stamp", &stamp),
                ],
            );
        }
        if self.r.percent(8) {
            let since = self.stamp();
            self.w
                .empty("idle", &[("xmlns", "urn:xmpp:idle:1"), ("since", &since)]);
        }
        self.w.close("presence");
    }

    fn caps(&mut self) {
        let node = self.r.pick(CAPS_NODES);
        let ver = format!("{}=", self.r.alnum(27));
        self.w.empty(
            "c",
            &[
                ("xmlns", "http://jabber.org/protocol/caps"),
                ("hash", "sha-1"),
                ("node", node),
                ("ver", &ver),
            ],
        );
    }

    fn muc_presence(&mut self) {
        let room = self.room();
        let nick = format!("{}{}", self.r.pick(NICKS), self.r.below(100));
        let from = format!("{room}/{nick}");
        let (_, real) = self.someone();
        let affiliation = self.r.pick(&["none", "member", "admin", "owner"]);
        let role = self.r.pick(&["participant", "moderator", "visitor"]);
        let show_real = self.r.percent(50);
        self.kind("presence");
        self.w.open("presence", &[("from", &from), ("to", ME)]);
        self.caps();
        self.w
            .open("x", &[("xmlns", "http://jabber.org/protocol/muc#user")]);
        let mut attrs = vec![("affiliation", affiliation), ("role", role)];
        if show_real {
            attrs.push(("jid", &real));
        }
        self.w.empty("item", &attrs);
        self.w.close("x");
        self.w.close("presence");
    }

    fn body_chars(&mut self) -> usize {
        match self.r.below(100) {
            0..60 => self.r.range(20, 120),
            60..90 => self.r.range(120, 600),
            _ => self.r.range(600, 2000),
        }
    }

    /// `<body>` of 20 to 2000 characters (counted before escaping).
    fn body(&mut self) {
        let target = self.body_chars();
        self.w.open("body", &[]);
        let mut n = 0;
        while n < target {
            if n > 0 {
                self.w.raw(if self.r.percent(4) { "\n" } else { " " });
                n += 1;
            }
            if self.r.percent(3) {
                let reference = self.r.pick(CHAR_REFS);
                self.w.raw(reference);
                n += 1;
            } else {
                let word = self.r.pick(WORDS);
                self.w.text(word);
                n += word.chars().count();
            }
        }
        self.w.close("body");
    }

    fn chat(&mut self) {
        let (_, full) = self.someone();
        let id = self.id("m");
        let carbon = self.r.percent(12);
        let lang = self.r.percent(10).then(|| self.r.pick(LANGS));
        self.kind("message");
        if carbon {
            let direction = self.r.pick(&["sent", "received"]);
            self.w.open(
                "message",
                &[("from", ME_BARE), ("to", ME), ("type", "chat")],
            );
            self.w.open(direction, &[("xmlns", "urn:xmpp:carbons:2")]);
            self.w.open("forwarded", &[("xmlns", "urn:xmpp:forward:0")]);
            self.chat_inner(&full, &id, lang, true);
            self.w.close("forwarded");
            self.w.close(direction);
            self.w.close("message");
        } else {
            self.chat_inner(&full, &id, lang, false);
        }
    }

    fn chat_inner(&mut self, from: &str, id: &str, lang: Option<&str>, forwarded: bool) {
        let mut attrs = Vec::new();
        if forwarded {
            attrs.push(("xmlns", "jabber:client"));
        }
        attrs.extend([("from", from), ("to", ME), ("type", "chat"), ("id", id)]);
        if let Some(lang) = lang {
            attrs.push(("xml:lang", lang));
        }
        self.w.open("message", &attrs);
        if self.r.percent(8) {
            let subject = self.r.pick(STATUSES);
            self.w.leaf("subject", &[], subject);
        }
        self.body();
        if self.r.percent(35) {
            let parent = self.r.percent(20).then(|| self.r.alnum(12));
            let thread = self.r.alnum(16);
            match &parent {
                Some(p) => self.w.leaf("thread", &[("parent", p)], &thread),
                None => self.w.leaf("thread", &[], &thread),
            }
        }
        if self.r.percent(50) {
            let state = self
                .r
                .pick(&["active", "active", "active", "composing", "paused"]);
            self.w
                .empty(state, &[("xmlns", "http://jabber.org/protocol/chatstates")]);
        }
        if self.r.percent(40) {
            self.w.empty("request", &[("xmlns", "urn:xmpp:receipts")]);
        }
        if self.r.percent(45) {
            let origin = self.r.alnum(20);
            let stanza = self.r.alnum(20);
            self.w
                .empty("origin-id", &[("xmlns", "urn:xmpp:sid:0"), ("id", &origin)]);
            self.w.empty(
                "stanza-id",
                &[
                    ("xmlns", "urn:xmpp:sid:0"),
                    ("by", ME_BARE),
                    ("id", &stanza),
                ],
            );
        }
        if self.r.percent(5) {
            self.w
                .empty("markable", &[("xmlns", "urn:xmpp:chat-markers:0")]);
        }
        self.w.close("message");
    }

    fn groupchat(&mut self) {
        let room = self.room();
        let from = format!("{room}/{}", self.r.pick(NICKS));
        let id = self.id("g");
        self.kind("message");
        self.w.open(
            "message",
            &[
                ("from", &from),
                ("to", ME),
                ("type", "groupchat"),
                ("id", &id),
            ],
        );
        self.body();
        let stanza = self.r.alnum(22);
        self.w.empty(
            "stanza-id",
            &[("xmlns", "urn:xmpp:sid:0"), ("by", &room), ("id", &stanza)],
        );
        if self.r.percent(20) {
            let stamp = self.stamp();
            self.w.empty(
                "delay",
                &[
                    ("xmlns", "urn:xmpp:delay"),
                    ("from", &room),
                    ("stamp", &stamp),
                ],
            );
        }
        self.w.close("message");
    }

    /// A PEP notification (`headline`) whose payload uses prefixes.
    fn pep(&mut self) {
        let (bare, _) = self.someone();
        let id = self.id("pep");
        self.kind("message");
        self.w.open(
            "message",
            &[
                ("from", &bare),
                ("to", ME),
                ("type", "headline"),
                ("id", &id),
            ],
        );
        self.w.open(
            "ev:event",
            &[("xmlns:ev", "http://jabber.org/protocol/pubsub#event")],
        );
        match self.r.below(3) {
            0 => {
                let item = self.r.hex(40);
                let bytes = self.r.range(800, 50_000).to_string();
                let sha = self.r.hex(40);
                self.w
                    .open("ev:items", &[("node", "urn:xmpp:avatar:metadata")]);
                self.w.open("ev:item", &[("id", &item)]);
                self.w
                    .open("av:metadata", &[("xmlns:av", "urn:xmpp:avatar:metadata")]);
                self.w.empty(
                    "av:info",
                    &[
                        ("bytes", &bytes),
                        ("height", "96"),
                        ("width", "96"),
                        ("id", &sha),
                        ("type", "image/webp"),
                    ],
                );
                self.w.close("av:metadata");
            }
            1 => {
                let nick = self.r.pick(DISPLAY_NAMES);
                self.w
                    .open("ev:items", &[("node", "http://jabber.org/protocol/nick")]);
                self.w.open("ev:item", &[("id", "current")]);
                self.w.leaf(
                    "nick",
                    &[("xmlns", "http://jabber.org/protocol/nick")],
                    nick,
                );
            }
            _ => {
                let source = self.r.pick(CLIENTS);
                let artist = self.r.pick(DISPLAY_NAMES);
                let title = format!("{} {}", self.r.pick(WORDS), self.r.pick(WORDS));
                let length = self.r.range(90, 540).to_string();
                self.w
                    .open("ev:items", &[("node", "http://jabber.org/protocol/tune")]);
                self.w.open("ev:item", &[("id", "current")]);
                self.w.open(
                    "tu:tune",
                    &[
                        ("xmlns:tu", "http://jabber.org/protocol/tune"),
                        ("xmlns:meta", "urn:example:player"),
                        ("meta:player", source),
                    ],
                );
                self.w.leaf("tu:artist", &[], artist);
                self.w.leaf("tu:title", &[], &title);
                self.w.leaf("tu:length", &[], &length);
                self.w.close("tu:tune");
            }
        }
        self.w.close("ev:item");
        self.w.close("ev:items");
        self.w.close("ev:event");
        self.w.close("message");
    }

    fn iq_get(&mut self) {
        self.kind("iq-get");
        if self.r.percent(50) {
            let id = self.id("ping");
            self.w.open(
                "iq",
                &[("from", SERVER), ("to", ME), ("type", "get"), ("id", &id)],
            );
            self.w.empty("ping", &[("xmlns", "urn:xmpp:ping")]);
        } else {
            let (_, full) = self.someone();
            let id = self.id("disco");
            let node = format!("{}#{}=", self.r.pick(CAPS_NODES), self.r.alnum(27));
            self.w.open(
                "iq",
                &[("from", &full), ("to", ME), ("type", "get"), ("id", &id)],
            );
            self.w.empty(
                "query",
                &[
                    ("xmlns", "http://jabber.org/protocol/disco#info"),
                    ("node", &node),
                ],
            );
        }
        self.w.close("iq");
    }

    fn iq_result(&mut self) {
        let (_, full) = self.someone();
        let id = self.id("r");
        let attrs = [
            ("from", full.as_str()),
            ("to", ME),
            ("type", "result"),
            ("id", &id),
        ];
        self.kind("iq-result");
        match self.r.below(4) {
            0 => {
                self.w.empty("iq", &attrs);
                return;
            }
            1 => {
                let category = self.r.pick(&["pc", "phone", "web", "bot"]);
                let name = self.r.pick(CLIENTS);
                self.w.open("iq", &attrs);
                self.w.open(
                    "query",
                    &[("xmlns", "http://jabber.org/protocol/disco#info")],
                );
                self.w.empty(
                    "identity",
                    &[("category", "client"), ("type", category), ("name", name)],
                );
                for feature in FEATURES {
                    if self.r.percent(70) {
                        self.w.empty("feature", &[("var", feature)]);
                    }
                }
                self.w.close("query");
            }
            2 => {
                let name = self.r.pick(CLIENTS);
                let version = format!(
                    "{}.{}.{}",
                    self.r.below(3),
                    self.r.below(20),
                    self.r.below(10)
                );
                let os = self
                    .r
                    .pick(&["Linux", "Android 16", "iOS 26", "Windows 11", "macOS"]);
                self.w.open("iq", &attrs);
                self.w.open("query", &[("xmlns", "jabber:iq:version")]);
                self.w.leaf("name", &[], name);
                self.w.leaf("version", &[], &version);
                self.w.leaf("os", &[], os);
                self.w.close("query");
            }
            _ => {
                let tzo = self
                    .r
                    .pick(&["+00:00", "-03:00", "+01:00", "+09:00", "+05:30"]);
                let utc = self.stamp();
                self.w.open("iq", &attrs);
                self.w.open("time", &[("xmlns", "urn:xmpp:time")]);
                self.w.leaf("tzo", &[], tzo);
                self.w.leaf("utc", &[], &utc);
                self.w.close("time");
            }
        }
        self.w.close("iq");
    }

    fn error(&mut self, iq: bool) {
        let (error_type, condition) = CONDITIONS[self.r.below(CONDITIONS.len())];
        let by = self.r.percent(30);
        let text = self.r.percent(40).then(|| self.r.pick(ERROR_TEXTS));
        let app = self.r.percent(10);
        let (_, full) = self.someone();
        let (name, kind, prefix) = if iq {
            ("iq", "iq-error", "e")
        } else {
            ("message", "message-error", "me")
        };
        let id = self.id(prefix);
        self.kind(kind);
        self.w.open(
            name,
            &[("from", &full), ("to", ME), ("type", "error"), ("id", &id)],
        );
        if iq && self.r.percent(40) {
            self.w.empty(
                "query",
                &[("xmlns", "http://jabber.org/protocol/disco#items")],
            );
        }
        let mut attrs = vec![("type", error_type)];
        if by {
            attrs.push(("by", SERVER));
        }
        self.w.open("error", &attrs);
        match condition {
            "gone" => self
                .w
                .leaf(condition, &[("xmlns", STANZAS)], "xmpp:moved@example.org"),
            "redirect" => self.w.leaf(
                condition,
                &[("xmlns", STANZAS)],
                "xmpp:elsewhere@example.org",
            ),
            _ => self.w.empty(condition, &[("xmlns", STANZAS)]),
        }
        if let Some(text) = text {
            self.w
                .leaf("text", &[("xmlns", STANZAS), ("xml:lang", "en")], text);
        }
        if app {
            self.w
                .empty("quota-exceeded", &[("xmlns", "urn:example:errors")]);
        }
        self.w.close("error");
        self.w.close(name);
    }
}

/// FNV-1a, 64 bits: a fingerprint for the manifest (not for security).
fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
