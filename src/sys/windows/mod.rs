//! Windows: Winsock. `WSAStartup` before the first socket, `accept` (no flags: Winsock has no
//! close-on-exec), `ioctlsocket(FIONBIO)`, `recv`/`send`, `closesocket`; the thread id from
//! `GetCurrentThreadId` and its CPU time from `GetThreadTimes`. A run stops with a wake-up
//! connection (see [`super::Stopper`]).

pub mod iocp;
pub mod overlapped;

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
/// The listener's socket option, and why. Not `SO_REUSEADDR`: on Windows it lets a socket
/// bind a port another socket is already listening on, so a busy `--port` would go unnoticed.
pub const PORT_OPTION: (&str, &str) = (
    "SO_EXCLUSIVEADDRUSE",
    "no other socket may bind this port while we hold it (Windows' SO_REUSEADDR would let two servers share it; a restarted server can rebind at once anyway)",
);

/// `setsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1)`.
pub fn set_port_option(listener: &OwnedFd) -> rustix::io::Result<()> {
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
    close_with(tr, fd, |_| (), note);
}

/// Like [`close`], with a hook to fill extra fields of the event (`refused`).
pub fn close_with(
    tr: &mut Tracer,
    fd: OwnedFd,
    extra: impl FnOnce(&mut crate::trace::Event),
    note: &str,
) {
    let raw = fd.into_raw_fd();
    let call = Call::new("closesocket", Stage::Teardown).fd(raw as i32);
    let start = tr.begin();
    // SAFETY: `raw` came from `into_raw_fd`, so we own it and nothing else will close it.
    let rc = unsafe { WinSock::closesocket(raw as WinSock::SOCKET) };
    let result = if rc == 0 { Ok(()) } else { Err(last_errno()) };
    tr.end_with(call, start, result, extra, note);
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

/// `WSAPoll`: Winsock's `poll`, with `WSAPOLLFD` entries.
pub mod poll {
    use windows_sys::Win32::Networking::WinSock;

    /// The call's name.
    pub const POLL: &str = "WSAPoll";
    pub type PollFd = WinSock::WSAPOLLFD;
    /// `POLLIN` is `POLLRDNORM|POLLRDBAND` here; `POLLOUT` is `POLLWRNORM`. `POLLERR` and
    /// `POLLHUP` only come back (asking for them is `WSAEINVAL`).
    pub const POLLIN: i16 = WinSock::POLLIN as i16;
    pub const POLLOUT: i16 = WinSock::POLLOUT as i16;
    pub const POLLERR: i16 = WinSock::POLLERR as i16;
    pub const POLLHUP: i16 = WinSock::POLLHUP as i16;

    /// The event bits by name, as Winsock defines them (`POLLIN` shows as its two bits).
    pub const POLL_BITS: &[(u64, &str)] = &[
        (WinSock::POLLRDNORM as u16 as u64, "POLLRDNORM"),
        (WinSock::POLLRDBAND as u16 as u64, "POLLRDBAND"),
        (WinSock::POLLPRI as u16 as u64, "POLLPRI"),
        (WinSock::POLLWRNORM as u16 as u64, "POLLWRNORM"),
        (WinSock::POLLWRBAND as u16 as u64, "POLLWRBAND"),
        (WinSock::POLLERR as u16 as u64, "POLLERR"),
        (WinSock::POLLHUP as u16 as u64, "POLLHUP"),
        (WinSock::POLLNVAL as u16 as u64, "POLLNVAL"),
    ];

    pub fn pollfd(fd: i32, events: i16) -> PollFd {
        WinSock::WSAPOLLFD {
            fd: fd as WinSock::SOCKET,
            events,
            revents: 0,
        }
    }

    /// The socket an entry watches, as the trace shows it.
    pub fn fd(p: &PollFd) -> i32 {
        p.fd as i32
    }

    /// `WSAPoll(fds, nfds, -1)`: sleep until an entry is ready. Returns how many are, or -1.
    pub fn poll(fds: &mut [PollFd]) -> i32 {
        // SAFETY: `fds` is a live array of `fds.len()` initialised WSAPOLLFD entries.
        unsafe { WinSock::WSAPoll(fds.as_mut_ptr(), fds.len() as u32, -1) }
    }
}

/// Winsock's `select`: its `fd_set` is not a bitmap but an array of up to `FD_SETSIZE` (64)
/// sockets and a count; `nfds` is ignored. The wall is how many sockets one set can hold.
pub mod select {
    use windows_sys::Win32::Networking::WinSock;

    /// Sockets one `fd_set` can hold.
    pub const FD_SETSIZE: usize = 64;

    /// The call's name.
    pub const SELECT: &str = "select";

    /// An `fd_set`: `{ fd_count, fd_array[64] }`.
    pub struct FdSet(WinSock::FD_SET);

    impl FdSet {
        /// `FD_ZERO`: a count of 0.
        pub fn new() -> FdSet {
            FdSet(WinSock::FD_SET {
                fd_count: 0,
                fd_array: [0; FD_SETSIZE],
            })
        }

        /// `FD_SET`: append to the array. The caller checked [`fits`]: there is room.
        pub fn insert(&mut self, fd: i32) {
            let n = self.0.fd_count as usize;
            assert!(n < FD_SETSIZE, "an fd_set holds {FD_SETSIZE} sockets");
            self.0.fd_array[n] = fd as WinSock::SOCKET;
            self.0.fd_count += 1;
        }

        /// `FD_ISSET` (`__WSAFDIsSet`): a walk along the array.
        pub fn contains(&self, fd: i32) -> bool {
            self.0.fd_array[..self.0.fd_count as usize].contains(&(fd as WinSock::SOCKET))
        }
    }

    /// Whether a new socket can be watched: the read set (listener included) must have room.
    pub fn fits(_fd: i32, watched: usize) -> bool {
        watched <= FD_SETSIZE
    }

    /// Why [`fits`] said no, for the trace.
    pub fn wall(fd: i32) -> String {
        format!(
            "socket {fd} would be the {}th in the read set: Winsock's fd_set holds {FD_SETSIZE} sockets, so select cannot watch it",
            FD_SETSIZE + 1
        )
    }

    /// `nfds` is ignored by Winsock ("included only for compatibility"); we pass 0.
    pub fn nfds(_highest_plus_one: i32) -> i32 {
        0
    }

    /// What Winsock looked at, for the trace.
    pub fn checked(_nfds: i32, listed: usize) -> String {
        format!("Winsock walked the {listed} sockets in the two arrays; we test {listed} sockets")
    }

    /// The summary's sentence when the wall was hit.
    pub fn wall_hit(refused: u64, accepted: u64, _max_fd: i64) -> String {
        format!(
            "the fd_set wall: {refused} of {accepted} accepted connections were refused — Winsock's fd_set is an array of {FD_SETSIZE} sockets (not a bitmap), so select watches at most {FD_SETSIZE} at once; any scenario client among them was turned away (its lane in the trace says so)"
        )
    }

    /// The summary's sentence when it was not.
    pub fn wall_not_hit(_max_fd: i64) -> String {
        format!(
            "Winsock's fd_set is an array of at most {FD_SETSIZE} sockets, searched by FD_ISSET: try --idle 80 to hit that wall"
        )
    }

    /// `select(0, readfds, writefds, NULL, NULL)`: wait for ever, no exception set.
    pub fn select(_nfds: i32, readable: &mut FdSet, writable: &mut FdSet) -> i32 {
        // SAFETY: both sets are live and hold fd_count valid entries; NULL except-set and NULL
        // timeout (wait for ever) are allowed.
        unsafe {
            WinSock::select(
                0,
                &mut readable.0,
                &mut writable.0,
                std::ptr::null_mut(),
                std::ptr::null(),
            )
        }
    }
}

/// Sockets are handles with no numbering to stay out of: nothing to move.
pub fn move_fd(fd: OwnedFd, _base: i32) -> rustix::io::Result<OwnedFd> {
    Ok(fd)
}

/// Windows' heap opens no file mid-run, and has no descriptor limit to share: nothing to settle.
pub fn settle_allocator() {}
