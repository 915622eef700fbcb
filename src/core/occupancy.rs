//! How many intervals are open at each moment: the one sweep behind every "at most N keys at
//! once" check (two keys per user in `validate` and the timeline; a pool's `2 × N` keys).
//!
//! Intervals are half-open, `[start, end)`: one that ends exactly when another starts does not
//! overlap it. Empty intervals (`end <= start`) are never open and are skipped. At equal times
//! the ends come first, then the starts in key order, so "the third one" is well defined.
//! O(n log n) in the number of intervals.

use std::collections::BTreeSet;

/// One step of the sweep: at `at`, the interval `key` opened (`opened`) or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step<T, K> {
    pub at: T,
    pub key: K,
    pub opened: bool,
}

/// Walks the interval edges in time order; after each step, `open()` is the set of intervals
/// open just after that step and `earliest_end()` the first moment one of them closes.
pub struct Sweep<T, K> {
    // (time, 0 = end / 1 = start, key, end of that interval), sorted, consumed in order.
    edges: std::vec::IntoIter<(T, u8, K, T)>,
    open: BTreeSet<K>,
    by_end: BTreeSet<(T, K)>,
}

impl<T: Ord + Copy, K: Ord + Copy> Sweep<T, K> {
    pub fn new(intervals: impl IntoIterator<Item = (T, T, K)>) -> Self {
        let mut edges = Vec::new();
        for (start, end, key) in intervals {
            if start < end {
                edges.push((start, 1, key, end));
                edges.push((end, 0, key, end));
            }
        }
        edges.sort_unstable();
        Sweep {
            edges: edges.into_iter(),
            open: BTreeSet::new(),
            by_end: BTreeSet::new(),
        }
    }

    /// The intervals open after the last step, in key order.
    pub fn open(&self) -> &BTreeSet<K> {
        &self.open
    }

    /// When the first of the open intervals closes.
    pub fn earliest_end(&self) -> Option<T> {
        self.by_end.first().map(|&(t, _)| t)
    }

    /// The time of the next step, if any (to group the steps taken at one moment).
    pub fn peek_time(&self) -> Option<T> {
        self.edges.as_slice().first().map(|e| e.0)
    }
}

impl<T: Ord + Copy, K: Ord + Copy> Iterator for Sweep<T, K> {
    type Item = Step<T, K>;

    fn next(&mut self) -> Option<Step<T, K>> {
        let (at, kind, key, end) = self.edges.next()?;
        let opened = kind == 1;
        if opened {
            self.open.insert(key);
            self.by_end.insert((end, key));
        } else {
            self.open.remove(&key);
            self.by_end.remove(&(end, key));
        }
        Some(Step { at, key, opened })
    }
}

/// Every moment the number of open intervals changes, with the number from then on (the last
/// one is always 0). Steps at one moment are taken together.
pub fn changes<T: Ord + Copy, K: Ord + Copy>(
    intervals: impl IntoIterator<Item = (T, T, K)>,
) -> Vec<(T, usize)> {
    let mut sweep = Sweep::new(intervals);
    let mut out: Vec<(T, usize)> = Vec::new();
    while let Some(step) = sweep.next() {
        if sweep.peek_time() == Some(step.at) {
            continue;
        }
        let count = sweep.open().len();
        if out.last().is_none_or(|&(_, c)| c != count) {
            out.push((step.at, count));
        }
    }
    out
}

/// The first moment more than `limit` intervals are open, with how many are open then.
pub fn first_over<T: Ord + Copy, K: Ord + Copy>(
    intervals: impl IntoIterator<Item = (T, T, K)>,
    limit: usize,
) -> Option<(T, usize)> {
    changes(intervals)
        .into_iter()
        .find(|&(_, count)| count > limit)
}

/// A maximal span during which more than the limit were open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excess<T, K> {
    pub from: T,
    pub to: T,
    /// The most open at once during the span.
    pub peak: usize,
    /// Every interval open at some moment of the span.
    pub keys: BTreeSet<K>,
}

/// The maximal spans during which more than `limit` intervals are open, in time order.
pub fn spans_over<T: Ord + Copy, K: Ord + Copy>(
    intervals: impl IntoIterator<Item = (T, T, K)>,
    limit: usize,
) -> Vec<Excess<T, K>> {
    let mut sweep = Sweep::new(intervals);
    let mut out = Vec::new();
    let mut current: Option<Excess<T, K>> = None;
    while let Some(step) = sweep.next() {
        if sweep.peek_time() == Some(step.at) {
            continue;
        }
        let open = sweep.open();
        if open.len() > limit {
            let span = current.get_or_insert_with(|| Excess {
                from: step.at,
                to: step.at,
                peak: 0,
                keys: BTreeSet::new(),
            });
            span.keys.extend(open.iter().copied());
            span.peak = span.peak.max(open.len());
        } else if let Some(mut span) = current.take() {
            span.to = step.at;
            out.push(span);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touching_intervals_do_not_overlap() {
        let iv = [(0, 10, 'a'), (10, 20, 'b'), (10, 20, 'c')];
        assert_eq!(changes(iv), vec![(0, 1), (10, 2), (20, 0)]);
        assert_eq!(first_over(iv, 2), None);
        assert_eq!(first_over(iv, 1), Some((10, 2)));
    }

    #[test]
    fn ends_are_exclusive_and_come_before_starts() {
        let steps: Vec<_> = Sweep::new([(5, 9, 'b'), (0, 5, 'a')]).collect();
        assert_eq!(
            steps,
            vec![
                Step {
                    at: 0,
                    key: 'a',
                    opened: true
                },
                Step {
                    at: 5,
                    key: 'a',
                    opened: false
                },
                Step {
                    at: 5,
                    key: 'b',
                    opened: true
                },
                Step {
                    at: 9,
                    key: 'b',
                    opened: false
                },
            ]
        );
    }

    #[test]
    fn starts_at_one_moment_are_taken_in_key_order() {
        let mut sweep = Sweep::new([(0, 8, 2), (0, 9, 0), (0, 7, 1)]);
        let keys: Vec<(usize, usize)> = sweep.by_ref().take(3).map(|s| s.key).zip(1..).collect();
        assert_eq!(keys, vec![(0, 1), (1, 2), (2, 3)]);
        assert_eq!(sweep.earliest_end(), Some(7));
        assert_eq!(sweep.open().len(), 3);
    }

    #[test]
    fn empty_intervals_are_never_open() {
        assert_eq!(changes([(3, 3, 'a'), (4, 2, 'b')]), vec![]);
        assert_eq!(changes([(3, 3, 'a'), (1, 5, 'b')]), vec![(1, 1), (5, 0)]);
    }

    #[test]
    fn spans_over_the_limit_are_maximal() {
        let iv = [
            (0, 10, 'a'),
            (2, 6, 'b'),
            (4, 8, 'c'),
            (6, 9, 'd'),
            (12, 13, 'e'),
        ];
        let spans = spans_over(iv, 2);
        assert_eq!(spans.len(), 1);
        assert_eq!((spans[0].from, spans[0].to, spans[0].peak), (4, 8, 3));
        assert_eq!(spans[0].keys, BTreeSet::from(['a', 'b', 'c', 'd']));
        assert!(spans_over(iv, 3).is_empty());
    }

    #[test]
    fn a_pool_limit_is_a_count_across_users() {
        // Pool of 2 users: at most 4 keys; five participants' keys overlapping at 3..4.
        let iv = [(0, 4, 0), (1, 4, 1), (2, 5, 2), (3, 6, 3), (3, 4, 4)];
        assert_eq!(first_over(iv, 2 * 2), Some((3, 5)));
        assert_eq!(first_over(iv, 5), None);
    }
}
