//! Wall-clock time from the host (the fake clock in tests).

/// Seconds since the Unix epoch, UTC.
pub fn now_unix() -> u64 {
    crate::host::now_unix()
}
