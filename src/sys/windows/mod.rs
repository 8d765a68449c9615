//! Windows: Winsock. `WSAStartup` before the first socket, `accept` (no flags: Winsock has no
//! close-on-exec), `ioctlsocket(FIONBIO)`, `recv`/`send`, `closesocket`; the thread id from
//! `GetCurrentThreadId` and its CPU time from `GetThreadTimes`; `Sleep`. No per-process
//! descriptor limit. A run stops with a wake-up connection (see [`super::Stopper`]).

pub mod apc;
pub mod iocp;
pub mod overlapped;
pub mod wsaevent;

use super::{AcceptFailure, Accepted, CpuTimes, SETUP, last_errno, record_cpu};
use crate::trace::{Call, Gloss, Stage, Tracer};
use rustix::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};
use rustix::io::{Errno, Result};
use rustix::net::{SendFlags, SocketType};
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
/// The listener's socket option, and why. Not `SO_REUSEADDR`: on Windows it lets a socket
/// bind a port another socket is already listening on, so a busy `--port` would go unnoticed.
pub const PORT_OPTION: (&str, crate::lang::Msg) = (
    "SO_EXCLUSIVEADDRUSE",
    crate::msg!("sys-port-option-windows"),
);

/// `setsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1)`.
pub fn set_port_option(listener: &OwnedFd) -> Result<()> {
    let on: i32 = 1;
    // SAFETY: the option value is an int, passed by address with its size.
    let rc = unsafe {
        WinSock::setsockopt(
            listener.as_raw_fd() as WinSock::SOCKET,
            WinSock::SOL_SOCKET,
            WinSock::SO_EXCLUSIVEADDRUSE,
            (&raw const on).cast(),
            std::mem::size_of::<i32>() as i32,
        )
    };
    if rc == 0 { Ok(()) } else { Err(last_errno()) }
}

/// An error's context: the Windows call that failed, as Windows spells it in every language.
pub fn call_failed(call: &str) -> String {
    crate::t!("err-failed", call = call)
}

/// The gloss of a call that failed: what the error says.
pub fn failed(e: Errno) -> String {
    crate::t!("win-failed", why = std::io::Error::from(e).to_string())
}

/// The call that starts a thread (std's `thread::spawn`); its id comes back through
/// `lpThreadId`.
pub const SPAWN: &str = "CreateThread";
/// The accept call and its flags.
pub const ACCEPT: (&str, &str) = ("accept", "");

/// The number a socket is shown as. A `SOCKET` is a kernel handle value: small multiples of 4,
/// which fit in an `i32` the way descriptors do elsewhere.
pub fn raw(fd: &impl AsRawFd) -> i32 {
    fd.as_raw_fd() as i32
}

/// `GetCurrentThreadId`: the id Process Explorer and debuggers show.
pub fn thread_id() -> crate::trace::ThreadId {
    // SAFETY: no arguments, no failure.
    let tid = unsafe { GetCurrentThreadId() } as i64;
    ("GetCurrentThreadId", tid, crate::msg!("sys-gettid-windows"))
}

/// `WSAStartup(2.2)` (once per process before any socket; later calls only count up), then
/// `socket(…)`, which makes a socket capable of overlapped I/O.
pub fn socket(tr: &mut Tracer, addr: &SocketAddr) -> Result<OwnedFd> {
    let startup = || {
        // SAFETY: `data` is a valid, writable WSADATA for Winsock to describe itself in.
        let rc = unsafe {
            let mut data = std::mem::zeroed::<WinSock::WSADATA>();
            WinSock::WSAStartup(0x0202, &mut data)
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(Errno::from_raw_os_error(rc))
        }
    };
    tr.call(
        Call::new("WSAStartup", SETUP).args("2.2"),
        startup,
        crate::msg!("sys-wsastartup"),
    )?;
    let (family, fam) = super::family(addr);
    tr.call(
        Call::new("socket", SETUP).args(format_args!("{fam}, SOCK_STREAM, 0")),
        || rustix::net::socket(family, SocketType::STREAM, None),
        crate::msg!("sys-socket-windows"),
    )
}

/// `accept(listener)`, untraced: the caller records it (see `sys::accept_call`).
pub fn accept(listener: &OwnedFd) -> Result<Accepted> {
    rustix::net::acceptfrom(listener)
}

/// Nothing to add after `accept`.
pub fn after_accept(_tr: &mut Tracer, _fd: &OwnedFd) {}

/// `ioctlsocket(FIONBIO, 1)`: calls on the socket (numbered `raw`) will answer
/// `WSAEWOULDBLOCK` instead of sleeping.
pub fn set_nonblocking(tr: &mut Tracer, fd: &OwnedFd, gloss: impl Gloss<()>) {
    let _ = tr.call(
        Call::new("ioctlsocket", SETUP)
            .fd(raw(fd))
            .args("FIONBIO, 1"),
        || rustix::io::ioctl_fionbio(fd.as_fd(), true),
        gloss,
    );
}

/// The call that closes a socket.
pub const CLOSE: &str = "closesocket";

/// `closesocket(s)`, untraced (see `sys::close`).
pub(super) fn close_fd(fd: OwnedFd) -> Result<()> {
    // SAFETY: `into_raw_fd` hands over ownership, so nothing else will close it.
    let rc = unsafe { WinSock::closesocket(fd.into_raw_fd() as WinSock::SOCKET) };
    if rc == 0 { Ok(()) } else { Err(last_errno()) }
}

/// No descriptor to put aside: Windows has no per-process limit to run short of.
pub fn spare_fd(_tr: &mut Tracer, _note: &str) -> Option<OwnedFd> {
    None
}

/// Winsock's send has no `MSG_DONTWAIT`: make the socket nonblocking first (`ioctlsocket`), then
/// send with no flags.
pub fn dont_wait(tr: &mut Tracer, fd: &OwnedFd) -> (SendFlags, &'static str) {
    set_nonblocking(tr, fd, crate::msg!("win-dont-wait"));
    (SEND_FLAGS, "0")
}

/// What an error from Winsock's `accept` means (it has no ENFILE, ENOMEM or EPROTO): out of
/// sockets or buffers → wait; the network the connection came from failed → carry on.
pub fn accept_failure(err: Errno) -> AcceptFailure {
    match err {
        Errno::MFILE | Errno::NOBUFS => AcceptFailure::Wait(crate::msg!("win-accept-wait-sockets")),
        Errno::NOPROTOOPT
        | Errno::HOSTDOWN
        | Errno::HOSTUNREACH
        | Errno::OPNOTSUPP
        | Errno::NETUNREACH
        | Errno::NETDOWN => AcceptFailure::Network,
        _ => AcceptFailure::Other,
    }
}

/// `Sleep(20)`, traced: the alternative to spinning when nothing else can be done.
pub fn back_off(tr: &mut Tracer, note: &str) {
    let sleep = || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        Ok(())
    };
    let call = Call::new("Sleep", Stage::DataReady)
        .args("20")
        .blocking(true);
    let _ = tr.call(call, sleep, note);
}

/// Windows has no per-process descriptor limit: there is none to read or lower.
pub enum FdLimit {}

/// No descriptor limit here (`--max-fds` is refused).
pub fn fd_limit() -> Option<FdLimit> {
    None
}

impl FdLimit {
    pub fn soft(&self) -> Option<u64> {
        match *self {}
    }

    pub fn lower(&self, _n: u64) -> Result<()> {
        match *self {}
    }
}

/// `GetThreadTimes(GetCurrentThread())`: this thread's CPU time.
pub fn cpu_time(tr: &mut Tracer) {
    let call = Call::new("GetThreadTimes", Stage::Teardown).args("GetCurrentThread()");
    record_cpu(tr, call, || {
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
        if ok == 0 {
            return Err(last_errno());
        }
        // FILETIME counts 100 ns ticks.
        let us = |t: FILETIME| ((t.dwHighDateTime as u64) << 32 | t.dwLowDateTime as u64) / 10;
        Ok(CpuTimes {
            user_us: us(user),
            sys_us: us(kernel),
        })
    });
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

/// Sockets are handles with no numbering to stay out of: nothing to move.
pub fn move_fd(fd: OwnedFd, _base: i32) -> Result<OwnedFd> {
    Ok(fd)
}

/// Windows' heap opens no file mid-run, and has no descriptor limit to share: nothing to settle.
pub fn settle_allocator() {}
