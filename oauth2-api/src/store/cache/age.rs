//! When a cache entry is read from the store again, and which call reads it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// The longest a call keeps the turn to read an entry again: one whose read was dropped
/// (its caller went away) or failed is presumed lost after this, and the next call takes
/// the turn. Shorter when the time to live is.
const LONGEST_TURN: Duration = Duration::from_secs(1);

/// When an entry ages out, and when a call took the turn to read it again.
pub(super) struct Age {
    until: Instant,
    /// Nanoseconds after `until` when a call took the turn, plus one; zero: none has.
    turn_taken: AtomicU64,
}

impl Age {
    pub(super) fn new(until: Instant) -> Self {
        Self {
            until,
            turn_taken: AtomicU64::new(0),
        }
    }

    pub(super) fn is_young(&self, now: Instant) -> bool {
        now < self.until
    }

    /// Whether a call at `now` may use the entry: while it is young, and once it has
    /// aged out, while another call reads it again. The first call to find it aged out
    /// takes the turn: it is told no, reads the store, and what it reads replaces the
    /// entry or removes it. A turn older than the time to live (`ttl`, at most a second)
    /// passes to the next call.
    pub(super) fn serves(&self, now: Instant, ttl: Duration) -> bool {
        let Some(aged_for) = now.checked_duration_since(self.until) else {
            return true;
        };
        let stamp = nanos(aged_for).saturating_add(1);
        let taken = self.turn_taken.load(Ordering::Relaxed);
        if taken != 0 && stamp.saturating_sub(taken) < nanos(ttl.min(LONGEST_TURN)) {
            return true;
        }
        // This call's turn, unless another took it since the load above.
        let exchanged =
            self.turn_taken
                .compare_exchange(taken, stamp, Ordering::Relaxed, Ordering::Relaxed);
        exchanged.is_err()
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_call_takes_the_turn_and_a_lost_turn_passes_on() {
        let start = Instant::now();
        let second = Duration::from_secs(1);
        let age = Age::new(start + second);
        assert!(age.serves(start, second), "young");
        let aged = start + second;
        assert!(!age.serves(aged, second), "the first call to find it aged");
        assert!(age.serves(aged, second) && age.serves(aged + second / 2, second));
        // The turn is presumed lost after the time to live: the next call takes it.
        assert!(!age.serves(aged + second, second));
        assert!(age.serves(aged + second, second));
        // A short time to live makes a short turn; a long one, a turn of a second.
        let short = Duration::from_millis(10);
        assert!(!age.serves(aged + second + short, short));
        let hour = Duration::from_secs(3600);
        assert!(age.serves(aged + second + short + second / 2, hour));
        assert!(!age.serves(aged + 3 * second, hour));
    }
}
