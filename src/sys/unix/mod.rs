//! What Linux, macOS and the BSDs share: descriptors are small integers, `fcntl` sets modes,
//! `close` closes, and libc's `recv`/`send` are the `recvfrom`/`sendto` system calls.

use super::SETUP;
#[cfg(not(target_vendor = "apple"))]
use super::{last_errno, record_cpu};
use crate::trace::{Call, Event, Stage, Tracer};
use rustix::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};

/// The echo's receive call, as the kernel names it (libc's `recv` is `recvfrom`).
pub const RECV: &str = "recvfrom";
/// The echo's send call, as the kernel names it.
pub const SEND: &str = "sendto";
/// The call that asks how many bytes wait (`FIONREAD`).
pub const IOCTL: &str = "ioctl";

/// The listener's socket option, and why.
pub const PORT_OPTION: (&str, &str) = (
    "SO_REUSEADDR",
    "let a restarted server reuse the port at once",
);

/// `setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)`.
pub fn set_port_option(listener: &OwnedFd) -> rustix::io::Result<()> {
    rustix::net::sockopt::set_socket_reuseaddr(listener, true)
}

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
    close_with(tr, fd, |_| (), note);
}

/// Like [`close`], with a hook to fill extra fields of the event (`refused`).
pub fn close_with(tr: &mut Tracer, fd: OwnedFd, extra: impl FnOnce(&mut Event), note: &str) {
    let raw = fd.into_raw_fd();
    let call = Call::new("close", Stage::Teardown).fd(raw);
    let start = tr.begin();
    // SAFETY: `raw` came from `into_raw_fd`, so we own it and nothing else will close it.
    unsafe { rustix::io::close(raw) };
    tr.end_with(call, start, Ok(()), extra, note);
}

/// The terminal's width in columns, if stdout is a terminal.
pub fn term_width() -> Option<usize> {
    rustix::termios::tcgetwinsize(std::io::stdout())
        .ok()
        .map(|w| w.ws_col as usize)
}

/// `poll(2)` as each POSIX system spells it.
pub mod poll {
    /// The call's name.
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
    pub type PollFd = libc::pollfd;
    pub use libc::{POLLERR, POLLHUP, POLLIN, POLLOUT};

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

    /// `poll(fds, nfds, -1)`: sleep until an entry is ready. Returns how many are, or -1.
    pub fn poll(fds: &mut [PollFd]) -> i32 {
        // SAFETY: `fds` is a live array of `fds.len()` initialised pollfd entries.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) }
    }
}

/// `select(2)`'s `fd_set`: a bitmap of `FD_SETSIZE` bits, indexed by descriptor number.
pub mod select {
    /// Bits in an `fd_set`.
    pub const FD_SETSIZE: usize = libc::FD_SETSIZE;

    /// The system call's name as strace prints it. glibc's `select()` is a wrapper that issues
    /// `pselect6`; on x86_64 Linux we make the real `select` system call ourselves.
    pub const SELECT: &str = if cfg!(all(target_os = "linux", not(target_arch = "x86_64"))) {
        "pselect6"
    } else {
        "select"
    };

    /// An `fd_set`.
    pub struct FdSet(libc::fd_set);

    impl FdSet {
        /// `FD_ZERO`.
        pub fn new() -> FdSet {
            // SAFETY: an all-zero fd_set is a valid, empty set; FD_ZERO makes it explicit.
            let mut set: libc::fd_set = unsafe { std::mem::zeroed() };
            // SAFETY: `set` is a live fd_set we own.
            unsafe { libc::FD_ZERO(&mut set) };
            FdSet(set)
        }

        /// `FD_SET`. The caller checked [`fits`]: the bit is inside the set.
        pub fn insert(&mut self, fd: i32) {
            assert!((fd as usize) < FD_SETSIZE, "no bit for descriptor {fd}");
            // SAFETY: fd < FD_SETSIZE (checked above), and the set is live.
            unsafe { libc::FD_SET(fd, &mut self.0) };
        }

        /// `FD_ISSET`.
        pub fn contains(&self, fd: i32) -> bool {
            // SAFETY: every fd tested was inserted, so it is < FD_SETSIZE; the set is live.
            (fd as usize) < FD_SETSIZE && unsafe { libc::FD_ISSET(fd, &self.0) }
        }
    }

    /// Whether a new descriptor can be watched: its number must have a bit.
    pub fn fits(fd: i32, _watched: usize) -> bool {
        (fd as usize) < FD_SETSIZE
    }

    /// Why [`fits`] said no, for the trace.
    pub fn wall(fd: i32) -> String {
        format!(
            "descriptor {fd} ≥ FD_SETSIZE ({FD_SETSIZE}) has no bit in an fd_set, so select cannot watch it"
        )
    }

    /// `nfds`: the highest descriptor + 1; the kernel looks at that many bits of each set.
    pub fn nfds(highest_plus_one: i32) -> i32 {
        highest_plus_one
    }

    /// What the kernel looked at, for the trace.
    pub fn checked(nfds: i32, listed: usize) -> String {
        format!("the kernel checked {nfds} descriptor slots; we test {listed} bits")
    }

    /// The summary's sentence when the wall was hit.
    pub fn wall_hit(refused: u64, accepted: u64, max_fd: i64) -> String {
        format!(
            "the FD_SETSIZE wall: {refused} of {accepted} accepted connections got descriptors ≥ {FD_SETSIZE} (the highest was {max_fd}) and were refused — an fd_set has exactly {FD_SETSIZE} bits; any scenario client among them was turned away (its lane in the trace says so)"
        )
    }

    /// The summary's sentence when it was not.
    pub fn wall_not_hit(max_fd: i64) -> String {
        format!(
            "the highest descriptor was {max_fd}: select can watch descriptors 0‥{} only (FD_SETSIZE); try --idle 1100 to hit the wall",
            FD_SETSIZE - 1
        )
    }

    /// `select(nfds, readfds, writefds, NULL, NULL)`: wait for ever, no exception set.
    pub fn select(nfds: i32, readable: &mut FdSet, writable: &mut FdSet) -> i32 {
        let none = std::ptr::null_mut::<libc::fd_set>();
        let forever = std::ptr::null_mut::<libc::timeval>();
        let (r, w) = (&mut readable.0, &mut writable.0);
        #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
        // SAFETY: SYS_select takes exactly these five arguments; both sets are live, with no
        // bit at or above nfds (the caller's highest descriptor + 1).
        let n = unsafe { libc::syscall(libc::SYS_select, nfds, r, w, none, forever) } as i32;
        #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
        // SAFETY: as above, through the C library's wrapper.
        let n = unsafe { libc::select(nfds, r, w, none, forever) };
        n
    }
}

/// `fcntl(F_DUPFD_CLOEXEC, base)`: the same socket at the lowest free descriptor ≥ `base` (the
/// harness moves its idle connections' client ends out of the server's range).
pub fn move_fd(fd: OwnedFd, base: i32) -> rustix::io::Result<OwnedFd> {
    rustix::io::fcntl_dupfd_cloexec(&fd, base)
}

/// `getrusage(RUSAGE_THREAD)`: this thread's CPU time.
#[cfg(not(target_vendor = "apple"))]
pub fn cpu_time(tr: &mut Tracer) {
    let call = Call::new("getrusage", Stage::Teardown).args("RUSAGE_THREAD");
    let start = tr.begin();
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `ru` is a valid, writable rusage; RUSAGE_THREAD only reads the calling thread.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, ru.as_mut_ptr()) };
    // SAFETY: zeroed is a valid rusage, and getrusage filled it on success.
    let ru = unsafe { ru.assume_init() };
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    let result = if rc == 0 { Ok(()) } else { Err(last_errno()) };
    let times = (us(ru.ru_utime), us(ru.ru_stime));
    record_cpu(tr, call, start, result, times, "this thread's");
}
