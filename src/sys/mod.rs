//! What differs between operating systems, in one place, so that model files do not `#[cfg]`.
//!
//! Every OS module (`linux`, `bsd` for macOS and FreeBSD, `windows`) offers the same items; the
//! shared code calls them through `crate::sys`. Each one records its calls through the
//! [`Tracer`] under the name that OS gives them (`accept4` on Linux; `accept` then
//! `fcntl(F_SETFD)` on macOS; `accept`, `ioctlsocket`, `closesocket` on Windows), so the trace
//! stays true everywhere.
//!
//! The contract (a `gloss` is a fixed sentence or a closure over the result, made only when
//! the trace records; see [`crate::trace::Gloss`]):
//! - `thread_id()`: this thread's id and the call that gave it (`gettid`, `GetCurrentThreadId`).
//! - `cpu_time(tr)`: the closing call of every server thread, recording its CPU time.
//! - `socket(tr, addr)`: a TCP socket for the listener (with close-on-exec where that exists);
//!   `PORT_OPTION` and `set_port_option(listener)`: the option the listener sets, and why.
//! - `accept(listener)`: the accept call, untraced (the caller records it, naming it with
//!   [`accept_call`]): the new socket and the peer's address ([`Accepted`]); `ACCEPT` is its
//!   name and flags; `after_accept(tr, fd)`: what this OS adds after it (`fcntl(F_SETFD)`).
//! - `accept_failure(err)`: what an accept error means here ([`AcceptFailure`]).
//! - `set_nonblocking(tr, fd, gloss)`: `fcntl(O_NONBLOCK)` or `ioctlsocket(FIONBIO)`.
//! - `CLOSE` and `close_fd(fd)`: the call that closes a descriptor (`close` / `closesocket`),
//!   which [`close`] and [`close_with`] make and record, exactly once.
//! - `spare_fd(tr, note)`: a descriptor to hold in reserve for `EMFILE` (`None` where the OS
//!   has no descriptor limit); `fd_limit()`: that limit (`FdLimit`: its soft value, lowering it).
//! - `back_off(tr, note)`: a traced 20 ms sleep, instead of spinning.
//! - `dont_wait(tr, fd)`: the flags of a send that must not wait (and what to do first).
//! - [`poll`] and [`select`]: the two multiplexers every OS has, traced (each over its OS half,
//!   `unix/poll.rs` or `windows/poll.rs`, which offer the same items).
//! - `Stopper`: how the harness ends a run. Linux shuts the listener down through a duplicate
//!   (a blocked `accept4` fails with `EINVAL`); elsewhere shutting a listener down does not
//!   reliably wake `accept`, so the harness makes one last "wake-up" connection, which the server
//!   accepts, recognises by the stop flag, and closes (see [`crate::server::Server::accept`]).
//! - `refuse(tr, listener)`: a failed model turns waiting clients away before teardown.
//! - `RECV`, `SEND`, `IOCTL`, `SEND_FLAGS`: names and flags of the echo's calls; `SPAWN`: the
//!   call that starts a thread.
//! - `raw(fd)`, `move_fd(fd, base)`, `term_width()`, `settle_allocator()`: descriptor numbers,
//!   the harness's descriptors, the terminal's width, and the allocator before a run.

use crate::trace::{Call, Event, Gloss, Ret, Stage, Tracer};
use rustix::fd::OwnedFd;
use rustix::io::{Errno, Result};
use rustix::net::{AddressFamily, SocketAddrAny};
use std::net::SocketAddr;

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

pub mod poll;
pub mod select;

/// `close(fd)` (Winsock: `closesocket`): exactly one call (std's drop adds an `fcntl` check in
/// debug builds, which would be a call the trace does not name). See close(2).
pub fn close(tr: &mut Tracer, fd: OwnedFd, gloss: impl Gloss<()>) {
    close_with(tr, fd, |_| (), gloss);
}

/// Like [`close`], with a hook to fill extra fields of the event (`refused`).
pub fn close_with(
    tr: &mut Tracer,
    fd: OwnedFd,
    extra: impl FnOnce(&mut Event),
    gloss: impl Gloss<()>,
) {
    let call = Call::new(CLOSE, Stage::Teardown).fd(raw(&fd));
    let _ = tr.call_with(call, || close_fd(fd), |_, ev| extra(ev), gloss);
}

/// An abortive close: `setsockopt(SO_LINGER, 0)`, then [`close`]. The kernel throws away
/// what it still holds to send and resets the connection, so the peer learns at once that it
/// was cut off (a chat member dropped for reading too slowly). See socket(7) (`SO_LINGER`).
pub fn abort(tr: &mut Tracer, fd: OwnedFd, gloss: impl Gloss<()>) {
    let _ = tr.call(
        Call::new("setsockopt", Stage::Teardown)
            .fd(raw(&fd))
            .args("SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}"),
        || {
            socket2::SockRef::from(&fd)
                .set_linger(Some(std::time::Duration::ZERO))
                .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::INVAL))
        },
        crate::msg!("sys-linger-zero"),
    );
    close(tr, fd, gloss);
}

/// A chat member's socket: `setsockopt(SO_SNDBUF, bytes)`, then `setsockopt(TCP_NODELAY)`.
/// The first caps what the socket holds waiting to be sent (Linux doubles the value for its own
/// bookkeeping), so that what a member who stops reading leaves behind waits in the server's
/// queue, where it is bounded and seen, rather than in megabytes of kernel buffer (the kernel
/// would otherwise grow it). The second sends each line at once: with Nagle's algorithm a small
/// send waits until the last one is acknowledged, and a client's delayed ACK (40 to 200 ms on
/// Linux) would set the room's pace. See socket(7), tcp(7).
pub fn chat_member(tr: &mut Tracer, fd: &OwnedFd, bytes: usize) {
    let _ = tr.call(
        Call::new("setsockopt", Stage::Setup)
            .fd(raw(fd))
            .args(format_args!("SOL_SOCKET, SO_SNDBUF, [{bytes}]")),
        || {
            socket2::SockRef::from(fd)
                .set_send_buffer_size(bytes)
                .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::INVAL))
        },
        crate::msg!("sys-send-buffer"),
    );
    let _ = tr.call(
        Call::new("setsockopt", Stage::Setup)
            .fd(raw(fd))
            .args("IPPROTO_TCP, TCP_NODELAY, [1]"),
        || {
            socket2::SockRef::from(fd)
                .set_tcp_nodelay(true)
                .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::INVAL))
        },
        crate::msg!("sys-nodelay"),
    );
}

/// A thread's CPU time, as the OS reported it.
#[derive(Clone, Copy, Default)]
struct CpuTimes {
    user_us: u64,
    sys_us: u64,
}

impl CpuTimes {
    /// What a CPU-time call found (nothing, if it failed).
    fn of(r: &Result<CpuTimes>) -> CpuTimes {
        r.as_ref().map_or(CpuTimes::default(), |t| *t)
    }
}

/// The call reports 0; the times are in the gloss and in `cpu_us`.
impl Ret for CpuTimes {
    fn ret(&self) -> i64 {
        0
    }
}

/// Makes and records the CPU-time call every server thread makes last: `read` asks the OS for
/// this thread's user and system time.
fn record_cpu(tr: &mut Tracer, call: Call, read: impl FnOnce() -> Result<CpuTimes>) {
    let _ = tr.call_with(
        call,
        read,
        |r, ev| ev.cpu_us = Some(CpuTimes::of(r).user_us + CpuTimes::of(r).sys_us),
        |r: &Result<CpuTimes>| {
            let t = CpuTimes::of(r);
            crate::t!(
                "sys-cpu",
                user = format!("{:.1}", t.user_us as f64 / 1e3),
                sys = format!("{:.1}", t.sys_us as f64 / 1e3)
            )
        },
    );
}

/// A call that failed, as an errno, from the OS's last error.
fn last_errno() -> Errno {
    Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::INVAL)
}

/// A C call's count (`poll`, `select`), or its errno when it returned -1.
fn count(n: i32) -> Result<usize> {
    usize::try_from(n).map_err(|_| last_errno())
}

/// The address family of `addr`, and its name as strace prints it.
fn family(addr: &SocketAddr) -> (AddressFamily, &'static str) {
    match addr {
        SocketAddr::V4(_) => (AddressFamily::INET, "AF_INET"),
        SocketAddr::V6(_) => (AddressFamily::INET6, "AF_INET6"),
    }
}

/// What an accept hands back: the new socket and the peer's address.
pub type Accepted = (OwnedFd, Option<SocketAddrAny>);

/// The accept call on the listener `lfd`, as the trace names it, with its flags: stage ① for
/// connections, announced as a wait when the listener `blocks`. [`accept`] makes it.
pub fn accept_call(lfd: i32, blocks: bool) -> Call {
    let (name, args) = ACCEPT;
    Call::new(name, Stage::DataReady)
        .fd(lfd)
        .args(args)
        .blocking(blocks)
}

/// What an accept error means, and so what the harness does about it (see
/// `limits::after_accept_error`); which errors are which differs between OSes
/// ([`accept_failure`]).
pub enum AcceptFailure {
    /// Out of descriptors (`EMFILE`, `ENFILE`): make room with the spare descriptor. (Not on
    /// Windows: Winsock has no per-process limit, so its `WSAEMFILE` is a `Wait`.)
    #[cfg_attr(windows, allow(dead_code))]
    Descriptors,
    /// Out of something that comes back by itself (kernel memory, Winsock's sockets): wait a
    /// little instead of spinning; the gloss of that wait.
    Wait(crate::lang::Msg),
    /// The network the new connection came from failed: the next accept may do better.
    Network,
    /// None of ours: the model decides.
    Other,
}

/// `ioctl(fd, FIONREAD)` (Winsock: `ioctlsocket`): how many bytes wait in the kernel to be read
/// from `fd`. The call returns 0 and writes the count; `gloss` hears the count.
///
/// See ioctl_fionread via tcp(7), ioctlsocket (Winsock).
#[doc(alias = "FIONREAD")]
pub fn bytes_waiting(
    tr: &mut Tracer,
    fd: &OwnedFd,
    gloss: impl FnOnce(&Result<u64>) -> String,
) -> Result<u64> {
    let call = Call::new(IOCTL, Stage::DataReady)
        .fd(raw(fd))
        .args("FIONREAD");
    let start = tr.begin();
    let r = rustix::io::ioctl_fionread(fd);
    tr.record(
        call,
        start,
        &r.map(|_| ()),
        |_, _| (),
        |_: &Result<()>| gloss(&r),
    );
    r
}

/// The stage of the calls these helpers make at setup.
const SETUP: Stage = Stage::Setup;

/// How the harness stops the server where shutting a listener down does not reliably wake
/// `accept` (macOS, the BSDs, Windows): one last connection to the listener, which the server
/// accepts, sees the stop flag set, and closes.
#[cfg(not(target_os = "linux"))]
pub struct Stopper {
    addr: SocketAddr,
}

/// Nothing to prepare: the harness only needs the listener's address.
#[cfg(not(target_os = "linux"))]
pub fn stopper(_tr: &mut Tracer, _listener: &OwnedFd, local: SocketAddr) -> Result<Stopper> {
    use std::net::{Ipv4Addr, Ipv6Addr};
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
    pub const HOW: crate::lang::Msg = crate::msg!("stop-how-connect");
}

/// The model failed: nothing to do before teardown's close, which refuses waiting clients.
#[cfg(not(target_os = "linux"))]
pub fn refuse(_tr: &mut Tracer, _listener: &OwnedFd) {}

/// The IP address and port inside a socket address the kernel gave us.
pub fn socket_addr(addr: SocketAddrAny) -> Option<SocketAddr> {
    SocketAddr::try_from(addr).ok()
}

/// The peer's port after an accept, for naming a connection after the client behind it.
pub fn peer_port(accepted: &Result<Accepted>) -> Option<u16> {
    let addr = accepted.as_ref().ok()?.1.clone()?;
    socket_addr(addr).map(|a| a.port())
}

/// A new descriptor is shown as its number (the handle's value on Windows).
impl crate::trace::Ret for rustix::fd::OwnedFd {
    fn ret(&self) -> i64 {
        raw(self) as i64
    }
}
