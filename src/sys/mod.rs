//! What differs between operating systems, in one place, so that model files do not `#[cfg]`.
//!
//! Every OS module (`linux`, `bsd` for macOS and FreeBSD, `windows`) offers the same items; the
//! shared code calls them through `crate::sys`. Each one records its calls through the
//! [`Tracer`] under the name that OS gives them (`accept4` on Linux; `accept` then
//! `fcntl(F_SETFD)` on macOS; `accept`, `ioctlsocket`, `closesocket` on Windows), so the trace
//! stays true everywhere.
//!
//! The contract:
//! - `thread_id()`: this thread's id and the call that gave it (`gettid`, `GetCurrentThreadId`).
//! - `cpu_time(tr)`: the closing call of every server thread, recording its CPU time.
//! - `socket(tr, addr)`: a TCP socket for the listener (with close-on-exec where that exists).
//! - `accept(tr, listener, blocks)`: the accept call and its flags, the new socket and the
//!   peer's address.
//! - `set_nonblocking(tr, fd, note)`: `fcntl(O_NONBLOCK)` or `ioctlsocket(FIONBIO)`.
//! - `close(tr, fd, note)`: exactly one `close` / `closesocket`.
//! - `Stopper`: how the harness ends a run. Linux shuts the listener down through a duplicate
//!   (a blocked `accept4` fails with `EINVAL`); elsewhere shutting a listener down does not
//!   reliably wake `accept`, so the harness makes one last "wake-up" connection, which the server
//!   accepts, recognises by the stop flag, and closes (see [`crate::server::Server::accept`]).
//! - `refuse(tr, listener)`: a failed model turns waiting clients away before teardown.
//! - `RECV`, `SEND`, `IOCTL`, `SEND_FLAGS`: names and flags of the echo's calls.
//! - `term_width()`: the terminal's width, for `compare`.

use crate::trace::{Call, Stage, Started, Tracer};

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::*;

#[cfg(all(unix, not(target_os = "linux")))]
mod bsd;
#[cfg(all(unix, not(target_os = "linux")))]
pub use bsd::*;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;

/// Records the CPU-time call every server thread makes last: `user_us` and `sys_us` as the OS
/// reported them, `what` saying whose time it is (this thread, or the whole process).
fn record_cpu(
    tr: &mut Tracer,
    call: Call,
    start: Started,
    result: rustix::io::Result<()>,
    (user_us, sys_us): (u64, u64),
    what: &str,
) {
    tr.end_with(
        call,
        start,
        result,
        |ev| ev.cpu_us = Some(user_us + sys_us),
        format!(
            "{what} CPU: {:.1} ms user + {:.1} ms system",
            user_us as f64 / 1e3,
            sys_us as f64 / 1e3
        ),
    );
}

/// A call that failed, as an errno, from the OS's last error.
#[cfg(not(target_vendor = "apple"))]
fn last_errno() -> rustix::io::Errno {
    rustix::io::Errno::from_io_error(&std::io::Error::last_os_error())
        .unwrap_or(rustix::io::Errno::INVAL)
}

/// The stage of the calls these helpers make at setup.
const SETUP: Stage = Stage::Setup;

/// How the harness stops the server where shutting a listener down does not reliably wake
/// `accept` (macOS, the BSDs, Windows): one last connection to the listener, which the server
/// accepts, sees the stop flag set, and closes.
#[cfg(not(target_os = "linux"))]
pub struct Stopper {
    addr: std::net::SocketAddr,
}

/// Nothing to prepare: the harness only needs the listener's address.
#[cfg(not(target_os = "linux"))]
pub fn stopper(
    _tr: &mut Tracer,
    _listener: &rustix::fd::OwnedFd,
    local: std::net::SocketAddr,
) -> rustix::io::Result<Stopper> {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
    // An unspecified address (`--bind 0.0.0.0`) is reached through loopback.
    let addr = match local {
        SocketAddr::V4(a) if a.ip().is_unspecified() => (Ipv4Addr::LOCALHOST, a.port()).into(),
        SocketAddr::V6(a) if a.ip().is_unspecified() => (Ipv6Addr::LOCALHOST, a.port()).into(),
        a => a,
    };
    Ok(Stopper { addr })
}

#[cfg(not(target_os = "linux"))]
impl Stopper {
    /// Connect (and close at once): a blocked `accept`, a wait for the listener's readiness, or
    /// a pending `AcceptEx` returns with this connection.
    pub fn stop(&self) {
        let _ = std::net::TcpStream::connect_timeout(&self.addr, std::time::Duration::from_secs(2));
    }

    /// What the harness says it does.
    pub const HOW: &str = "connects once more to wake the server";
}

/// The model failed: nothing to do before teardown's close, which refuses waiting clients.
#[cfg(not(target_os = "linux"))]
pub fn refuse(_tr: &mut Tracer, _listener: &rustix::fd::OwnedFd) {}

/// The IP address and port inside a socket address the kernel gave us.
pub fn socket_addr(addr: rustix::net::SocketAddrAny) -> Option<std::net::SocketAddr> {
    std::net::SocketAddr::try_from(addr).ok()
}

/// The peer's port, for naming a connection after the client behind it.
pub fn peer_port(addr: Option<rustix::net::SocketAddrAny>) -> Option<u16> {
    addr.and_then(socket_addr).map(|a| a.port())
}

/// A new descriptor is shown as its number (the handle's value on Windows).
impl crate::trace::Ret for rustix::fd::OwnedFd {
    fn ret(&self) -> i64 {
        raw(self) as i64
    }
}
