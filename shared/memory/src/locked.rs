use std::sync::{Mutex, PoisonError};

/// A mutex whose guard never leaves a synchronous closure, so no adapter can hold it across an `.await` and
/// every call is one atomic step, like a single conditional write in DynamoDB.
#[derive(Debug, Default)]
pub(crate) struct Locked<T>(Mutex<T>);

impl<T> Locked<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(Mutex::new(value))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // Poisoning means an earlier closure panicked (that panic already failed its own request). Failing every
        // later call too would wedge the whole store, so take the state as it is and go on.
        let mut guard = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_closure_does_not_wedge_later_calls() {
        let locked = Locked::new(1);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            locked.with(|v| {
                *v = 2;
                panic!("bug in one update");
            })
        }));
        assert!(panicked.is_err());
        assert_eq!(locked.with(|v| *v), 2);
    }
}
