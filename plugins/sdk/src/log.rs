//! Log lines in the host's log, tagged with the connector id. Never log
//! secrets, authorization codes or tokens.

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// Writes one line at `level`.
pub fn write(level: LogLevel, message: impl AsRef<str>) {
    crate::host::log(level, message.as_ref());
}

/// Detail useful only when debugging a connector.
pub fn debug(message: impl AsRef<str>) {
    write(LogLevel::Debug, message);
}

/// Normal progress.
pub fn info(message: impl AsRef<str>) {
    write(LogLevel::Info, message);
}

/// Something odd that did not stop the request.
pub fn warn(message: impl AsRef<str>) {
    write(LogLevel::Warn, message);
}

/// The request failed.
pub fn error(message: impl AsRef<str>) {
    write(LogLevel::Error, message);
}
