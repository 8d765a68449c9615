//! Linux: `gettid`, `getrusage(RUSAGE_THREAD)`, `accept4(SOCK_CLOEXEC)`, `clock_nanosleep`,
//! and a run that stops by `shutdown(SHUT_RD)` on a duplicate of the listener.

pub mod aio;
pub mod epoll;
pub mod posix_aio;
pub mod sigio;
pub mod uring;

use super::{Accepted, SETUP};
use crate::trace::{Call, Stage, Tracer};
use rustix::fd::{AsRawFd, OwnedFd};
use rustix::io::Result;
use rustix::net::{SendFlags, SocketFlags, SocketType};
use rustix::thread::{ClockId, NanosleepRelativeResult};
use rustix::time::Timespec;
use std::net::SocketAddr;

/// MSG_NOSIGNAL: a peer that reset gives us EPIPE, not a SIGPIPE that kills the process.
pub const SEND_FLAGS: SendFlags = SendFlags::NOSIGNAL;

/// The call that starts a thread (std's `pthread_create` makes it), as strace shows it.
pub const SPAWN: &str = "clone3";

/// The accept call and its flags, as strace shows them.
pub const ACCEPT: (&str, &str) = ("accept4", "SOCK_CLOEXEC");

/// `gettid`: the TID that strace shows.
pub fn thread_id() -> crate::trace::ThreadId {
    let tid = rustix::thread::gettid().as_raw_nonzero().get() as i64;
    ("gettid", tid, crate::msg!("sys-gettid"))
}

/// `socket(…, SOCK_STREAM|SOCK_CLOEXEC)`. See socket(2).
pub fn socket(tr: &mut Tracer, addr: &SocketAddr) -> Result<OwnedFd> {
    let (family, fam) = super::family(addr);
    tr.call(
        Call::new("socket", SETUP).args(format_args!("{fam}, SOCK_STREAM|SOCK_CLOEXEC")),
        || rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None),
        crate::msg!("sys-socket"),
    )
}

/// `accept4(listener, SOCK_CLOEXEC)`, untraced: the caller records it (see `sys::accept_call`).
/// See accept(2).
pub fn accept(listener: &OwnedFd) -> Result<Accepted> {
    rustix::net::acceptfrom_with(listener, SocketFlags::CLOEXEC)
}

/// `MSG_DONTWAIT|MSG_NOSIGNAL`: the flags of a send that must not wait, and how strace shows
/// them; nothing to do first.
pub fn dont_wait(_tr: &mut Tracer, _fd: &OwnedFd) -> (SendFlags, &'static str) {
    (
        SendFlags::DONTWAIT | SEND_FLAGS,
        "MSG_DONTWAIT|MSG_NOSIGNAL",
    )
}

/// How `back_off` sleeps, as strace shows it.
pub(super) const SLEEP: (&str, &str) = (
    "clock_nanosleep",
    "CLOCK_MONOTONIC, 0, {tv_sec=0, tv_nsec=20000000}",
);

/// `clock_nanosleep(CLOCK_MONOTONIC, 0, ts)`. See clock_nanosleep(2).
pub(super) fn sleep(ts: &Timespec) -> NanosleepRelativeResult {
    rustix::thread::clock_nanosleep_relative(ClockId::Monotonic, ts)
}

/// Nothing to add after `accept4`: the new descriptor is already close-on-exec.
pub fn after_accept(_tr: &mut Tracer, _fd: &OwnedFd) {}

/// How the harness stops the server: `shutdown(SHUT_RD)` through a duplicate of the listener.
pub struct Stopper {
    listener: OwnedFd,
}

/// `fcntl(F_DUPFD_CLOEXEC)`: a second handle to the listener, for the harness.
pub fn stopper(tr: &mut Tracer, listener: &OwnedFd, _local: SocketAddr) -> Result<Stopper> {
    dup(tr, listener, crate::msg!("sys-dup-stopper")).map(|listener| Stopper { listener })
}

/// `fcntl(fd, F_DUPFD_CLOEXEC, 0)`: another descriptor number for the same open socket;
/// `why` is the gloss. See fcntl(2), dup(2).
pub fn dup(
    tr: &mut Tracer,
    fd: &OwnedFd,
    why: impl crate::trace::Gloss<OwnedFd>,
) -> Result<OwnedFd> {
    tr.call(
        Call::new("fcntl", SETUP)
            .fd(fd.as_raw_fd())
            .args("F_DUPFD_CLOEXEC, 0"),
        || rustix::io::fcntl_dupfd_cloexec(fd, 0),
        why,
    )
}

impl Stopper {
    /// A blocked `accept4` wakes with `EINVAL`; readiness models see the listener hang up.
    pub fn stop(&self) {
        let _ = rustix::net::shutdown(&self.listener, rustix::net::Shutdown::Read);
    }

    /// What the harness says it does.
    pub const HOW: crate::lang::Msg = crate::msg!("stop-how-shutdown");
}

/// The model failed: shut the listener down (the harness's duplicate keeps it open), so that
/// clients waiting in its queue are refused at once instead of waiting for an echo.
pub fn refuse(tr: &mut Tracer, listener: &OwnedFd) {
    shut_down(tr, listener, "the server failed: refuse the clients");
}

/// `shutdown(listener, SHUT_RD)`: the listener accepts no more; a thread blocked in (or
/// woken for) its `accept4` gets `EINVAL`, and clients still queued are refused. See
/// shutdown(2).
pub fn shut_down(tr: &mut Tracer, listener: &OwnedFd, why: &str) {
    let _ = tr.call(
        Call::new("shutdown", Stage::Teardown)
            .fd(listener.as_raw_fd())
            .args("SHUT_RD"),
        || rustix::net::shutdown(listener, rustix::net::Shutdown::Read),
        why,
    );
}

/// Before a run: settle glibc malloc's arena limit now, so that no thread opens a file behind
/// the program's back (under `--max-fds`, that file would take a server's descriptor). glibc
/// computes it the first time a thread needs a ninth arena, by opening
/// `/sys/devices/system/cpu/online` (`arena_get2` → `__get_nprocs`); a client thread doing that
/// mid-run holds a descriptor for a moment, and a server at its limit then meets an `EMFILE`
/// that is not its own. `M_ARENA_MAX` set to the limit glibc would compute (8 per online CPU on
/// 64-bit) changes nothing else and leaves glibc nothing to open. See mallopt(3).
#[cfg(target_env = "gnu")]
pub fn settle_allocator() {
    // SAFETY: sysconf only reads; mallopt only sets a malloc parameter (it returns 0 on error).
    unsafe {
        let cpus = libc::sysconf(libc::_SC_NPROCESSORS_ONLN).clamp(1, 1 << 16) as libc::c_int;
        libc::mallopt(libc::M_ARENA_MAX, 8 * cpus);
    }
    // The first time glibc gives a thread arena's memory back (`heap_trim` → `shrink_heap`),
    // it reads `/proc/sys/vm/overcommit_memory` (`check_may_shrink_heap`), once per process: a
    // chat's queues, freed mid-run, would do it on a server thread. A thread that frees a few
    // hundred KiB of its own arena's heap now makes glibc read it here, before the run.
    let _ = std::thread::spawn(|| {
        let chunks: Vec<Vec<u8>> = (0..3).map(|_| vec![1; 100 << 10]).collect();
        drop(std::hint::black_box(chunks));
    })
    .join();
}

/// musl's malloc keeps no per-CPU arenas: nothing to settle.
#[cfg(not(target_env = "gnu"))]
pub fn settle_allocator() {}
