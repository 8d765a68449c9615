//! The trace: one event per real system call, recorded on the calling thread and rendered elsewhere.
//!
//! A model never prints. It records through its thread's [`Tracer`], which timestamps each call,
//! folds runs of identical spinning calls into one event, and hands finished events to a channel.
//! The main thread drains that channel and renders ([`text`], [`json`]) and summarises
//! ([`summary`]), so the server thread's own system calls stay exactly the ones in the trace.
//! [`event`] holds what is recorded (the JSON interface), [`tracer`] how.

pub mod errno;
mod event;
pub mod json;
pub mod names;
pub mod perfetto;
pub mod story;
pub mod summary;
pub mod text;
pub mod timeline;
mod tracer;

pub use event::{Event, Kind, Stage};
pub use tracer::{Call, Gloss, Recorder, Remark, Ret, Started, ThreadId, Tracer};

/// Escapes bytes for a one-line gloss: printable ASCII as is, the rest as `\n`, `\xNN`.
pub fn escape(bytes: &[u8], max: usize) -> String {
    let mut s = String::from("\"");
    for &b in bytes.iter().take(max) {
        s.extend(std::ascii::escape_default(b).map(char::from));
    }
    s.push('"');
    if bytes.len() > max {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_shows_control_and_high_bytes() {
        assert_eq!(escape(b"hi\n\xff", 10), "\"hi\\n\\xff\"");
        assert_eq!(escape(b"abcdef", 3), "\"abc\"…");
    }
}
