//! What Linux, macOS and the BSDs share: descriptors are small integers, `fcntl` sets modes,
//! `close` closes, and libc's `recv`/`send` are the `recvfrom`/`sendto` system calls.

use super::SETUP;
use crate::trace::{Call, Stage, Tracer};
use rustix::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};

/// The echo's receive call, as the kernel names it (libc's `recv` is `recvfrom`).
pub const RECV: &str = "recvfrom";
/// The echo's send call, as the kernel names it.
pub const SEND: &str = "sendto";
/// The call that asks how many bytes wait (`FIONREAD`).
pub const IOCTL: &str = "ioctl";

/// The number a descriptor is shown as.
pub fn raw(fd: &impl AsRawFd) -> i32 {
    fd.as_raw_fd()
}

/// `fcntl(F_SETFL, O_NONBLOCK)`: calls on `fd` will answer `EAGAIN` instead of sleeping.
pub fn set_nonblocking(tr: &mut Tracer, fd: &impl AsFd, raw: i32, note: &str) {
    let _ = tr.sys(
        Call::new("fcntl", SETUP)
            .fd(raw)
            .args("F_SETFL, O_RDWR|O_NONBLOCK"),
        note,
        || rustix::fs::fcntl_setfl(fd, rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NONBLOCK),
    );
}

/// Closes a descriptor with exactly one `close` (std's drop adds an `fcntl` check in debug
/// builds, which would be a call the trace does not name).
pub fn close(tr: &mut Tracer, fd: OwnedFd, note: &str) {
    let raw = fd.into_raw_fd();
    let call = Call::new("close", Stage::Teardown).fd(raw);
    let start = tr.begin();
    // SAFETY: `raw` came from `into_raw_fd`, so we own it and nothing else will close it.
    unsafe { rustix::io::close(raw) };
    tr.end(call, start, Ok(()), note);
}

/// The terminal's width in columns, if stdout is a terminal.
pub fn term_width() -> Option<usize> {
    rustix::termios::tcgetwinsize(std::io::stdout())
        .ok()
        .map(|w| w.ws_col as usize)
}
