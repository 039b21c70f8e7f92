//! The path and query buffers of finished requests, kept for the next requests built on
//! the same thread. A declared call would otherwise allocate both and free both on every
//! call; beside the allocator's own work, two more blocks a call push the HTTP client's
//! and the JSON decoder's small blocks out of the allocator's per-thread cache.
//!
//! A kept buffer is cleared, not wiped: its bytes are no more exposed than those of any
//! freed block, which the allocator hands out again as they are.

use std::cell::RefCell;

/// Pairs a thread keeps: one per call a task has in flight, up to a point.
const KEPT: usize = 16;

/// A buffer grown past this goes back to the allocator: a long URL must not stay.
const LARGEST: usize = 1024;

/// A path's room before it is known: most paths fit.
const PATH_ROOM: usize = 96;

thread_local! {
    static SPARE: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
}

/// Empty buffers for a path and a query.
pub(crate) fn take() -> (String, String) {
    let kept = SPARE.try_with(|spare| spare.borrow_mut().pop());
    kept.ok()
        .flatten()
        .unwrap_or_else(|| (String::with_capacity(PATH_ROOM), String::new()))
}

/// Keeps `path` and `query` for [`take`], unless enough are kept or either grew large.
pub(crate) fn give(mut path: String, mut query: String) {
    if path.capacity() > LARGEST || query.capacity() > LARGEST || path.capacity() == 0 {
        return;
    }
    path.clear();
    query.clear();
    let _ = SPARE.try_with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.len() < KEPT {
            spare.push((path, query));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_buffer_comes_back_empty_and_a_large_one_is_not_kept() {
        let (mut path, mut query) = take();
        path.push_str("/secret/path");
        query.push_str("key=secret");
        let addresses = (path.as_ptr(), query.as_ptr());
        give(path, query);
        let (path, query) = take();
        assert_eq!((path.as_str(), query.as_str()), ("", ""));
        assert_eq!((path.as_ptr(), query.as_ptr()), addresses);

        give(String::with_capacity(LARGEST + 1), String::new());
        let (path, _) = take();
        assert!(path.capacity() <= LARGEST.max(PATH_ROOM));
    }

    #[test]
    fn at_most_kept_pairs_are_kept() {
        for _ in 0..KEPT * 2 {
            give(String::with_capacity(8), String::with_capacity(8));
        }
        let kept = SPARE.with(|spare| spare.borrow().len());
        assert_eq!(kept, KEPT);
    }
}
