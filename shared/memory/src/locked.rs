use std::sync::Mutex;

/// A mutex whose guard never leaves a synchronous closure, so no adapter can hold it across an `.await` and
/// every call is one atomic step, like a single conditional write in DynamoDB.
#[derive(Debug, Default)]
pub(crate) struct Locked<T>(Mutex<T>);

impl<T> Locked<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(Mutex::new(value))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // Poisoning means a closure panicked mid-update; the state may be inconsistent, so fail loudly.
        let mut guard = self.0.lock().expect("in-memory adapter lock poisoned");
        f(&mut guard)
    }
}
