//! glibc's POSIX AIO (aio(7)), traced: `aio_read`, `aio_write`, `aio_suspend`, `aio_error` and
//! `aio_return` are C library functions, not system calls, so each is recorded as a `library`
//! line (`by: glibc`), which the strace check does not look for. The doorbell the model rings
//! between its two threads (`pipe2`, `write`) and the `shutdown` that ends a connection's
//! outstanding request are system calls, recorded as such.
//!
//! What glibc does behind these functions (`sysdeps/pthread/aio_misc.c`, glibc 2.36):
//! `aio_read` queues the request and hands it to a helper thread — an idle one, woken with a
//! `futex`, or a new one it starts with `clone3` (at most `aio_threads`, 20 unless `aio_init`
//! says otherwise; a helper idle for `aio_idle_time`, 1 s, ends). Requests on one descriptor
//! run in order on the thread that has it. The helper makes the I/O as one ordinary *blocking*
//! call: `pread64` first, which a socket refuses (`ESPIPE`: it has no file position), then
//! `read`; an `aio_write`, `pwrite64` then `write`. When that call returns, the helper stores
//! the result in the aiocb and wakes whoever waits in `aio_suspend` (a `futex` again). So
//! stage ① and stage ② both happen in a helper's blocking `read`: the program's thread is free,
//! because another thread of its process is not.
//!
//! The trace does not see inside the library: with `--kernel` the lane records the system
//! calls of glibc's threads (`raw_syscalls`), and strace -f shows them too.
//!
//! See aio(7), aio_read(3), aio_write(3), aio_suspend(3), aio_error(3), aio_return(3),
//! pipe(2), shutdown(2).

use crate::trace::{Call, Stage, Tracer};
use rustix::fd::{AsRawFd, OwnedFd};
use rustix::io::{Errno, Result};
use std::fmt::{self, Display};

/// Whose functions these are: the trace's `by`.
const GLIBC: &str = "glibc";

/// What an aiocb asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Op {
    Read,
    Write,
}

impl Op {
    /// The aiocb's `aio_lio_opcode`, as glibc sets it (`<aio.h>`).
    fn opcode(self) -> &'static str {
        match self {
            Op::Read => "LIO_READ",
            Op::Write => "LIO_WRITE",
        }
    }
}

/// One request's control block. glibc keeps a pointer to it until the request is done, so it
/// lives in a box of its own: it does not move while the request is in flight.
pub struct Aiocb {
    cb: Box<libc::aiocb>,
    op: Op,
}

impl Aiocb {
    pub fn fd(&self) -> i32 {
        self.cb.aio_fildes
    }

    pub fn op(&self) -> Op {
        self.op
    }
}

/// How a library line names an aiocb besides its descriptor: its opcode (which the summary
/// reads to tell a read's completion from a write's).
struct Names<'a>(&'a Aiocb);

impl Display for Names<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.op.opcode())
    }
}

/// The C library's error: `errno` after a `-1`.
fn errno() -> Errno {
    let e = std::io::Error::last_os_error();
    Errno::from_raw_os_error(e.raw_os_error().unwrap_or(libc::EIO))
}

// ANCHOR: submit
/// `aio_read(&cb)` or `aio_write(&cb)` of `len` bytes at `buf` on `fd`: queue the request for
/// a helper thread of glibc's and return at once. No notification (`SIGEV_NONE`): the program
/// asks with `aio_error` after `aio_suspend`. See aio_read(3), aio_write(3).
///
/// # Safety
/// `buf..buf+len` must stay valid (and, for a read, unused by anyone else) until the request's
/// `aio_return`: a helper thread reads or writes it meanwhile.
pub unsafe fn submit(
    tr: &mut Tracer,
    op: Op,
    fd: i32,
    buf: *mut u8,
    len: usize,
    why: crate::lang::Msg,
) -> Result<Aiocb> {
    // SAFETY: aiocb is a plain C struct; all zeroes is its documented initial state
    // (aio_offset 0, aio_reqprio 0, sigev_notify 0 = SIGEV_SIGNAL, set just below).
    let mut cb: Box<libc::aiocb> = Box::new(unsafe { std::mem::zeroed() });
    cb.aio_fildes = fd;
    cb.aio_buf = buf.cast();
    cb.aio_nbytes = len;
    cb.aio_sigevent.sigev_notify = libc::SIGEV_NONE;
    let mut cb = Aiocb { cb, op };
    let name = match op {
        Op::Read => "aio_read",
        Op::Write => "aio_write",
    };
    let ptr: *mut libc::aiocb = &mut *cb.cb;
    tr.call(
        Call::new(name, Stage::Setup)
            .library(GLIBC)
            .fd(fd)
            .args(format_args!("{len} bytes, SIGEV_NONE")),
        || {
            // SAFETY: `ptr` points into the box returned with the result, which the caller
            // keeps until `aio_return`; the buffer's lifetime is the caller's promise.
            let queued = unsafe {
                match op {
                    Op::Read => libc::aio_read(ptr),
                    Op::Write => libc::aio_write(ptr),
                }
            };
            match queued {
                0 => Ok(()),
                _ => Err(errno()),
            }
        },
        move |r: &Result<()>| match r {
            Ok(()) => why.to_string(),
            Err(Errno::AGAIN) => crate::t!("posix-aio-submit-again"),
            Err(_) => crate::t!("posix-aio-submit-refused"),
        },
    )?;
    Ok(cb)
}
// ANCHOR_END: submit

// ANCHOR: suspend
/// `aio_suspend(list, n, NULL)`: sleep until one of `list` is done. glibc registers a waiter
/// on each request still in flight and sleeps in `futex` until a helper finishes one; the
/// whole list is handed over, and looked through, on every call (as `select`'s sets are).
/// See aio_suspend(3).
pub fn suspend(tr: &mut Tracer, list: &[&Aiocb]) -> Result<()> {
    let ptrs: Vec<*const libc::aiocb> = list.iter().map(|c| &*c.cb as *const _).collect();
    let n = ptrs.len();
    tr.call(
        Call::new("aio_suspend", Stage::DataReady)
            .library(GLIBC)
            .args(format_args!("{n} aiocbs, NULL"))
            .blocking(true),
        || {
            // SAFETY: every pointer is to a live aiocb borrowed for this call.
            match unsafe { libc::aio_suspend(ptrs.as_ptr(), n as libc::c_int, std::ptr::null()) } {
                0 => Ok(()),
                _ => Err(errno()),
            }
        },
        move |r: &Result<()>| match r {
            Ok(()) => crate::t!("posix-aio-suspended", n = n.to_string()),
            Err(Errno::INTR) => crate::t!("posix-aio-suspend-intr"),
            Err(_) => crate::t!("posix-aio-suspend-failed"),
        },
    )
}
// ANCHOR_END: suspend

// ANCHOR: reap
/// `aio_error(&cb)`: has the request finished? `Err(EINPROGRESS)` while a helper is still on
/// it; once done, `Ok` or the request's own error. It reads the aiocb: no system call, no wait.
/// A still-running request's line leaves out its descriptor, so that a scan of many folds
/// into one line with a count. See aio_error(3).
pub fn error(tr: &mut Tracer, cb: &Aiocb) -> Result<()> {
    let names = Names(cb);
    tr.call_with(
        Call::new("aio_error", Stage::Completion)
            .library(GLIBC)
            .fd(cb.fd())
            .args(&names),
        || {
            // SAFETY: `cb` is a live aiocb that was submitted.
            match unsafe { libc::aio_error(&*cb.cb) } {
                0 => Ok(()),
                e => Err(Errno::from_raw_os_error(e)),
            }
        },
        |r, ev| {
            if r == &Err(Errno::INPROGRESS) {
                ev.fd = None;
                ev.args = "a request in flight".into();
            }
        },
        |r: &Result<()>| match r {
            Ok(()) => crate::t!("posix-aio-error-done"),
            Err(Errno::INPROGRESS) => crate::t!("posix-aio-error-in-progress"),
            Err(_) => crate::t!("posix-aio-error-failed"),
        },
    )
}

/// `aio_return(&cb)`: the finished request's result — what the helper's `read` or `write`
/// returned (bytes, or -1 with the error `aio_error` gave). The bytes are in our buffer
/// already: a helper thread copied them (stage ②). Call once, after `aio_error` says done;
/// `of` says what a read of 0 bytes means (the client is done sending).
/// See aio_return(3).
pub fn finish(
    tr: &mut Tracer,
    mut cb: Aiocb,
    failed: Option<Errno>,
    of: crate::lang::Msg,
) -> Result<usize> {
    let op = cb.op;
    tr.call(
        Call::new("aio_return", Stage::Completion)
            .library(GLIBC)
            .fd(cb.fd())
            .args(Names(&cb)),
        || {
            // SAFETY: `cb` is a finished request (its aio_error was not EINPROGRESS), reaped once.
            match unsafe { libc::aio_return(&mut *cb.cb) } {
                n if n >= 0 => Ok(n as usize),
                _ => Err(failed.unwrap_or(Errno::IO)),
            }
        },
        move |r: &Result<usize>| match (op, r) {
            (Op::Read, Ok(0)) => crate::t!("posix-aio-return-zero", of = of.to_string()),
            (Op::Read, Ok(n)) => crate::t!("posix-aio-return-read", n = n.to_string()),
            (Op::Write, Ok(n)) => crate::t!("posix-aio-return-write", n = n.to_string()),
            (_, Err(_)) => crate::t!("posix-aio-return-failed"),
        },
    )
}
// ANCHOR_END: reap

/// `pipe2(O_CLOEXEC)`: the doorbell between the thread that accepts and the thread in
/// `aio_suspend` (POSIX AIO has no accept, and `aio_suspend` waits for requests only: a read
/// of this pipe, always in flight, is what a new connection can end). Returns (read end,
/// write end). See pipe(2).
pub fn doorbell(tr: &mut Tracer) -> Result<(OwnedFd, OwnedFd)> {
    let call = Call::new("pipe2", Stage::Setup);
    let start = tr.enter(&call);
    let ends = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC);
    // pipe2 returns 0 and writes the two descriptors into its array, as strace shows them.
    tr.record(
        call,
        start,
        &ends.as_ref().map(|_| ()).map_err(|e| *e),
        |_, ev| {
            if let Ok((r, w)) = &ends {
                ev.args = format!("[{}, {}], O_CLOEXEC", r.as_raw_fd(), w.as_raw_fd());
            }
        },
        crate::msg!("posix-aio-doorbell"),
    );
    ends
}

/// `write(bell, "\1", 1)`: a new connection is waiting for the AIO thread. See write(2).
pub fn ring(tr: &mut Tracer, bell: &OwnedFd) -> Result<usize> {
    tr.call(
        Call::new("write", Stage::Setup)
            .fd(bell.as_raw_fd())
            .args("\"\\1\", 1"),
        || rustix::io::write(bell, b"\x01"),
        crate::msg!("posix-aio-ring"),
    )
}

/// `shutdown(fd, SHUT_RDWR)`: the run is over (or a chat member is dropped), but a helper
/// sleeps in this connection's `read` (or `write`), which nothing else can end: glibc's
/// `aio_cancel` cannot cancel a request a helper is running. The shutdown makes that call
/// return, and the request finish. `why` is the gloss. See shutdown(2), aio_cancel(3).
pub fn shut(tr: &mut Tracer, fd: &OwnedFd, why: impl crate::trace::Gloss<()>) {
    let _ = tr.call(
        Call::new("shutdown", Stage::Teardown)
            .fd(fd.as_raw_fd())
            .args("SHUT_RDWR"),
        || rustix::net::shutdown(fd, rustix::net::Shutdown::Both),
        why,
    );
}
