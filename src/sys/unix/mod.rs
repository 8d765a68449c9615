//! What Linux, macOS and the BSDs share: descriptors are small integers, `fcntl` sets modes,
//! `close` closes, libc's `recv`/`send` are the `recvfrom`/`sendto` system calls, and a process
//! has a descriptor limit (`RLIMIT_NOFILE`) to run out of.

use super::{AcceptFailure, SETUP, SLEEP};
#[cfg(not(target_vendor = "apple"))]
use super::{CpuTimes, last_errno, record_cpu};
use crate::trace::{Call, Gloss, Stage, Tracer};
use rustix::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use rustix::io::{Errno, Result};

/// The echo's receive call, as the kernel names it (libc's `recv` is `recvfrom`).
pub const RECV: &str = "recvfrom";
/// The echo's send call, as the kernel names it.
pub const SEND: &str = "sendto";
/// The call that asks how many bytes wait (`FIONREAD`).
pub const IOCTL: &str = "ioctl";

/// The listener's socket option, and why.
pub const PORT_OPTION: (&str, crate::lang::Msg) = ("SO_REUSEADDR", crate::msg!("sys-port-option"));

/// `setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)`.
pub fn set_port_option(listener: &OwnedFd) -> Result<()> {
    rustix::net::sockopt::set_socket_reuseaddr(listener, true)
}

/// The number a descriptor is shown as.
pub fn raw(fd: &impl AsRawFd) -> i32 {
    fd.as_raw_fd()
}

/// `fcntl(F_SETFL, O_RDWR|O_NONBLOCK)`: calls on `fd` (numbered `raw`) will answer `EAGAIN`
/// instead of sleeping. See fcntl(2).
#[doc(alias = "O_NONBLOCK")]
pub fn set_nonblocking(tr: &mut Tracer, fd: &OwnedFd, gloss: impl Gloss<()>) {
    let _ = tr.call(
        Call::new("fcntl", SETUP)
            .fd(raw(fd))
            .args("F_SETFL, O_RDWR|O_NONBLOCK"),
        || rustix::fs::fcntl_setfl(fd, rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NONBLOCK),
        gloss,
    );
}

/// The call that closes a descriptor.
pub const CLOSE: &str = "close";

/// `close(fd)`, untraced (see `sys::close`). Its result is not looked at: the descriptor is
/// gone either way (close(2)).
pub(super) fn close_fd(fd: OwnedFd) -> Result<()> {
    // SAFETY: `into_raw_fd` hands over ownership, so nothing else will close it.
    unsafe { rustix::io::close(fd.into_raw_fd()) };
    Ok(())
}

/// `openat(AT_FDCWD, "/dev/null", O_RDONLY|O_CLOEXEC)`: a descriptor held in reserve for
/// `EMFILE` (see `limits::Spare`); `None` if even that fails. libc's `open`, as strace names it
/// (rustix would make the `open` call). See open(2).
pub fn spare_fd(tr: &mut Tracer, note: &str) -> Option<OwnedFd> {
    let open = || {
        // SAFETY: a valid C string and flags; a descriptor returned is ours to own.
        let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            Err(Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::MFILE))
        } else {
            // SAFETY: `fd` was just opened and nothing else owns it.
            Ok(unsafe { OwnedFd::from_raw_fd(fd) })
        }
    };
    let call =
        Call::new("openat", Stage::Setup).args("AT_FDCWD, \"/dev/null\", O_RDONLY|O_CLOEXEC");
    tr.call(call, open, note).ok()
}

/// What an error from `accept4` means here. See accept(2) (`EMFILE`, `ENFILE`, and the errors
/// of the network the new connection came from, which Linux passes on).
pub fn accept_failure(err: Errno) -> AcceptFailure {
    match err {
        Errno::MFILE | Errno::NFILE => AcceptFailure::Descriptors,
        Errno::NOBUFS | Errno::NOMEM => AcceptFailure::Wait(crate::msg!("accept-wait-memory")),
        Errno::PROTO
        | Errno::NOPROTOOPT
        | Errno::HOSTDOWN
        | Errno::HOSTUNREACH
        | Errno::OPNOTSUPP
        | Errno::NETUNREACH
        | Errno::NETDOWN
        | Errno::PERM => AcceptFailure::Network,
        #[cfg(target_os = "linux")]
        Errno::NONET => AcceptFailure::Network,
        _ => AcceptFailure::Other,
    }
}

/// Sleeps 20 ms, traced (`clock_nanosleep` on Linux, `nanosleep` elsewhere: see `SLEEP`):
/// the alternative to spinning when nothing else can be done. See nanosleep(2).
pub fn back_off(tr: &mut Tracer, note: &str) {
    use rustix::thread::NanosleepRelativeResult as Slept;
    let ts = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: 20_000_000,
    };
    let (name, args) = SLEEP;
    let sleep = || match super::sleep(&ts) {
        Slept::Ok => Ok(()),
        Slept::Interrupted(_) => Err(Errno::INTR),
        Slept::Err(e) => Err(e),
    };
    let call = Call::new(name, Stage::DataReady).args(args).blocking(true);
    let _ = tr.call(call, sleep, note);
}

/// The process's descriptor limit (`RLIMIT_NOFILE`), as getrlimit(2) reads it.
pub struct FdLimit(rustix::process::Rlimit);

/// `getrlimit(RLIMIT_NOFILE)`: every Unix process has a descriptor limit.
pub fn fd_limit() -> Option<FdLimit> {
    Some(FdLimit(rustix::process::getrlimit(
        rustix::process::Resource::Nofile,
    )))
}

impl FdLimit {
    /// The soft limit, the one `EMFILE` comes from (`None`: unlimited).
    pub fn soft(&self) -> Option<u64> {
        self.0.current
    }

    /// `setrlimit(RLIMIT_NOFILE)`: lowers the soft limit to `n`, leaving the hard one.
    pub fn lower(&self, n: u64) -> Result<()> {
        let lowered = rustix::process::Rlimit {
            current: Some(n),
            maximum: self.0.maximum,
        };
        rustix::process::setrlimit(rustix::process::Resource::Nofile, lowered)
    }
}

/// The terminal's width in columns, if stdout is a terminal.
pub fn term_width() -> Option<usize> {
    rustix::termios::tcgetwinsize(std::io::stdout())
        .ok()
        .map(|w| w.ws_col as usize)
}

/// `fcntl(F_DUPFD_CLOEXEC, base)`: the same socket at the lowest free descriptor ≥ `base` (the
/// harness moves its idle connections' client ends out of the server's range).
pub fn move_fd(fd: OwnedFd, base: i32) -> Result<OwnedFd> {
    rustix::io::fcntl_dupfd_cloexec(&fd, base)
}

/// `getrusage(RUSAGE_THREAD)`: this thread's CPU time. See getrusage(2).
#[cfg(not(target_vendor = "apple"))]
pub fn cpu_time(tr: &mut Tracer) {
    let call = Call::new("getrusage", Stage::Teardown).args("RUSAGE_THREAD");
    record_cpu(tr, call, || {
        let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: `ru` is a valid, writable rusage; RUSAGE_THREAD only reads the calling thread.
        if unsafe { libc::getrusage(libc::RUSAGE_THREAD, ru.as_mut_ptr()) } != 0 {
            return Err(last_errno());
        }
        // SAFETY: getrusage filled it.
        let ru = unsafe { ru.assume_init() };
        let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
        Ok(CpuTimes {
            user_us: us(ru.ru_utime),
            sys_us: us(ru.ru_stime),
        })
    });
}
