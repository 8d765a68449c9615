//! `WSAPoll`: Winsock's `poll`, with `WSAPOLLFD` entries (the Windows half of `crate::sys::poll`,
//! which records it).

use windows_sys::Win32::Networking::WinSock;

/// The call's name.
pub const POLL: &str = "WSAPoll";

/// One entry of the array: a socket, the events asked for, the events that came back.
pub type PollFd = WinSock::WSAPOLLFD;

/// `POLLIN` is `POLLRDNORM|POLLRDBAND` here; `POLLOUT` is `POLLWRNORM`. `POLLERR` and `POLLHUP`
/// only come back (asking for them is `WSAEINVAL`).
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

/// An entry asking for `events` on socket `fd`.
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

/// `WSAPoll(fds, nfds, timeout)`: how many entries are ready, or -1 (`SOCKET_ERROR`).
pub fn poll(fds: &mut [PollFd], timeout: i32) -> i32 {
    // SAFETY: `fds` is a live array of `fds.len()` initialised WSAPOLLFD entries.
    unsafe { WinSock::WSAPoll(fds.as_mut_ptr(), fds.len() as u32, timeout) }
}
