//! Linux signal-driven I/O, traced: the signals blocked and taken with `rt_sigtimedwait`, and
//! the three `fcntl`s that hand a socket's news to this thread as a real-time signal. Each call
//! is one line in the sigio model; its name, stage and meaning are written here.
//!
//! See fcntl(2) (`F_SETOWN_EX`, `F_SETSIG`, `O_ASYNC`), sigprocmask(2), sigtimedwait(2),
//! sigaction(2) (`siginfo_t`: `si_fd`, `si_band`).

use crate::sys::last_errno;
use crate::trace::{Call, Ret, Stage, Tracer};
use rustix::fd::RawFd;
use rustix::io::{Errno, Result};
use std::fmt;
use std::mem::MaybeUninit;

/// `fcntl` commands libc does not name on Linux (asm-generic/fcntl.h).
const F_SETSIG: libc::c_int = 10;
const F_SETOWN_EX: libc::c_int = 15;
const F_OWNER_TID: libc::c_int = 0;

/// How long one `rt_sigtimedwait` may wait before the server goes back to its other work.
const WAIT_NS: libc::c_long = 1_000_000;

/// `struct f_owner_ex` (fcntl(2)): who receives the signals of a descriptor.
#[repr(C)]
struct FOwnerEx {
    /// `F_OWNER_TID`: one thread, not the whole process.
    kind: libc::c_int,
    /// That thread's TID.
    pid: libc::pid_t,
}

/// The part of `siginfo_t` a `SIGPOLL`-style signal fills (`_sigpoll` in the kernel's union).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SigPoll {
    signo: libc::c_int,
    errno: libc::c_int,
    code: libc::c_int,
    /// Why: the `poll` bits of the socket (`POLLIN|POLLRDNORM`, …).
    band: libc::c_long,
    /// Which socket.
    pub fd: libc::c_int,
}

impl SigPoll {
    /// A plain `SIGIO`, not our real-time signal: the real-time queue overflowed, and the kernel
    /// could not say which socket changed.
    pub fn overflowed(&self) -> bool {
        self.signo == libc::SIGIO
    }

    /// `si_band` has one of `bits`.
    fn band_has(&self, bits: libc::c_short) -> bool {
        self.band & libc::c_long::from(bits) != 0
    }
}

/// `rt_sigtimedwait` returns the signal's number.
impl Ret for SigPoll {
    fn ret(&self) -> i64 {
        self.signo.into()
    }
}

/// The siginfo as the trace shows it: `si_signo=SIGRT_2, si_code=POLL_IN, si_fd=5, si_band=…`.
impl fmt::Display for SigPoll {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let band = Band(self.band);
        let (code, fd) = (Code(self.code), self.fd);
        if self.overflowed() {
            write!(f, "si_signo=SIGIO")?;
        } else {
            write!(f, "si_signo=SIG{}", Rt(self.signo))?;
        }
        write!(f, ", si_code={code}, si_fd={fd}, si_band={band}")
    }
}

/// The signals of signal-driven I/O, blocked on this thread: `sig` (the real-time signal
/// `F_SETSIG` names) and `SIGIO`, which the kernel falls back to when the queue overflows.
pub struct Signals {
    set: libc::sigset_t,
    sig: libc::c_int,
    /// The thread the signals go to (`F_OWNER_TID`).
    tid: libc::pid_t,
}

impl Signals {
    /// `pthread_sigmask(SIG_BLOCK, {SIGIO, SIGRTMIN})` (issued as `rt_sigprocmask`): no handler
    /// runs; the signals stay pending until [`Signals::wait`] takes them. See sigprocmask(2).
    #[doc(alias = "sigprocmask")]
    #[doc(alias = "pthread_sigmask")]
    pub fn block(tr: &mut Tracer) -> Signals {
        let sig = libc::SIGRTMIN();
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset initialises the set; sigaddset only writes into it.
        let set = unsafe {
            libc::sigemptyset(set.as_mut_ptr());
            libc::sigaddset(set.as_mut_ptr(), sig);
            libc::sigaddset(set.as_mut_ptr(), libc::SIGIO);
            set.assume_init()
        };
        let _ = tr.call(
            Call::new("rt_sigprocmask", Stage::Setup)
                .args(format_args!("SIG_BLOCK, [IO {}]", Rt(sig))),
            || {
                // SAFETY: `set` is initialised; a null old set is allowed.
                let rc =
                    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
                // pthread_sigmask returns the error number instead of setting errno.
                if rc == 0 {
                    Ok(())
                } else {
                    Err(Errno::from_raw_os_error(rc))
                }
            },
            crate::msg!("sigio-block"),
        );
        Signals {
            set,
            sig,
            tid: tr.tid() as libc::pid_t,
        }
    }

    /// `fcntl(fd, F_SETOWN_EX, {F_OWNER_TID, tid})`: the signals of `fd` go to this thread.
    /// See fcntl(2).
    #[doc(alias = "F_SETOWN_EX")]
    pub fn set_owner(&self, tr: &mut Tracer, fd: RawFd) -> Result<i32> {
        let tid = self.tid;
        let owner = FOwnerEx {
            kind: F_OWNER_TID,
            pid: tid,
        };
        tr.call(
            fcntl(fd).args(format_args!("F_SETOWN_EX, {{F_OWNER_TID, {tid}}}")),
            // SAFETY: F_SETOWN_EX reads one f_owner_ex, which `owner` is.
            || cvt(unsafe { libc::fcntl(fd, F_SETOWN_EX, &owner) }),
            crate::msg!("sigio-owner"),
        )
    }

    /// `fcntl(fd, F_SETSIG, SIGRTMIN)`: a queued real-time signal instead of `SIGIO`, whose
    /// siginfo names the socket. See fcntl(2).
    #[doc(alias = "F_SETSIG")]
    pub fn set_sig(&self, tr: &mut Tracer, fd: RawFd) -> Result<i32> {
        let sig = self.sig;
        tr.call(
            fcntl(fd).args(format_args!("F_SETSIG, SIG{}", Rt(sig))),
            // SAFETY: F_SETSIG takes a signal number.
            || cvt(unsafe { libc::fcntl(fd, F_SETSIG, sig) }),
            crate::msg!("sigio-setsig"),
        )
    }

    /// `fcntl(fd, F_SETFL, O_RDWR|O_NONBLOCK|O_ASYNC)`: signal us on `news`; and nonblocking,
    /// for a stale signal must not block us. See fcntl(2).
    #[doc(alias = "O_ASYNC")]
    pub fn set_async(&self, tr: &mut Tracer, fd: RawFd, news: crate::lang::Msg) -> Result<i32> {
        let flags = libc::O_RDWR | libc::O_NONBLOCK | libc::O_ASYNC;
        tr.call(
            fcntl(fd).args("F_SETFL, O_RDWR|O_NONBLOCK|O_ASYNC"),
            // SAFETY: F_SETFL takes an int of flags.
            || cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, flags) }),
            |_: &_| crate::t!("sigio-async", news = news.to_string()),
        )
    }

    /// `sigtimedwait(set, &info, 1 ms)` (issued as `rt_sigtimedwait`): stage ①, taking one
    /// pending signal, waiting at most 1 ms (`EAGAIN`: none came). The trace line shows what the
    /// kernel put in the siginfo; `listener` tells its gloss which socket is the listener.
    /// See sigtimedwait(2).
    #[doc(alias = "sigtimedwait")]
    #[doc(alias = "rt_sigtimedwait")]
    pub fn wait(&self, tr: &mut Tracer, listener: RawFd) -> Result<SigPoll> {
        let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
        let timeout = libc::timespec {
            tv_sec: 0,
            tv_nsec: WAIT_NS,
        };
        let start = tr.begin();
        // SAFETY: `set`, `info` and `timeout` are valid for the call; `info` is writable.
        let r = match unsafe { libc::sigtimedwait(&self.set, info.as_mut_ptr(), &timeout) } {
            rc if rc < 0 => Err(last_errno()),
            // SAFETY: siginfo_t is at least as large as SigPoll and starts with the same fields;
            // the kernel filled it (and it was zeroed before, so nothing is uninitialised).
            _ => Ok(unsafe { info.as_ptr().cast::<SigPoll>().read() }),
        };
        // What the call names depends on what came: the siginfo, or only what it waited for.
        let call = Call::new("rt_sigtimedwait", Stage::DataReady);
        let call = match &r {
            Ok(info) => call.fd(info.fd).args(info),
            Err(_) => call.args(format_args!("[IO {}], timeout=1ms", Rt(self.sig))),
        };
        tr.record(
            call,
            start,
            &r,
            |_, _| (),
            |r: &Result<SigPoll>| match r {
                Ok(info) => news(info, listener),
                Err(e) => none_came(*e),
            },
        );
        r
    }
}

/// What a signal tells the server, and what it does next: the gloss of a signal taken.
fn news(info: &SigPoll, listener: RawFd) -> String {
    let (fd, code, band) = (info.fd, Code(info.code), Band(info.band));
    if info.overflowed() {
        crate::t!("sigio-overflow")
    } else if fd == listener && info.band_has(libc::POLLIN) {
        crate::t!("sigio-listener-in")
    } else if fd == listener {
        crate::t!(
            "sigio-listener-other",
            band = band.to_string(),
            code = code.to_string()
        )
    } else if info.band_has(libc::POLLIN | libc::POLLHUP | libc::POLLERR) {
        crate::t!(
            "sigio-readable",
            fd = fd.to_string(),
            code = code.to_string()
        )
    } else {
        crate::t!(
            "sigio-writable",
            fd = fd.to_string(),
            code = code.to_string()
        )
    }
}

/// The gloss of a wait that took no signal.
fn none_came(e: Errno) -> String {
    if e == Errno::AGAIN {
        crate::t!("sigio-none-within")
    } else {
        crate::t!("sigio-none")
    }
}

/// An `fcntl` on `fd` at setup.
fn fcntl(fd: RawFd) -> Call {
    Call::new("fcntl", Stage::Setup).fd(fd)
}

fn cvt(rc: libc::c_int) -> Result<i32> {
    if rc < 0 { Err(last_errno()) } else { Ok(rc) }
}

/// A real-time signal as strace names it: `RT_2` is the kernel's 32 + 2, glibc's `SIGRTMIN`
/// (glibc keeps the first two real-time signals for itself).
struct Rt(libc::c_int);

impl fmt::Display for Rt {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "RT_{}", self.0 - 32)
    }
}

/// `si_code` of a `SIGPOLL`-style signal, as siginfo.h names it.
struct Code(libc::c_int);

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let name = match self.0 {
            1 => "POLL_IN",
            2 => "POLL_OUT",
            3 => "POLL_MSG",
            4 => "POLL_ERR",
            5 => "POLL_PRI",
            6 => "POLL_HUP",
            0x80 => "SI_KERNEL",
            c => return write!(f, "{c}"),
        };
        f.write_str(name)
    }
}

/// `si_band` by name: the `poll` bits of the socket when the signal was sent.
struct Band(libc::c_long);

impl fmt::Display for Band {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&crate::sys::poll::flag_names(self.0 as u64))
    }
}
