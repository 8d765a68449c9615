//! `poll(2)` as the POSIX systems spell it: `struct pollfd`, its event bits, and the call (the
//! Unix half of `crate::sys::poll`, which records it).

/// The call's name. libc's `poll`, which strace names `poll` (rustix would make `ppoll`).
pub const POLL: &str = "poll";

/// The event bits by name, the way strace prints them.
pub const POLL_BITS: &[(u64, &str)] = &[
    (libc::POLLIN as u64, "POLLIN"),
    (libc::POLLPRI as u64, "POLLPRI"),
    (libc::POLLOUT as u64, "POLLOUT"),
    (libc::POLLERR as u64, "POLLERR"),
    (libc::POLLHUP as u64, "POLLHUP"),
    (libc::POLLNVAL as u64, "POLLNVAL"),
    (libc::POLLRDNORM as u64, "POLLRDNORM"),
    (libc::POLLRDBAND as u64, "POLLRDBAND"),
    (libc::POLLWRNORM as u64, "POLLWRNORM"),
    (libc::POLLWRBAND as u64, "POLLWRBAND"),
    #[cfg(target_os = "linux")]
    (libc::POLLRDHUP as u64, "POLLRDHUP"),
];

/// One entry of the array: a descriptor, the events asked for, the events that came back.
pub type PollFd = libc::pollfd;
pub use libc::{POLLERR, POLLHUP, POLLIN, POLLOUT};

/// An entry asking for `events` on `fd`.
pub fn pollfd(fd: i32, events: i16) -> PollFd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// The descriptor an entry watches.
pub fn fd(p: &PollFd) -> i32 {
    p.fd
}

/// `poll(fds, nfds, timeout)`: how many entries are ready, or -1.
pub fn poll(fds: &mut [PollFd], timeout: i32) -> i32 {
    // SAFETY: `fds` is a live array of `fds.len()` initialised pollfd entries.
    unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) }
}
