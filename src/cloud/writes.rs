//! The writes this provider process has made, to a cloud or a cluster.
//!
//! Terraform refreshes every resource instance through one provider
//! process, so reads made for one instance can serve the others (one list
//! of a kind serves every workload's read, one read of a cluster serves
//! all its workloads). Such a shared read is trusted only while no write
//! has ended since it started: a read after Genesis's own write always
//! sees the write.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

static ENDED: AtomicU64 = AtomicU64::new(0);

/// How many writes have ended so far; a shared read records it when it
/// starts and is stale once it changes.
pub fn count() -> u64 {
    ENDED.load(Ordering::SeqCst)
}

/// Records that a write ended (succeeded or not: a failed call may still
/// have changed something).
pub fn ended() {
    ENDED.fetch_add(1, Ordering::SeqCst);
}

/// A write under way, counted as ended when dropped: held for the length of
/// a change made through a cloud's API, where no client counts calls.
pub struct Writing;

impl Drop for Writing {
    fn drop(&mut self) {
        ended();
    }
}

/// How long a shared read serves: a refresh of hundreds of resources reads
/// within seconds, and nothing read longer ago is trusted.
pub const FRESH_FOR: Duration = Duration::from_secs(10);

/// Reads shared by key while fresh: a read made again once a write has
/// ended since it was asked for, or after [`FRESH_FOR`].
pub struct SharedReads<K, T> {
    entries: Mutex<HashMap<K, Entry<T>>>,
}

struct Entry<T> {
    /// `count()` when the read was asked for.
    writes: u64,
    made: Instant,
    /// How often the key was asked for in this process.
    asked: usize,
    read: Arc<OnceCell<T>>,
}

impl<K, T> Default for SharedReads<K, T> {
    fn default() -> Self {
        SharedReads {
            entries: Mutex::default(),
        }
    }
}

impl<K: Eq + Hash, T> SharedReads<K, T> {
    /// The read that serves `key` (filled by the first to need it), and
    /// how many times `key` was asked for in this process, this one too.
    pub fn read(&self, key: K) -> (usize, Arc<OnceCell<T>>) {
        let now = count();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.entry(key).or_insert_with(|| Entry {
            writes: now,
            made: Instant::now(),
            asked: 0,
            read: Arc::default(),
        });
        entry.asked += 1;
        if entry.writes != now || entry.made.elapsed() > FRESH_FOR {
            entry.writes = now;
            entry.made = Instant::now();
            entry.read = Arc::default();
        }
        (entry.asked, entry.read.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_is_shared_until_a_write_ends() {
        let reads = SharedReads::<&str, u32>::default();
        // Writes may end in another test at any time: compare only reads
        // with no write between them.
        let before = count();
        let (asked, first) = reads.read("deployments");
        assert_eq!(asked, 1);
        let (asked, again) = reads.read("deployments");
        assert_eq!(asked, 2);
        if count() == before {
            assert!(Arc::ptr_eq(&first, &again));
        }
        ended();
        let (asked, after) = reads.read("deployments");
        assert_eq!(asked, 3, "what was asked is remembered across writes");
        assert!(!Arc::ptr_eq(&again, &after));
    }
}
