//! macOS and the BSDs: `accept` (macOS has no `accept4`; FreeBSD has it), close-on-exec by
//! `fcntl(F_SETFD)` where `SOCK_CLOEXEC` is missing, per-thread CPU time from Mach's
//! `thread_info` on macOS (FreeBSD's `getrusage(RUSAGE_THREAD)` is shared with Linux in
//! `unix/mod.rs`), `nanosleep`, and a run that stops with a wake-up connection (shutting a
//! listener down does not reliably wake `accept` here).

pub mod kqueue;

use super::{Accepted, SETUP};
#[cfg(target_vendor = "apple")]
use super::{CpuTimes, record_cpu};
use crate::trace::{Call, Tracer};
use rustix::fd::OwnedFd;
use rustix::io::Result;
use rustix::net::{SendFlags, SocketType};
use rustix::thread::NanosleepRelativeResult;
use rustix::time::Timespec;
use std::net::SocketAddr;

/// No `MSG_NOSIGNAL` needed: Rust's runtime ignores `SIGPIPE`, so a reset peer gives `EPIPE`.
pub const SEND_FLAGS: SendFlags = SendFlags::empty();

/// The accept call and its flags, as truss/dtruss show them.
#[cfg(target_os = "freebsd")]
pub const ACCEPT: (&str, &str) = ("accept4", "SOCK_CLOEXEC");
#[cfg(not(target_os = "freebsd"))]
pub const ACCEPT: (&str, &str) = ("accept", "");

/// This thread's id: `pthread_threadid_np` on macOS (the id `dtruss` and Activity Monitor show).
#[cfg(target_vendor = "apple")]
pub fn thread_id() -> crate::trace::ThreadId {
    let mut id = 0u64;
    // SAFETY: a null thread means the calling thread; `id` is a valid place for the answer.
    unsafe { libc::pthread_threadid_np(0 as libc::pthread_t, &mut id) };
    (
        "pthread_threadid_np",
        id as i64,
        crate::msg!("sys-gettid-macos"),
    )
}

/// This thread's id: `pthread_getthreadid_np` on FreeBSD (the `thr_self` id truss shows).
#[cfg(target_os = "freebsd")]
pub fn thread_id() -> crate::trace::ThreadId {
    // SAFETY: no arguments, no failure: it returns the calling thread's id.
    let tid = unsafe { libc::pthread_getthreadid_np() } as i64;
    (
        "pthread_getthreadid_np",
        tid,
        crate::msg!("sys-gettid-freebsd"),
    )
}

/// `socket(…)`, and on macOS, which has no `SOCK_CLOEXEC`, `fcntl(F_SETFD, FD_CLOEXEC)`. See
/// socket(2).
pub fn socket(tr: &mut Tracer, addr: &SocketAddr) -> Result<OwnedFd> {
    let (family, fam) = super::family(addr);
    let fd = tr.call(
        Call::new("socket", SETUP).args(format_args!("{fam}, SOCK_STREAM")),
        || rustix::net::socket(family, SocketType::STREAM, None),
        crate::msg!("sys-socket"),
    )?;
    set_cloexec(tr, &fd, crate::msg!("bsd-cloexec-socket"));
    Ok(fd)
}

/// `accept(listener)` (FreeBSD: `accept4(…, SOCK_CLOEXEC)`), untraced: the caller records it
/// (see `sys::accept_call`). See accept(2).
pub fn accept(listener: &OwnedFd) -> Result<Accepted> {
    #[cfg(target_os = "freebsd")]
    return rustix::net::acceptfrom_with(listener, rustix::net::SocketFlags::CLOEXEC);
    #[cfg(not(target_os = "freebsd"))]
    return rustix::net::acceptfrom(listener);
}

/// After `accept`, macOS needs `fcntl(F_SETFD, FD_CLOEXEC)`; FreeBSD's `accept4` did it.
pub fn after_accept(tr: &mut Tracer, fd: &OwnedFd) {
    set_cloexec(tr, fd, crate::msg!("bsd-cloexec-accepted"));
}

#[cfg(target_os = "freebsd")]
fn set_cloexec(_tr: &mut Tracer, _fd: &OwnedFd, _note: crate::lang::Msg) {}

#[cfg(not(target_os = "freebsd"))]
fn set_cloexec(tr: &mut Tracer, fd: &OwnedFd, note: crate::lang::Msg) {
    let _ = tr.call(
        Call::new("fcntl", SETUP)
            .fd(super::raw(fd))
            .args("F_SETFD, FD_CLOEXEC"),
        || rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::CLOEXEC),
        note,
    );
}

/// `MSG_DONTWAIT`: the flags of a send that must not wait, and how truss shows them; nothing
/// to do first.
pub fn dont_wait(_tr: &mut Tracer, _fd: &OwnedFd) -> (SendFlags, &'static str) {
    (SendFlags::DONTWAIT | SEND_FLAGS, "MSG_DONTWAIT")
}

/// How `back_off` sleeps, as truss shows it.
pub(super) const SLEEP: (&str, &str) = ("nanosleep", "{tv_sec=0, tv_nsec=20000000}");

/// `nanosleep(ts)`. See nanosleep(2).
pub(super) fn sleep(ts: &Timespec) -> NanosleepRelativeResult {
    rustix::thread::nanosleep(ts)
}

/// The system call `pthread_create` starts a thread with.
#[cfg(target_vendor = "apple")]
pub const SPAWN: &str = "bsdthread_create";
#[cfg(not(target_vendor = "apple"))]
pub const SPAWN: &str = "thr_new";

/// This thread's CPU time from Mach: `thread_info(THREAD_BASIC_INFO)` (macOS has no
/// `RUSAGE_THREAD`).
#[cfg(target_vendor = "apple")]
pub fn cpu_time(tr: &mut Tracer) {
    let call = Call::new("thread_info", crate::trace::Stage::Teardown).args("THREAD_BASIC_INFO");
    record_cpu(tr, call, || {
        let mut info = std::mem::MaybeUninit::<libc::thread_basic_info>::zeroed();
        let mut count = libc::THREAD_BASIC_INFO_COUNT;
        // SAFETY: pthread_mach_thread_np names the calling thread without taking a port
        // reference; `info` has room for THREAD_BASIC_INFO_COUNT integers, as `count` says.
        let kr = unsafe {
            libc::thread_info(
                libc::pthread_mach_thread_np(libc::pthread_self()),
                libc::THREAD_BASIC_INFO as libc::thread_flavor_t,
                info.as_mut_ptr().cast(),
                &mut count,
            )
        };
        if kr != 0 {
            return Err(rustix::io::Errno::INVAL);
        }
        // SAFETY: thread_info filled it.
        let info = unsafe { info.assume_init() };
        let us = |t: libc::time_value_t| t.seconds as u64 * 1_000_000 + t.microseconds as u64;
        Ok(CpuTimes {
            user_us: us(info.user_time),
            sys_us: us(info.system_time),
        })
    });
}

/// macOS's and FreeBSD's allocators open no file mid-run: nothing to settle before a run.
pub fn settle_allocator() {}
