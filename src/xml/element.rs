//! Owned, namespace-resolved XML elements.
//!
//! An [`Element`] is a handle into a compact tree: one string buffer holding
//! every name, namespace, attribute value and text of a stanza, plus two flat
//! vectors of nodes and attributes in document order. Parsing a stanza costs
//! a handful of allocations however many elements it has, and a child handle
//! shares its stanza's tree (cloning an `Element` is a reference-count bump).
//! Trees are immutable; [`ElementBuilder`] makes new ones.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use super::error::BuildError;
use super::ns;

/// A range of [`Tree::strings`]; `u32` keeps nodes small (a tree is bounded
/// by the stanza size limit, which [`super::Limits`] caps below 4 GiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    start: u32,
    len: u32,
}

/// In a node's `lang`: none (no language's span starts at 4 GiB).
const NO_LANG: Span = Span {
    start: u32::MAX,
    len: 0,
};

/// One node of a [`Tree`], an element or a run of text: 32 bytes.
///
/// An element's attributes are `attrs[attrs_start..]` up to the next
/// node's `attrs_start` (or the end of `attrs`): attributes are stored
/// only as their element starts, so every node records how many there
/// were when it was made, and the next node's count ends the previous
/// element's run.
#[derive(Debug, Clone, Copy)]
struct NodeRec {
    /// Element: its local name. Text: the text.
    span: Span,
    /// Element: its namespace. Text: unused.
    ns: Span,
    /// Element: index one past its last descendant (so never 0). Text: 0.
    end: u32,
    attrs_start: u32,
    /// The effective `xml:lang` (own attribute, else inherited), or
    /// [`NO_LANG`].
    lang: Span,
}

/// One attribute: 36 bytes.
#[derive(Debug, Clone)]
pub(crate) struct AttrNode {
    pub(crate) name: Span,
    pub(crate) ns: Option<Span>,
    /// The prefix the attribute had on the wire (empty when none); the
    /// serializer reuses it so prefixed payloads keep their look.
    pub(crate) prefix: Span,
    pub(crate) value: Span,
}

/// The storage behind one or more [`Element`] handles.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    strings: String,
    nodes: Vec<NodeRec>,
    attrs: Vec<AttrNode>,
}

static EMPTY_NODE: NodeRec = NodeRec {
    span: Span { start: 0, len: 0 },
    ns: Span { start: 0, len: 0 },
    end: 0,
    attrs_start: 0,
    lang: NO_LANG,
};

impl Tree {
    /// Heap bytes the tree's three buffers hold (their capacities).
    fn heap(&self) -> usize {
        self.strings.capacity()
            + self.nodes.capacity() * std::mem::size_of::<NodeRec>()
            + self.attrs.capacity() * std::mem::size_of::<AttrNode>()
    }

    fn str(&self, span: Span) -> &str {
        let start = span.start as usize;
        self.strings
            .get(start..start + span.len as usize)
            .unwrap_or_default()
    }

    fn element(&self, index: u32) -> &NodeRec {
        match self.nodes.get(index as usize) {
            Some(e) if e.end != 0 => e,
            // Handles are only made for element nodes; this arm is never taken.
            _ => &EMPTY_NODE,
        }
    }

    #[inline]
    fn lang(&self, node: &NodeRec) -> Option<Span> {
        (node.lang != NO_LANG).then_some(node.lang)
    }

    /// The attributes of the element at `index`.
    #[inline]
    fn attrs_of(&self, index: u32) -> &[AttrNode] {
        let start = self.element(index).attrs_start as usize;
        let end = self
            .nodes
            .get(index as usize + 1)
            .map_or(self.attrs.len(), |n| n.attrs_start as usize);
        self.attrs.get(start..end).unwrap_or_default()
    }
}

/// Writes a [`Tree`] in document order. Used by the parser and the builder.
///
/// The parser's writer has a budget ([`super::Limits::max_tree_bytes`]):
/// the heap its buffers may hold, counting, while a buffer grows, the new
/// block beside the old one. A growth that would pass it is not made; the
/// writer is then [`TreeWriter::over_budget`] and writes nothing more
/// (every read of the half-written tree stays in bounds), and the parser
/// refuses the element.
#[derive(Debug)]
pub(crate) struct TreeWriter {
    tree: Tree,
    open: Vec<u32>,
    /// Whether the last node pushed is a text node that is a sibling of the
    /// next node (no element started or ended since), so new text merges
    /// into it.
    text_open: bool,
    /// Heap bytes the tree may hold (`usize::MAX` for the builder's).
    budget: usize,
    /// A growth would have passed `budget`: nothing more is written.
    over: bool,
}

/// Converts a buffer offset to the `u32` a [`Span`] stores, saturating.
///
/// Every offset is at most the final length of the buffer it points into,
/// so a tree whose buffers all end within `u32` never saturated one;
/// [`TreeWriter::finish_checked`] checks exactly that and refuses the tree
/// otherwise. The parser can get there: a stanza of up to
/// [`super::Limits::MAX_STANZA_BYTES`] is copied once, decoded text adds at
/// most as much again, merged text next to CDATA once more, and the
/// header's namespaces and language are added once each.
fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Whether `spare` bytes of room beside `used` are worth giving back: at
/// least 4 KiB, and more than a sixteenth of what is used. A tree's
/// buffers are sized by guesses and grow by doubling, so a large stanza
/// can leave up to half of one unused; small stanzas never reach the
/// threshold, and pay a comparison.
fn large_slack(spare: usize, used: usize) -> bool {
    spare >= 4096 && spare > used / 16
}

/// Makes room for one more entry in a tree's vector, if `budget` allows
/// (`heap` is the tree's heap now, [`Tree::heap`]): growth by half, not
/// doubling, so a large tree overshoots what it needs by at most a half
/// while it is built (it is trimmed when finished, [`shrink_if_slack`]).
/// Returns whether there is room. Called when the vector is full.
#[cold]
#[inline(never)]
fn grow_by_half<T>(v: &mut Vec<T>, heap: usize, budget: usize) -> bool {
    let extra = (v.len() / 2).max(4);
    // The new block is allocated while the old one is still held.
    let new_block = (v.capacity() + extra).saturating_mul(std::mem::size_of::<T>());
    if heap.saturating_add(new_block) > budget {
        return false;
    }
    v.reserve_exact(extra);
    true
}

/// First room in a tree's vectors: `extra` and one entry per 48 bytes of
/// source (an ordinary stanza has about one node and one attribute per 40
/// to 60 bytes; a held event's tree should not carry much spare room), at
/// most [`FIRST_ROOM_MAX`] entries, so a large stanza that turns out to
/// be mostly text does not start with room for nodes it never has.
fn first_room(source_len: usize, extra: usize) -> usize {
    (source_len / 48).min(FIRST_ROOM_MAX) + extra
}

/// The heap of a tree's first room: (strings, nodes, attributes).
fn first_heap((strings, nodes, attrs): (usize, usize, usize)) -> usize {
    strings
        .saturating_add(nodes * std::mem::size_of::<NodeRec>())
        .saturating_add(attrs * std::mem::size_of::<AttrNode>())
}

/// First room within `budget` when the expected room passes it: the least
/// that holds a source of `n` bytes, or nothing (and over budget) if even
/// that passes it.
#[cold]
fn least_room(n: usize, budget: usize) -> ((usize, usize, usize), bool) {
    let least = (n, 4, 2);
    if first_heap(least) <= budget {
        (least, false)
    } else {
        ((0, 0, 0), true)
    }
}

/// See [`first_room`]: room for a 96 KiB stanza of ordinary density.
const FIRST_ROOM_MAX: usize = 2048;

fn shrink_if_slack<T>(v: &mut Vec<T>) {
    let size = std::mem::size_of::<T>();
    if large_slack((v.capacity() - v.len()) * size, v.len() * size) {
        v.shrink_to_fit();
    }
}

impl TreeWriter {
    /// A writer without a budget (the builder's).
    pub(crate) fn new() -> Self {
        Self {
            tree: Tree::default(),
            open: Vec::new(),
            text_open: false,
            budget: usize::MAX,
            over: false,
        }
    }

    /// A writer whose string buffer starts with a copy of `source`, the
    /// text of the element being parsed: names, and values and text that
    /// need no decoding, become spans of that copy ([`TreeWriter::source_span`])
    /// instead of one small copy each. `stack` is spare room for the
    /// open-element stack, handed back by [`TreeWriter::finish_reusing`], so
    /// a parser reusing it allocates one vector fewer per stanza.
    /// `budget` bounds the tree's heap (see [`TreeWriter`]); a source whose
    /// copy alone would pass it leaves the writer over budget at once,
    /// having allocated nothing.
    pub(crate) fn with_source(source: &str, mut stack: Vec<u32>, budget: usize) -> Self {
        // Allocated at their expected sizes up front (`with_capacity`, not
        // `reserve`, which goes through the growth path), or at the least
        // that holds the copy where those would pass the budget.
        let n = source.len();
        let mut room = (n + n / 8 + 64, first_room(n, 4), first_room(n, 2));
        let mut over = false;
        if first_heap(room) > budget {
            (room, over) = least_room(n, budget);
        }
        let (strings_room, nodes_room, attrs_room) = room;
        let mut strings = String::with_capacity(strings_room);
        if !over {
            strings.push_str(source);
        }
        stack.clear();
        if stack.capacity() == 0 {
            stack.reserve_exact(8);
        }
        Self {
            tree: Tree {
                strings,
                nodes: Vec::with_capacity(nodes_room),
                attrs: Vec::with_capacity(attrs_room),
            },
            open: stack,
            text_open: false,
            budget,
            over,
        }
    }

    /// Whether a growth would have passed the budget: the tree is then
    /// incomplete, and the element must be refused
    /// ([`super::LimitKind::TreeBytes`]).
    #[inline]
    pub(crate) fn over_budget(&self) -> bool {
        self.over
    }

    /// The heap bytes the tree may take.
    pub(crate) fn budget(&self) -> usize {
        self.budget
    }

    /// Room for one more node; `false` (and over budget) if the budget
    /// does not allow it.
    #[inline]
    fn room_for_node(&mut self) -> bool {
        let nodes = &self.tree.nodes;
        nodes.len() < nodes.capacity() || self.grow(|t| &mut t.nodes)
    }

    /// [`TreeWriter::room_for_node`] for an attribute.
    #[inline]
    fn room_for_attr(&mut self) -> bool {
        let attrs = &self.tree.attrs;
        attrs.len() < attrs.capacity() || self.grow(|t| &mut t.attrs)
    }

    /// Grows the full vector `field` picks by half, if the budget allows;
    /// the writer is over budget from the first growth that is not made.
    #[cold]
    #[inline(never)]
    fn grow<T>(&mut self, field: impl FnOnce(&mut Tree) -> &mut Vec<T>) -> bool {
        let heap = self.tree.heap();
        let grown = !self.over && grow_by_half(field(&mut self.tree), heap, self.budget);
        self.over |= !grown;
        grown
    }

    /// Room for `extra` more bytes of strings, as
    /// [`TreeWriter::room_for_node`] for a node.
    #[inline]
    fn room_for_str(&mut self, extra: usize) -> bool {
        let strings = &self.tree.strings;
        strings.capacity() - strings.len() >= extra || self.grow_strings(extra)
    }

    #[cold]
    #[inline(never)]
    fn grow_strings(&mut self, extra: usize) -> bool {
        let strings = &self.tree.strings;
        // By half again at least, as the vectors grow, and by 64 bytes at
        // least (a builder's strings start empty).
        let want = extra.max(strings.capacity() / 2).max(64);
        let new_block = strings.len().saturating_add(want);
        let grown = !self.over && self.tree.heap().saturating_add(new_block) <= self.budget;
        if grown {
            self.tree.strings.reserve_exact(want);
        }
        self.over |= !grown;
        grown
    }

    /// The span of `range` of the source given to [`TreeWriter::with_source`].
    pub(crate) fn source_span(&self, range: std::ops::Range<usize>) -> Span {
        Span {
            start: offset(range.start),
            len: offset(range.end - range.start),
        }
    }

    /// Adds a text node holding `span`, merged with a directly preceding
    /// sibling text node (text next to CDATA) so text is never split.
    pub(crate) fn text_span(&mut self, span: Span) {
        if span.len == 0 {
            return;
        }
        if self.text_open
            && let Some(prev) = self.tree.nodes.last().map(|n| n.span)
        {
            let end = self.tree.strings.len();
            let merged = if prev.start as usize + prev.len as usize == span.start as usize {
                // Contiguous (both freshly appended): just extend.
                Span {
                    start: prev.start,
                    len: prev.len + span.len,
                }
            } else {
                // Copy the text so far to the end of the buffer, unless it
                // already is there (an earlier merge): then only the new
                // piece is appended, so a run of N pieces costs O(N), not
                // O(N²).
                let moved = prev.start as usize + prev.len as usize != end;
                let copied = span.len as usize + if moved { prev.len as usize } else { 0 };
                if !self.room_for_str(copied) {
                    return;
                }
                let start = if !moved {
                    prev.start as usize
                } else {
                    let a = prev.start as usize;
                    self.tree
                        .strings
                        .extend_from_within(a..a + prev.len as usize);
                    end
                };
                let b = span.start as usize;
                self.tree
                    .strings
                    .extend_from_within(b..b + span.len as usize);
                Span {
                    start: offset(start),
                    len: offset(self.tree.strings.len() - start),
                }
            };
            if let Some(last) = self.tree.nodes.last_mut() {
                last.span = merged;
            }
            return;
        }
        if !self.room_for_node() {
            return;
        }
        self.tree.nodes.push(NodeRec {
            span,
            ns: Span::default(),
            end: 0,
            attrs_start: offset(self.tree.attrs.len()),
            lang: NO_LANG,
        });
        self.text_open = true;
    }

    /// Where the attributes of the next element start; push them with
    /// [`TreeWriter::push_attr`], then call [`TreeWriter::start_element_at`].
    pub(crate) fn attrs_mark(&self) -> usize {
        self.tree.attrs.len()
    }

    pub(crate) fn push_attr(&mut self, attr: AttrNode) {
        if self.room_for_attr() {
            self.tree.attrs.push(attr);
        }
    }

    /// The attributes pushed since `mark`.
    pub(crate) fn attrs_since(&self, mark: usize) -> &[AttrNode] {
        self.tree.attrs.get(mark..).unwrap_or_default()
    }

    /// Appends `s` to the strings; an empty span, with nothing written,
    /// if the budget leaves no room for it.
    pub(crate) fn push_str(&mut self, s: &str) -> Span {
        if !self.room_for_str(s.len()) {
            return Span::default();
        }
        let start = offset(self.tree.strings.len());
        self.tree.strings.push_str(s);
        Span {
            start,
            len: offset(s.len()),
        }
    }

    /// Appends to `strings` through a closure that writes at most
    /// `max_len` bytes; returns the span written. If the budget leaves no
    /// room for `max_len` bytes, `f` is not called and the span is empty.
    pub(crate) fn push_with<E>(
        &mut self,
        max_len: usize,
        f: impl FnOnce(&mut String) -> Result<(), E>,
    ) -> Result<Span, E> {
        if !self.room_for_str(max_len) {
            return Ok(Span::default());
        }
        let start = self.tree.strings.len();
        f(&mut self.tree.strings)?;
        // The room made is what the budget counted.
        debug_assert!(self.tree.strings.len() - start <= max_len);
        Ok(Span {
            start: offset(start),
            len: offset(self.tree.strings.len() - start),
        })
    }

    pub(crate) fn str(&self, span: Span) -> &str {
        self.tree.str(span)
    }

    /// The innermost open element's node.
    fn parent(&self) -> Option<&NodeRec> {
        self.open.last().map(|&i| self.tree.element(i))
    }

    /// The effective language of the innermost open element.
    pub(crate) fn current_lang(&self) -> Option<Span> {
        self.parent().and_then(|p| self.tree.lang(p))
    }

    /// Opens an element; `attrs` are its attributes (already resolved).
    pub(crate) fn start_element(
        &mut self,
        name: Span,
        ns: Span,
        lang: Option<Span>,
        attrs: impl IntoIterator<Item = AttrNode>,
    ) {
        let attrs_start = offset(self.tree.attrs.len());
        self.tree.attrs.extend(attrs);
        self.open_node(name, ns, lang, attrs_start);
    }

    /// Opens an element whose attributes were pushed since `attrs_mark`.
    #[inline]
    pub(crate) fn start_element_at(
        &mut self,
        name: Span,
        ns: Span,
        lang: Option<Span>,
        attrs_mark: usize,
    ) {
        self.open_node(name, ns, lang, offset(attrs_mark));
    }

    #[inline(always)]
    fn open_node(&mut self, name: Span, ns: Span, lang: Option<Span>, attrs_start: u32) {
        self.text_open = false;
        let lang = lang.unwrap_or(NO_LANG);
        let index = offset(self.tree.nodes.len());
        if self.room_for_node() {
            self.tree.nodes.push(NodeRec {
                span: name,
                ns,
                end: index + 1,
                attrs_start,
                lang,
            });
        }
        // Pushed even over budget: the depth stays right.
        self.open.push(index);
    }

    /// Closes the innermost open element.
    pub(crate) fn end_element(&mut self) {
        self.text_open = false;
        let end = offset(self.tree.nodes.len());
        if let Some(index) = self.open.pop()
            && let Some(e) = self.tree.nodes.get_mut(index as usize)
        {
            e.end = end;
        }
    }

    pub(crate) fn depth(&self) -> usize {
        self.open.len()
    }

    /// Appends `s` as a text node (merged like [`TreeWriter::text_span`]).
    pub(crate) fn text(&mut self, s: &str) {
        let span = self.push_str(s);
        self.text_span(span);
    }

    /// Copies the subtree of `src` in as a child of the innermost open element.
    /// Elements without an `xml:lang` of their own take the parent's.
    pub(crate) fn copy_element(&mut self, src: &Element) {
        let tree = &*src.tree;
        let first = src.index as usize;
        let last = tree.element(src.index).end as usize;
        let mut langs: Vec<(u32, Option<Span>)> = Vec::new();
        let mut inherited = self.current_lang();
        let mut stack_ends: Vec<u32> = Vec::new();
        for i in first..last {
            while stack_ends.last().is_some_and(|&end| end as usize <= i) {
                stack_ends.pop();
                self.end_element();
                if let Some((_, lang)) = langs.pop() {
                    inherited = lang;
                }
            }
            let Some(e) = tree.nodes.get(i) else {
                continue;
            };
            if e.end == 0 {
                self.text(tree.str(e.span));
                continue;
            }
            let index = offset(i);
            let name = self.push_str(tree.str(e.span));
            let ns = self.push_str(tree.str(e.ns));
            let src_attrs = tree.attrs_of(index);
            let own_lang = src_attrs.iter().any(|a| {
                a.ns.is_some_and(|n| tree.str(n) == ns::XML) && tree.str(a.name) == "lang"
            });
            let mut attrs = Vec::with_capacity(src_attrs.len());
            for a in src_attrs {
                attrs.push(AttrNode {
                    name: self.push_str(tree.str(a.name)),
                    ns: a.ns.map(|n| self.push_str(tree.str(n))),
                    prefix: self.push_str(tree.str(a.prefix)),
                    value: self.push_str(tree.str(a.value)),
                });
            }
            let lang = match (own_lang, tree.lang(e)) {
                (true, Some(l)) => Some(self.push_str(tree.str(l))),
                _ => inherited,
            };
            langs.push((e.end, inherited));
            inherited = lang;
            stack_ends.push(e.end);
            self.start_element(name, ns, lang, attrs);
        }
        while stack_ends.pop().is_some() {
            self.end_element();
        }
    }

    /// Finishes the tree; the first node becomes the returned root. `None`
    /// if a buffer outgrew the `u32` offsets of [`Span`] (then some offset
    /// saturated and the tree is unusable).
    pub(crate) fn finish_checked(self) -> Option<Element> {
        self.finish_reusing(&mut Vec::new())
    }

    /// [`TreeWriter::finish_checked`], handing the open-element stack's
    /// room back in `stack` for the next [`TreeWriter::with_source`].
    /// Spare room of the tree's buffers is given back when it is large (a
    /// large stanza's), so a held tree costs about what it uses.
    pub(crate) fn finish_reusing(mut self, stack: &mut Vec<u32>) -> Option<Element> {
        while !self.open.is_empty() {
            self.end_element();
        }
        *stack = std::mem::take(&mut self.open);
        // Every count below `u32::MAX`: no offset or index saturated.
        let max = u32::MAX as usize - 1;
        if self.tree.strings.len() > max
            || self.tree.nodes.len() > max
            || self.tree.attrs.len() > max
        {
            return None;
        }
        // Only a tree from a source of a few KiB can have 4 KiB of slack
        // to give back ([`large_slack`]): smaller ones skip the checks.
        let strings = &mut self.tree.strings;
        if strings.capacity() >= 4096 {
            if large_slack(strings.capacity() - strings.len(), strings.len()) {
                strings.shrink_to_fit();
            }
            shrink_if_slack(&mut self.tree.nodes);
            shrink_if_slack(&mut self.tree.attrs);
        }
        Some(Element {
            tree: Arc::new(self.tree),
            index: 0,
        })
    }
}

/// An owned, namespace-resolved XML element.
///
/// Inbound stanzas arrive as `Element`s; outbound ones are made with
/// [`Element::builder`]. Names are local names with their namespace resolved
/// (`<ev:event xmlns:ev='…'>` has name `event` and that namespace); `xmlns`
/// declarations are not attributes. Text is unescaped. Equality is
/// structural: names, namespaces, attributes (in any order), and children
/// and text in order.
///
/// ```
/// use xmpp_sansio::xml::Element;
///
/// let body = Element::builder("body", "jabber:client").text("hi <3").build();
/// let msg = Element::builder("message", "jabber:client")
///     .attr("to", "juliet@example.com")
///     .attr("type", "chat")
///     .child(body)
///     .build();
/// assert_eq!(msg.attr("type"), Some("chat"));
/// assert_eq!(msg.get_child("body", "jabber:client").unwrap().text(), "hi <3");
/// assert_eq!(
///     msg.to_xml(),
///     "<message xmlns='jabber:client' to='juliet@example.com' type='chat'><body>hi &lt;3</body></message>"
/// );
/// ```
#[derive(Clone)]
pub struct Element {
    tree: Arc<Tree>,
    index: u32,
}

/// One attribute of an [`Element`].
///
/// ```
/// use xmpp_sansio::xml::{Element, ns};
/// let el = Element::builder("x", "urn:a").attr("k", "v").attr_ns(ns::XML, "lang", "en").build();
/// let names: Vec<_> = el.attrs().map(|a| (a.name, a.ns, a.value)).collect();
/// assert_eq!(names, [("k", None, "v"), ("lang", Some(ns::XML), "en")]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// The local name.
    pub name: &'a str,
    /// The namespace, for a prefixed attribute (`xml:lang` has [`ns::XML`]).
    pub ns: Option<&'a str>,
    /// The unescaped, normalized value.
    pub value: &'a str,
    pub(crate) prefix: &'a str,
}

/// A child of an [`Element`]: an element or a run of text.
///
/// ```
/// use xmpp_sansio::xml::{Element, Node};
/// let el = Element::builder("p", "").text("a").child(Element::new("b", "")).build();
/// let kinds: Vec<_> = el.nodes().map(|n| matches!(n, Node::Text(_))).collect();
/// assert_eq!(kinds, [true, false]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node<'a> {
    /// A child element.
    Element(Element),
    /// Unescaped character data (adjacent text and CDATA are merged).
    Text(&'a str),
}

impl Element {
    /// Heap bytes of the tree this element is part of (the whole stanza's,
    /// for a child).
    pub(crate) fn tree_heap(&self) -> usize {
        self.tree.heap()
    }

    /// Starts building an element named `name` in namespace `ns`.
    pub fn builder(name: impl Into<String>, ns: impl Into<String>) -> ElementBuilder {
        ElementBuilder::new(name, ns)
    }

    /// An element with no attributes or children.
    pub fn new(name: &str, ns: &str) -> Self {
        ElementBuilder::new(name, ns).build()
    }

    fn node(&self) -> &NodeRec {
        self.tree.element(self.index)
    }

    /// The local name.
    pub fn name(&self) -> &str {
        self.tree.str(self.node().span)
    }

    /// The namespace name (`""` for none).
    pub fn ns(&self) -> &str {
        self.tree.str(self.node().ns)
    }

    /// Whether this element has the given local name and namespace.
    pub fn is(&self, name: &str, ns: &str) -> bool {
        self.name() == name && self.ns() == ns
    }

    /// The effective `xml:lang`: this element's own, else its nearest
    /// ancestor's, else the stream header's (for parsed stanzas).
    pub fn lang(&self) -> Option<&str> {
        self.tree.lang(self.node()).map(|s| self.tree.str(s))
    }

    fn attr_nodes(&self) -> &[AttrNode] {
        self.tree.attrs_of(self.index)
    }

    /// The value of the unprefixed attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attr_nodes()
            .iter()
            .find(|a| a.ns.is_none() && self.tree.str(a.name) == name)
            .map(|a| self.tree.str(a.value))
    }

    /// The value of the attribute `name` in namespace `ns`.
    pub fn attr_ns(&self, ns: &str, name: &str) -> Option<&str> {
        self.attr_nodes()
            .iter()
            .find(|a| a.ns.is_some_and(|n| self.tree.str(n) == ns) && self.tree.str(a.name) == name)
            .map(|a| self.tree.str(a.value))
    }

    /// All attributes, in document order.
    pub fn attrs(&self) -> impl ExactSizeIterator<Item = Attribute<'_>> + '_ {
        self.attr_nodes().iter().map(|a| Attribute {
            name: self.tree.str(a.name),
            ns: a.ns.map(|n| self.tree.str(n)),
            value: self.tree.str(a.value),
            prefix: self.tree.str(a.prefix),
        })
    }

    /// Child nodes (elements and text) in document order.
    pub fn nodes(&self) -> Nodes<'_> {
        Nodes {
            element: self,
            next: self.index + 1,
            end: self.node().end,
        }
    }

    /// Child elements in document order.
    pub fn children(&self) -> impl Iterator<Item = Element> + '_ {
        self.nodes().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The first child element with this name and namespace.
    pub fn get_child(&self, name: &str, ns: &str) -> Option<Element> {
        self.children().find(|c| c.is(name, ns))
    }

    /// Whether a child element with this name and namespace exists.
    pub fn has_child(&self, name: &str, ns: &str) -> bool {
        self.get_child(name, ns).is_some()
    }

    /// The concatenated text of the direct text children.
    pub fn text(&self) -> Cow<'_, str> {
        let mut texts = self.nodes().filter_map(|n| match n {
            Node::Text(t) => Some(t),
            Node::Element(_) => None,
        });
        let Some(first) = texts.next() else {
            return Cow::Borrowed("");
        };
        match texts.next() {
            None => Cow::Borrowed(first),
            Some(second) => {
                let mut s = String::from(first);
                s.push_str(second);
                texts.for_each(|t| s.push_str(t));
                Cow::Owned(s)
            }
        }
    }

    /// Whether the element has neither children nor text.
    pub fn is_empty(&self) -> bool {
        self.node().end == self.index + 1
    }

    /// Bytes in the tree's string buffer (the tree this handle shares).
    #[cfg(test)]
    pub(crate) fn string_bytes(&self) -> usize {
        self.tree.strings.len()
    }

    /// A builder holding a copy of this element, to derive a changed one.
    pub fn to_builder(&self) -> ElementBuilder {
        let mut b = ElementBuilder::new(self.name(), self.ns());
        for a in self.attrs() {
            b.attrs.push(BuilderAttr {
                name: a.name.to_owned(),
                ns: a.ns.map(str::to_owned),
                prefix: a.prefix.to_owned(),
                value: a.value.to_owned(),
            });
        }
        for n in self.nodes() {
            match n {
                Node::Element(e) => b.children.push(BuilderChild::Element(e)),
                Node::Text(t) => b.children.push(BuilderChild::Text(t.to_owned())),
            }
        }
        b
    }

    /// Serializes this element as a standalone XML fragment (its namespace
    /// declared on it); see [`super::writer`] for stream-context output.
    pub fn to_xml(&self) -> String {
        let mut out = Vec::new();
        super::writer::write_element(self, &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Iterator over an element's child nodes; see [`Element::nodes`].
///
/// ```
/// use xmpp_sansio::xml::Element;
/// assert_eq!(Element::builder("p", "").text("t").build().nodes().count(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct Nodes<'a> {
    element: &'a Element,
    next: u32,
    end: u32,
}

impl<'a> Iterator for Nodes<'a> {
    type Item = Node<'a>;

    fn next(&mut self) -> Option<Node<'a>> {
        if self.next >= self.end {
            return None;
        }
        let tree = &self.element.tree;
        let index = self.next;
        let n = tree.nodes.get(index as usize)?;
        if n.end == 0 {
            self.next = index + 1;
            return Some(Node::Text(tree.str(n.span)));
        }
        self.next = n.end.max(index + 1);
        Some(Node::Element(Element {
            tree: Arc::clone(tree),
            index,
        }))
    }
}

impl PartialEq for Element {
    fn eq(&self, other: &Self) -> bool {
        if self.name() != other.name() || self.ns() != other.ns() {
            return false;
        }
        let (a, b) = (self.attr_nodes(), other.attr_nodes());
        if a.len() != b.len() {
            return false;
        }
        let same_attrs = self.attrs().all(|x| {
            other
                .attrs()
                .any(|y| x.name == y.name && x.ns == y.ns && x.value == y.value)
        });
        same_attrs && self.nodes().eq(other.nodes())
    }
}

impl Eq for Element {}

impl fmt::Debug for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Element({})", self.to_xml())
    }
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_xml())
    }
}

#[derive(Debug, Clone)]
struct BuilderAttr {
    name: String,
    ns: Option<String>,
    prefix: String,
    value: String,
}

#[derive(Debug, Clone)]
enum BuilderChild {
    Element(Element),
    Text(String),
}

/// Builds an [`Element`]. Names must be valid XML names without a prefix
/// (a builder refuses a `:` but does not check the rest, see
/// [`ElementBuilder::try_build`]); text may be anything, and the serializer
/// escapes it.
///
/// ```
/// use xmpp_sansio::xml::{Element, ns};
///
/// let status = Element::builder("status", "jabber:client")
///     .attr_ns(ns::XML, "lang", "de")
///     .text("Ich bin da")
///     .build();
/// assert_eq!(status.lang(), Some("de"));
/// let changed = status.to_builder().text("!").build();
/// assert_eq!(changed.text(), "Ich bin da!");
/// ```
///
/// # Panics
/// `build` panics where `try_build` fails (see there).
#[derive(Debug, Clone)]
pub struct ElementBuilder {
    name: String,
    ns: String,
    attrs: Vec<BuilderAttr>,
    children: Vec<BuilderChild>,
}

impl ElementBuilder {
    /// A builder for an element named `name` in namespace `ns`.
    pub fn new(name: impl Into<String>, ns: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ns: ns.into(),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Sets an unprefixed attribute, replacing any earlier value.
    pub fn attr(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set_attr(name, value);
        self
    }

    /// Sets an attribute when `value` is `Some`.
    pub fn attr_opt(mut self, name: impl Into<String>, value: Option<impl Into<String>>) -> Self {
        if let Some(v) = value {
            self.set_attr(name, v);
        }
        self
    }

    /// Sets an attribute in namespace `ns` (e.g. [`ns::XML`] `lang`). An
    /// empty `ns` means no namespace: the same as [`ElementBuilder::attr`].
    pub fn attr_ns(
        mut self,
        ns: impl Into<String>,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.set_attr_ns(Some(ns.into()), name.into(), value.into());
        self
    }

    /// Sets `xml:lang` when `lang` is `Some` (the common "text in a
    /// language" shape of bodies, statuses and error texts).
    pub fn lang(mut self, lang: Option<impl Into<String>>) -> Self {
        if let Some(lang) = lang {
            self.set_attr_ns(Some(ns::XML.to_owned()), "lang".to_owned(), lang.into());
        }
        self
    }

    /// Sets an unprefixed attribute in place.
    pub fn set_attr(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.set_attr_ns(None, name.into(), value.into());
    }

    /// Removes an unprefixed attribute.
    pub fn remove_attr(&mut self, name: &str) {
        self.attrs.retain(|a| !(a.ns.is_none() && a.name == name));
    }

    fn set_attr_ns(&mut self, ns: Option<String>, name: String, value: String) {
        // No namespace is `""` throughout this API (as for `Element::ns`);
        // an attribute cannot be put in it with a prefix (XML Names 1.0
        // forbids `xmlns:p=''`), so it is the unprefixed attribute.
        let ns = ns.filter(|n| !n.is_empty());
        if let Some(a) = self.attrs.iter_mut().find(|a| a.ns == ns && a.name == name) {
            a.value = value;
        } else {
            let prefix = if ns.as_deref() == Some(ns::XML) {
                "xml".to_owned()
            } else {
                String::new()
            };
            self.attrs.push(BuilderAttr {
                name,
                ns,
                prefix,
                value,
            });
        }
    }

    /// Appends a child element.
    pub fn child(mut self, child: impl Into<Element>) -> Self {
        self.push_child(child);
        self
    }

    /// Appends several child elements.
    pub fn children(mut self, children: impl IntoIterator<Item = Element>) -> Self {
        self.children
            .extend(children.into_iter().map(BuilderChild::Element));
        self
    }

    /// Appends a child element in place.
    pub fn push_child(&mut self, child: impl Into<Element>) {
        self.children.push(BuilderChild::Element(child.into()));
    }

    /// Appends text.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.push_text(text);
        self
    }

    /// Appends text in place.
    pub fn push_text(&mut self, text: impl Into<String>) {
        self.children.push(BuilderChild::Text(text.into()));
    }

    /// Makes the element.
    ///
    /// # Panics
    /// Where [`ElementBuilder::try_build`] returns an error: a name with a
    /// `:`, an attribute that would be a namespace declaration, or more
    /// than 4 GiB of names and text. Names given as literals, as the crate
    /// itself does, never panic; use `try_build` for names from elsewhere.
    pub fn build(self) -> Element {
        match self.try_build() {
            Ok(e) => e,
            Err(e) => panic!("ElementBuilder::build: {e}"),
        }
    }

    /// Makes the element, or says why it cannot be one.
    ///
    /// An element's namespaces are its own and its attributes' `ns`; an
    /// attribute named `xmlns` or `xmlns:…`, or in the [`ns::XMLNS`]
    /// namespace, would be a namespace declaration once serialized and
    /// change them, so it is refused, as is a `:` in a local name (write
    /// `attr_ns(ns::XML, "lang", …)`, not `attr("xml:lang", …)`) and an
    /// element in the `xmlns` namespace.
    ///
    /// ```
    /// use xmpp_sansio::xml::{BuildError, Element};
    /// let bad = Element::builder("x", "urn:a").attr("xmlns", "urn:b").try_build();
    /// assert_eq!(bad, Err(BuildError::NamespaceDeclaration("xmlns".into())));
    /// assert!(Element::builder("x", "urn:a").attr("k", "v").try_build().is_ok());
    /// ```
    pub fn try_build(self) -> Result<Element, BuildError> {
        if self.ns == ns::XMLNS {
            return Err(BuildError::ReservedNamespace(self.name));
        }
        if self.name.contains(':') {
            return Err(BuildError::QualifiedName(self.name));
        }
        for a in &self.attrs {
            let declaration = match a.ns.as_deref() {
                None => a.name == "xmlns" || a.name.starts_with("xmlns:"),
                Some(n) => n == ns::XMLNS,
            };
            if declaration {
                return Err(BuildError::NamespaceDeclaration(a.name.clone()));
            }
            if a.name.contains(':') {
                return Err(BuildError::QualifiedName(a.name.clone()));
            }
        }
        let mut w = TreeWriter::new();
        let name = w.push_str(&self.name);
        let ns = w.push_str(&self.ns);
        let mut lang = None;
        let mut attrs = Vec::with_capacity(self.attrs.len());
        for a in &self.attrs {
            let value = w.push_str(&a.value);
            if a.ns.as_deref() == Some(ns::XML) && a.name == "lang" {
                lang = Some(value);
            }
            attrs.push(AttrNode {
                name: w.push_str(&a.name),
                ns: a.ns.as_deref().map(|n| w.push_str(n)),
                prefix: w.push_str(&a.prefix),
                value,
            });
        }
        w.start_element(name, ns, lang, attrs);
        for c in &self.children {
            match c {
                BuilderChild::Element(e) => w.copy_element(e),
                BuilderChild::Text(t) => w.text(t),
            }
        }
        w.finish_checked().ok_or(BuildError::TooLarge)
    }
}

impl From<ElementBuilder> for Element {
    fn from(b: ElementBuilder) -> Element {
        b.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_children_and_text() {
        let inner = Element::builder("b", "urn:x").text("one").build();
        let outer = Element::builder("a", "urn:x")
            .text("x")
            .child(inner.clone())
            .text("y")
            .text("z")
            .child(Element::new("c", "urn:y"))
            .build();
        let kids: Vec<_> = outer.children().collect();
        assert_eq!(kids.len(), 2);
        assert_eq!(kids[0], inner);
        assert_eq!(kids[1].ns(), "urn:y");
        assert_eq!(outer.text(), "xyz");
        assert_eq!(outer.nodes().count(), 4);
        assert!(kids[1].is_empty());
    }

    #[test]
    fn lang_is_inherited_by_copied_children() {
        let child = Element::new("body", "jabber:client");
        let msg = Element::builder("message", "jabber:client")
            .attr_ns(ns::XML, "lang", "fr")
            .child(child)
            .build();
        let body = msg.get_child("body", "jabber:client");
        assert_eq!(body.as_ref().and_then(|b| b.lang()), Some("fr"));
    }

    #[test]
    fn equality_ignores_attribute_order() {
        let a = Element::builder("x", "")
            .attr("a", "1")
            .attr("b", "2")
            .build();
        let b = Element::builder("x", "")
            .attr("b", "2")
            .attr("a", "1")
            .build();
        let c = Element::builder("x", "")
            .attr("b", "2")
            .attr("a", "3")
            .build();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    /// A node is 32 bytes (an element's name, namespace and language
    /// spans, its end and first attribute); it was 40.
    #[test]
    fn nodes_are_32_bytes() {
        assert_eq!(std::mem::size_of::<NodeRec>(), 32);
    }

    /// A large tree gives back the spare room its guessed and grown
    /// buffers had (over 4 KiB and a sixteenth of what is used); a small
    /// one keeps its buffers as they are (no reallocation).
    #[test]
    fn a_large_tree_gives_back_its_spare_room() {
        let source = "x".repeat(64 * 1024);
        let mut w = TreeWriter::with_source(&source, Vec::new(), usize::MAX);
        let name = w.source_span(0..1);
        w.start_element(name, Span::default(), None, []);
        for i in 0..3500 {
            let value = w.source_span(i..i + 1);
            w.start_element(
                name,
                Span::default(),
                None,
                [AttrNode {
                    name,
                    ns: None,
                    prefix: Span::default(),
                    value,
                }],
            );
            w.text_span(value);
            w.end_element();
        }
        let Some(e) = w.finish_checked() else {
            panic!("tree refused")
        };
        let t = &*e.tree;
        // Grown to 10,390 nodes and 4,612 attributes, the source's copy
        // to 73.8 KB: each given back.
        assert_eq!((t.nodes.len(), t.attrs.len()), (7001, 3500));
        assert_eq!(t.nodes.capacity(), t.nodes.len());
        assert_eq!(t.attrs.capacity(), t.attrs.len());
        assert_eq!(t.strings.capacity(), t.strings.len());
        assert_eq!(e.children().count(), 3500);
        let last = e.children().nth(3499);
        assert_eq!(last.as_ref().and_then(|c| c.attr("x")), Some("x"));
        assert_eq!(last.map(|c| c.text().into_owned()).as_deref(), Some("x"));

        let mut w = TreeWriter::with_source("<m>hi</m>", Vec::new(), usize::MAX);
        let name = w.source_span(1..2);
        w.start_element(name, Span::default(), None, []);
        let text = w.source_span(3..5);
        w.text_span(text);
        let Some(small) = w.finish_checked() else {
            panic!("tree refused")
        };
        let t = &*small.tree;
        assert_eq!(t.nodes.capacity(), first_room(9, 4));
        assert_eq!(small.text(), "hi");
    }

    #[test]
    fn to_builder_round_trips() {
        let e = Element::builder("x", "urn:a")
            .attr("k", "v")
            .child(Element::builder("y", "urn:b").text("t").build())
            .build();
        assert_eq!(e.to_builder().build(), e);
        let changed = e.to_builder().attr("k", "w").build();
        assert_eq!(changed.attr("k"), Some("w"));
    }
}
