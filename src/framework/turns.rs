//! Creates and deletes of one name take turns within an apply.
//!
//! Terraform runs a destroy and a create at once when nothing orders them:
//! a `for_each` key renamed without a `moved` block destroys the old
//! address and creates the new one, both naming the same cluster, pool,
//! repository or workload. A create that meets its own origin adopts the
//! object (see `cloud::origin`), so run together the delete would remove
//! what the create just adopted, or the create would adopt what the delete
//! is removing, and the apply would report success over nothing. Taking
//! turns makes either order whole: a create that goes first adopts, and the
//! delete then finds the object created in this apply and keeps it; a
//! delete that goes first finishes, and the create then makes the object
//! anew. Operations of one kind never wait for each other.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::Notify;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Create,
    Delete,
}

/// (resource type, name): what two addresses may both name.
type Key = (String, String);

#[derive(Default)]
pub struct Turns {
    /// Creates and deletes running, by key.
    running: Mutex<HashMap<Key, [usize; 2]>>,
    changed: Notify,
}

/// A turn, held until the operation ends.
pub struct Turn<'a> {
    turns: &'a Turns,
    key: Key,
    op: Op,
}

fn slot(op: Op) -> usize {
    match op {
        Op::Create => 0,
        Op::Delete => 1,
    }
}

impl Turns {
    /// Waits until no operation of the other kind runs on `key`, then
    /// takes a turn.
    pub async fn take(&self, key: Key, op: Op) -> Turn<'_> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
                let counts = running.entry(key.clone()).or_default();
                if counts[1 - slot(op)] == 0 {
                    counts[slot(op)] += 1;
                    return Turn {
                        turns: self,
                        key,
                        op,
                    };
                }
            }
            tracing::debug!(resource = %key.0, name = %key.1, ?op, "waiting for the other operation on this name");
            changed.await;
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut running = self.turns.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(counts) = running.get_mut(&self.key) {
            counts[slot(self.op)] -= 1;
            if counts == &[0, 0] {
                running.remove(&self.key);
            }
        }
        drop(running);
        self.turns.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn key(name: &str) -> Key {
        ("genesis_workload".into(), name.into())
    }

    #[tokio::test]
    async fn a_delete_waits_for_a_create_of_the_same_name() {
        let turns = std::sync::Arc::new(Turns::default());
        let create = turns.take(key("api"), Op::Create).await;
        let other = turns.take(key("web"), Op::Delete).await;
        drop(other);
        let second = turns.take(key("api"), Op::Create).await;
        let waiting = {
            let turns = turns.clone();
            tokio::spawn(async move {
                let _turn = turns.take(key("api"), Op::Delete).await;
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "the delete waits");
        drop(create);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiting.is_finished(),
            "until every create of the name ends"
        );
        drop(second);
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("the delete takes its turn")
            .unwrap();
        assert!(turns.running.lock().unwrap().is_empty());
    }
}
