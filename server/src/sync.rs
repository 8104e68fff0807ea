//! Small synchronisation helpers every layer may use (this module imports nothing of ours).

/// Locks a mutex whose data stays consistent even if a holder panicked (every critical
/// section in this server leaves its data whole), instead of propagating the poison.
pub fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
