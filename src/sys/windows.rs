//! Windows: Winsock. `WSAStartup` before the first socket, `accept` (no flags: Winsock has no
//! close-on-exec), `ioctlsocket(FIONBIO)`, `recv`/`send`, `closesocket`; the thread id from
//! `GetCurrentThreadId` and its CPU time from `GetThreadTimes`. A run stops with a wake-up
//! connection (see [`super::Stopper`]).

use super::{SETUP, last_errno, record_cpu};
use crate::trace::{Call, Stage, Tracer};
use rustix::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};
use rustix::net::{AddressFamily, SendFlags, SocketAddrAny, SocketType};
use std::net::SocketAddr;
use windows_sys::Win32::Foundation::FILETIME;
use windows_sys::Win32::Networking::WinSock;
use windows_sys::Win32::System::Threading::{GetCurrentThread, GetCurrentThreadId, GetThreadTimes};

/// The echo's receive call, as Winsock names it.
pub const RECV: &str = "recv";
/// The echo's send call, as Winsock names it.
pub const SEND: &str = "send";
/// The call that asks how many bytes wait (`FIONREAD`).
pub const IOCTL: &str = "ioctlsocket";
/// Windows has no SIGPIPE: a reset peer is an error code, nothing more.
pub const SEND_FLAGS: SendFlags = SendFlags::empty();
/// The accept call and its flags.
pub const ACCEPT: (&str, &str) = ("accept", "");

/// The number a socket is shown as. A `SOCKET` is a kernel handle value: small multiples of 4,
/// which fit in an `i32` the way descriptors do elsewhere.
pub fn raw(fd: &impl AsRawFd) -> i32 {
    fd.as_raw_fd() as i32
}

/// `GetCurrentThreadId`: the id Process Explorer and debuggers show.
pub fn thread_id() -> (&'static str, i64, &'static str) {
    // SAFETY: no arguments, no failure.
    let tid = unsafe { GetCurrentThreadId() } as i64;
    (
        "GetCurrentThreadId",
        tid,
        "this thread's id, as Process Monitor shows it",
    )
}

/// `WSAStartup(2.2)` (once per process before any socket; later calls only count up), then
/// `socket(…)`, which makes a socket capable of overlapped I/O.
pub fn socket(tr: &mut Tracer, addr: &SocketAddr) -> rustix::io::Result<OwnedFd> {
    let call = Call::new("WSAStartup", SETUP).args("2.2");
    let start = tr.begin();
    // SAFETY: `data` is a valid, writable WSADATA for Winsock to describe itself in.
    let rc = unsafe {
        let mut data = std::mem::zeroed::<WinSock::WSADATA>();
        WinSock::WSAStartup(0x0202, &mut data)
    };
    let result = if rc == 0 {
        Ok(())
    } else {
        Err(rustix::io::Errno::from_raw_os_error(rc))
    };
    tr.end(
        call,
        start,
        result,
        "load Winsock: a process calls it before its first socket",
    );
    result?;
    let (family, fam) = match addr {
        SocketAddr::V4(_) => (AddressFamily::INET, "AF_INET"),
        SocketAddr::V6(_) => (AddressFamily::INET6, "AF_INET6"),
    };
    tr.sys_fd(
        Call::new("socket", SETUP).args(format!("{fam}, SOCK_STREAM, 0")),
        "a TCP socket that will listen (Winsock's socket() allows overlapped I/O)",
        || rustix::net::socket(family, SocketType::STREAM, None),
    )
}

/// `accept(listener)`.
pub fn accept(listener: &OwnedFd) -> rustix::io::Result<(OwnedFd, Option<SocketAddrAny>)> {
    rustix::net::acceptfrom(listener)
}

/// Nothing to add after `accept`.
pub fn after_accept(_tr: &mut Tracer, _fd: &OwnedFd) {}

/// `ioctlsocket(FIONBIO, 1)`: calls on the socket will answer `WSAEWOULDBLOCK` instead of
/// sleeping.
pub fn set_nonblocking(tr: &mut Tracer, fd: &impl AsFd, raw: i32, note: &str) {
    let _ = tr.sys(
        Call::new("ioctlsocket", SETUP).fd(raw).args("FIONBIO, 1"),
        note,
        || rustix::io::ioctl_fionbio(fd.as_fd(), true),
    );
}

/// Closes a socket with exactly one `closesocket`.
pub fn close(tr: &mut Tracer, fd: OwnedFd, note: &str) {
    let raw = fd.into_raw_fd();
    let call = Call::new("closesocket", Stage::Teardown).fd(raw as i32);
    let start = tr.begin();
    // SAFETY: `raw` came from `into_raw_fd`, so we own it and nothing else will close it.
    let rc = unsafe { WinSock::closesocket(raw as WinSock::SOCKET) };
    let result = if rc == 0 { Ok(()) } else { Err(last_errno()) };
    tr.end(call, start, result, note);
}

/// The call each server thread measures its CPU time with, named in the summary.
pub const CPU_CALL: &str = "GetThreadTimes";

/// `GetThreadTimes(GetCurrentThread())`: this thread's CPU time.
pub fn cpu_time(tr: &mut Tracer) {
    let call = Call::new("GetThreadTimes", Stage::Teardown).args("GetCurrentThread()");
    let start = tr.begin();
    let zero = FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
    // SAFETY: GetCurrentThread is a pseudo-handle for this thread; the four FILETIMEs are
    // valid, writable places for the answers.
    let ok = unsafe {
        GetThreadTimes(
            GetCurrentThread(),
            &mut created,
            &mut exited,
            &mut kernel,
            &mut user,
        )
    };
    // FILETIME counts 100 ns ticks.
    let us = |t: FILETIME| ((t.dwHighDateTime as u64) << 32 | t.dwLowDateTime as u64) / 10;
    let result = if ok != 0 { Ok(()) } else { Err(last_errno()) };
    record_cpu(
        tr,
        call,
        start,
        result,
        (us(user), us(kernel)),
        "this thread's",
    );
}

/// The console's width in columns, if stdout is a console.
pub fn term_width() -> Option<usize> {
    use windows_sys::Win32::System::Console::{
        CONSOLE_SCREEN_BUFFER_INFO, GetConsoleScreenBufferInfo, GetStdHandle, STD_OUTPUT_HANDLE,
    };
    // SAFETY: GetStdHandle has no preconditions; `info` is a valid, writable buffer info.
    unsafe {
        let mut info = std::mem::zeroed::<CONSOLE_SCREEN_BUFFER_INFO>();
        let ok = GetConsoleScreenBufferInfo(GetStdHandle(STD_OUTPUT_HANDLE), &mut info);
        (ok != 0).then(|| (info.srWindow.Right - info.srWindow.Left + 1) as usize)
    }
}
