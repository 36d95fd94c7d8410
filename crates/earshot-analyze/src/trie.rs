//! A byte trie of the lexicons' words and phrases, walked from the few places one may start
//! (word starts, and the symbols and punctuation between words) instead of an overlapping
//! Aho-Corasick scan of every byte: the lists are thousands of entries, and their automaton
//! (megabytes as a DFA) cost more per post than everything else the rules do.
//!
//! [`Trie::matches_at`] reports every pattern that starts at a given byte, shortest first.
//! Callers sort what they collect into the order an overlapping automaton reports (by end,
//! then start, then pattern id), so the findings do not depend on which matcher found them.
//!
//! Layout: one `u32` array, nodes depth first, each node its header (`edges | outputs << 16`),
//! its pattern ids, then its edges (`child << 8 | byte`). A walk along a word mostly moves to
//! the node right after the current one, in the same cache line. A wide node (many children
//! over a narrow range of bytes, as near the root) holds instead the first byte of its range
//! and a child (or `NONE`) per byte of it (`edges` is then that count plus one, with
//! [`DENSE`] set): one read finds the child, where a search by halves read one after another.

const NONE: u32 = u32::MAX;
/// Header flag of a node whose children are a table by byte.
const DENSE: u32 = 1 << 15;

/// The byte range of a node's children, when they are many and close enough together to be
/// looked up in a table (at most four slots per child).
fn dense_range(children: &std::collections::BTreeMap<u8, usize>) -> Option<(u8, u32)> {
    let (&lo, _) = children.first_key_value()?;
    let (&hi, _) = children.last_key_value()?;
    let span = (hi - lo) as u32 + 1;
    (children.len() > 6 && span <= 4 * children.len() as u32).then_some((lo, span))
}

#[derive(Debug, Clone)]
pub(crate) struct Trie {
    data: Vec<u32>,
    /// The root's children by first byte (the one lookup every start position pays).
    root: Box<[u32; 256]>,
}

/// A node while building.
#[derive(Default)]
struct Building {
    children: std::collections::BTreeMap<u8, usize>,
    outputs: Vec<u32>,
}

impl Trie {
    /// A trie of `patterns`; pattern `i` reports id `i`. Empty patterns are never reported.
    pub(crate) fn new<P: AsRef<[u8]>>(patterns: &[P]) -> Trie {
        let mut b = vec![Building::default()];
        for (id, p) in patterns.iter().enumerate() {
            let p = p.as_ref();
            if p.is_empty() {
                continue;
            }
            let mut at = 0;
            for &byte in p {
                at = match b[at].children.get(&byte) {
                    Some(&next) => next,
                    None => {
                        b.push(Building::default());
                        let next = b.len() - 1;
                        b[at].children.insert(byte, next);
                        next
                    }
                };
            }
            b[at].outputs.push(id as u32);
        }
        // Depth-first order, each child laid out right after its parent's subtree so far.
        let mut offset = vec![0u32; b.len()];
        let mut order = Vec::with_capacity(b.len());
        let mut stack = vec![0usize];
        while let Some(n) = stack.pop() {
            order.push(n);
            stack.extend(b[n].children.values().rev().copied());
        }
        let edge_words = |node: &Building| match dense_range(&node.children) {
            Some((_, span)) => 1 + span,
            None => node.children.len() as u32,
        };
        let mut at = 0u32;
        for &n in &order {
            offset[n] = at;
            at += 1 + b[n].outputs.len() as u32 + edge_words(&b[n]);
        }
        let mut data = Vec::with_capacity(at as usize);
        for &n in &order {
            let node = &b[n];
            let outputs = (node.outputs.len() as u32) << 16;
            match dense_range(&node.children) {
                Some((lo, span)) => {
                    data.push((1 + span) | DENSE | outputs);
                    data.extend(node.outputs.iter().copied());
                    data.push(lo as u32);
                    data.extend((0..span).map(|k| {
                        node.children
                            .get(&(lo + k as u8))
                            .map_or(NONE, |&child| offset[child])
                    }));
                }
                None => {
                    data.push(node.children.len() as u32 | outputs);
                    data.extend(node.outputs.iter().copied());
                    data.extend(
                        node.children
                            .iter()
                            .map(|(&byte, &child)| offset[child] << 8 | byte as u32),
                    );
                }
            }
        }
        let mut root = Box::new([NONE; 256]);
        for (&byte, &child) in &b[0].children {
            root[byte as usize] = offset[child];
        }
        Trie { data, root }
    }

    /// Whether any pattern starts with `byte`.
    #[inline]
    pub(crate) fn starts_with(&self, byte: u8) -> bool {
        self.root[byte as usize] != NONE
    }

    /// Calls `found(pattern, end)` for every pattern that `hay[start..]` begins with, shortest
    /// first (several ids at one end in id order).
    #[inline]
    pub(crate) fn matches_at(&self, hay: &[u8], start: usize, mut found: impl FnMut(u32, usize)) {
        let Some(&first) = hay.get(start) else {
            return;
        };
        let mut node = self.root[first as usize];
        let mut end = start + 1;
        while node != NONE {
            let at = node as usize;
            let Some(&head) = self.data.get(at) else {
                return;
            };
            let (edges, outputs) = ((head & 0x7fff) as usize, (head >> 16) as usize);
            if outputs > 0 {
                for &id in self.data.get(at + 1..at + 1 + outputs).unwrap_or(&[]) {
                    found(id, end);
                }
            }
            let Some(&byte) = hay.get(end) else {
                return;
            };
            let from = at + 1 + outputs;
            let edges = self.data.get(from..from + edges).unwrap_or(&[]);
            // Edges are sorted by byte: the wide nodes with spread-out bytes are searched by
            // halves.
            node = if head & DENSE != 0 {
                let lo = edges.first().copied().unwrap_or(0);
                let slot = (byte as u32).wrapping_sub(lo) as usize;
                let table = edges.get(1..).unwrap_or(&[]);
                table.get(slot).copied().unwrap_or(NONE)
            } else if edges.len() <= 6 {
                edges
                    .iter()
                    .find(|e| (**e & 0xff) as u8 == byte)
                    .map_or(NONE, |e| e >> 8)
            } else {
                edges
                    .binary_search_by_key(&byte, |e| (*e & 0xff) as u8)
                    .map_or(NONE, |k| edges[k] >> 8)
            };
            end += 1;
        }
    }

    /// Bytes the trie holds (the automaton it replaced was megabytes).
    #[cfg(test)]
    pub(crate) fn memory_usage(&self) -> usize {
        self.data.len() * 4 + 256 * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(t: &Trie, hay: &str) -> Vec<(u32, usize, usize)> {
        let mut v = Vec::new();
        for s in 0..hay.len() {
            t.matches_at(hay.as_bytes(), s, |id, end| v.push((id, s, end)));
        }
        v
    }

    #[test]
    fn reports_every_pattern_at_every_start_shortest_first() {
        let t = Trie::new(&["he", "hers", "his", "she", "h", "", "he"]);
        assert_eq!(
            all(&t, "ushers"),
            [(3, 1, 4), (4, 2, 3), (0, 2, 4), (6, 2, 4), (1, 2, 6)]
        );
        assert_eq!(all(&t, "this"), [(4, 1, 2), (2, 1, 4)]);
        // a wide node (searched by halves)
        let words: Vec<String> = (b'a'..=b'z').map(|c| format!("q{}", c as char)).collect();
        let wide = Trie::new(&words);
        for (i, w) in words.iter().enumerate() {
            assert_eq!(all(&wide, w), [(i as u32, 0, 2)]);
        }
        assert!(all(&wide, "q!").is_empty());
        // a wide node whose bytes are spread out (searched by halves, not a table)
        let spread: Vec<Vec<u8>> = [b'!', b'a', b'z', 0x80, 0x9f, 0xc3, 0xe2, 0xf0]
            .iter()
            .map(|&b| vec![b'q', b])
            .collect();
        let t2 = Trie::new(&spread);
        for (i, p) in spread.iter().enumerate() {
            let mut v = Vec::new();
            t2.matches_at(p, 0, |id, end| v.push((id, end)));
            assert_eq!(v, [(i as u32, 2)]);
        }
        let mut none = Vec::new();
        t2.matches_at(b"qb", 0, |id, end| none.push((id, end)));
        assert!(none.is_empty());
        assert!(t.starts_with(b'h'));
        assert!(!t.starts_with(b'x'));
        assert!(all(&t, "").is_empty());
        let emoji = Trie::new(&["😍", "😍😍", "é"]);
        assert_eq!(all(&emoji, "a😍😍").len(), 3);
        assert!(t.memory_usage() > 0);
    }
}
