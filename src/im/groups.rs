//! The set of groups of a roster item, kept as a sorted vector.

use std::collections::BTreeSet;
use std::fmt;

/// The groups of a [`super::RosterItem`] (RFC 6121 §2.1.2.6): a set of
/// names, iterated in sorted order, with no duplicates.
///
/// It has the methods of a `BTreeSet<String>` that a roster needs, but
/// keeps its names in one sorted vector: an item with one group costs one
/// 24-byte allocation beside the name, where a `BTreeSet` allocates a
/// 280-byte node (a 1000-item roster held 280 KB of such nodes). Items
/// have a handful of groups at most, so lookups by binary search and
/// inserts that shift the vector cost nothing that matters.
///
/// ```
/// use xmpp_sansio::im::Groups;
///
/// let mut g: Groups = ["Friends", "Family", "Friends"].into_iter().collect();
/// assert_eq!(g.len(), 2);
/// assert!(g.contains("Friends"));
/// assert!(g.insert("Work"));
/// assert!(!g.insert("Work"));
/// assert_eq!(g.iter().collect::<Vec<_>>(), ["Family", "Friends", "Work"]);
/// assert!(g.remove("Family"));
/// assert_eq!(g, Groups::from(["Friends".to_owned(), "Work".to_owned()]));
/// assert_eq!(format!("{g:?}"), r#"{"Friends", "Work"}"#);
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Groups {
    /// Sorted, without duplicates.
    names: Vec<String>,
}

impl Groups {
    /// No groups.
    pub const fn new() -> Self {
        Self { names: Vec::new() }
    }

    /// How many groups.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Whether `name` is one of the groups.
    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Adds `name`; `false` if it was already there.
    pub fn insert(&mut self, name: impl Into<String>) -> bool {
        let name = name.into();
        match self.find(&name) {
            Ok(_) => false,
            Err(at) => {
                self.names.insert(at, name);
                true
            }
        }
    }

    /// Removes `name`; `false` if it was not there.
    pub fn remove(&mut self, name: &str) -> bool {
        match self.find(name) {
            Ok(at) => {
                self.names.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    /// Keeps the groups for which `keep` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.names.retain(|n| keep(n));
    }

    /// Removes every group.
    pub fn clear(&mut self) {
        self.names.clear();
    }

    /// The names, in sorted order.
    pub fn iter(&self) -> std::iter::Map<std::slice::Iter<'_, String>, fn(&String) -> &str> {
        self.names.iter().map(String::as_str)
    }

    /// The names as a sorted slice.
    pub fn as_slice(&self) -> &[String] {
        &self.names
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.names.binary_search_by(|n| n.as_str().cmp(name))
    }

    /// Sorts and deduplicates `names`, keeping no spare room.
    fn from_vec(mut names: Vec<String>) -> Self {
        names.sort_unstable();
        names.dedup();
        if names.capacity() > names.len() {
            names.shrink_to_fit();
        }
        Self { names }
    }
}

impl fmt::Debug for Groups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names.iter()).finish()
    }
}

impl<S: Into<String>> FromIterator<S> for Groups {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        Self::from_vec(iter.into_iter().map(Into::into).collect())
    }
}

impl<S: Into<String>> Extend<S> for Groups {
    fn extend<I: IntoIterator<Item = S>>(&mut self, iter: I) {
        let mut names = std::mem::take(&mut self.names);
        names.extend(iter.into_iter().map(Into::into));
        *self = Self::from_vec(names);
    }
}

impl<S: Into<String>, const N: usize> From<[S; N]> for Groups {
    fn from(names: [S; N]) -> Self {
        names.into_iter().collect()
    }
}

impl From<Vec<String>> for Groups {
    fn from(names: Vec<String>) -> Self {
        Self::from_vec(names)
    }
}

impl From<BTreeSet<String>> for Groups {
    fn from(names: BTreeSet<String>) -> Self {
        // Already sorted and unique.
        Self {
            names: names.into_iter().collect(),
        }
    }
}

impl From<Groups> for BTreeSet<String> {
    fn from(groups: Groups) -> Self {
        groups.names.into_iter().collect()
    }
}

impl From<Groups> for Vec<String> {
    fn from(groups: Groups) -> Self {
        groups.names
    }
}

impl IntoIterator for Groups {
    type Item = String;
    type IntoIter = std::vec::IntoIter<String>;

    fn into_iter(self) -> Self::IntoIter {
        self.names.into_iter()
    }
}

impl<'a> IntoIterator for &'a Groups {
    type Item = &'a str;
    type IntoIter = std::iter::Map<std::slice::Iter<'a, String>, fn(&String) -> &str>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_in_sorted_order() {
        let mut g = Groups::from(vec!["b".to_owned(), "a".to_owned(), "b".to_owned()]);
        assert_eq!(g.as_slice(), ["a", "b"]);
        g.extend(["c", "a"]);
        assert_eq!(g.as_slice(), ["a", "b", "c"]);
        g.retain(|n| n != "b");
        assert_eq!(
            BTreeSet::from(g.clone()),
            BTreeSet::from(["a".to_owned(), "c".to_owned()])
        );
        assert!(!g.remove("b"));
        g.clear();
        assert!(g.is_empty());
    }

    /// One group costs one allocation of exactly one `String`.
    #[test]
    fn no_spare_room() {
        let g: Groups = std::iter::once("Friends").collect();
        assert_eq!(g.names.capacity(), 1);
    }
}
