//! Linux native AIO (`io_setup(2)`), traced: the context's setup, each `io_submit` with its one
//! iocb, `io_getevents`, and each event reaped. `io_setup`, `io_submit`, `io_getevents` and
//! `io_destroy` are system calls; an event read from what `io_getevents` returned is recorded
//! as an `op` line (like an io_uring CQE), with its key (`aio_data`).
//!
//! What this API does with a socket is the lesson: an `IOCB_CMD_PREAD` on a socket has no
//! asynchronous path in the kernel (`fs/aio.c`'s `aio_read` calls the socket's `read_iter` at
//! once), so the read runs to its end *inside* `io_submit`, which sleeps until data arrives; the
//! event is ready before `io_submit` returns. Only `IOCB_CMD_POLL` (Linux
//! 4.18) is truly asynchronous: it returns at once and completes when the socket is ready.
//!
//! See io_setup(2), io_submit(2), io_getevents(2), io_destroy(2), aio(7), socket(7)
//! (`SO_RCVTIMEO`).

use crate::trace::{Call, Event, Stage, Tracer, escape, names};
use rustix::fd::{AsFd, AsRawFd};
use rustix::io::{Errno, Result};
use std::fmt::{self, Display};
use std::time::Duration;

// ANCHOR: abi
/// The kernel ABI, from `include/uapi/linux/aio_abi.h`. The libc crate has the system call
/// numbers (`SYS_io_setup`, …) and, for glibc targets only, `iocb`, but no `io_event`, no
/// `aio_context_t` and no `IOCB_CMD_*`, and no crate binds them: so the header's two small
/// structs are written out here. They are the kernel's interface, not a C library's.
mod abi {
    /// `aio_context_t`: the context's handle, an address in our memory the kernel chose.
    pub type Context = libc::c_ulong;

    /// `IOCB_CMD_PREAD`: read `aio_nbytes` into `aio_buf`.
    pub const IOCB_CMD_PREAD: u16 = 0;
    /// `IOCB_CMD_POLL` (Linux 4.18): `aio_buf` holds the poll events; the result is the mask.
    pub const IOCB_CMD_POLL: u16 = 5;

    /// `struct iocb`: one request. Field order as in the header (little-endian: `aio_key`
    /// before `aio_rw_flags`; big-endian the other way round).
    #[repr(C)]
    #[derive(Default)]
    pub struct Iocb {
        /// Handed back in the event: our key.
        pub aio_data: u64,
        #[cfg(target_endian = "little")]
        pub aio_key: u32,
        pub aio_rw_flags: i32,
        #[cfg(target_endian = "big")]
        pub aio_key: u32,
        pub aio_lio_opcode: u16,
        pub aio_reqprio: i16,
        pub aio_fildes: u32,
        pub aio_buf: u64,
        pub aio_nbytes: u64,
        pub aio_offset: i64,
        pub aio_reserved2: u64,
        pub aio_flags: u32,
        pub aio_resfd: u32,
    }

    /// `struct io_event`: one completion.
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    pub struct IoEvent {
        /// The request's `aio_data`: our key.
        pub data: u64,
        /// The address of the iocb it came from.
        pub obj: u64,
        /// The result: bytes, a poll mask, or `-errno`.
        pub res: i64,
        pub res2: i64,
    }
}
// ANCHOR_END: abi

/// How long a socket read or write may sleep inside `io_submit` (`SO_RCVTIMEO`, `SO_SNDTIMEO`):
/// nothing can wake a thread asleep there (`io_cancel` cannot cancel a socket read, and the
/// thread is inside the call), so this bounds how long the harness's stop takes to be seen.
pub const WAKE_EVERY: Duration = Duration::from_secs(1);

/// An AIO context: the kernel's queue of completed events, and the keys handed out.
pub struct Aio {
    ctx: abi::Context,
    /// Most events the context holds (`io_setup`'s `nr_events`).
    nr: usize,
    /// The next key (`aio_data`) to hand out.
    next_key: u64,
    /// Where `io_getevents` writes.
    events: Vec<abi::IoEvent>,
}

/// What one iocb asked of the kernel, kept with its key until its event: what the trace calls
/// it.
#[derive(Clone, Copy)]
pub struct Iocb {
    pub what: What,
    /// The descriptor it acts on.
    pub fd: i32,
}

/// The two requests this server submits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum What {
    Pread,
    Poll,
}

impl What {
    /// The opcode as strace prints it.
    fn opcode(self) -> &'static str {
        match self {
            What::Pread => "IOCB_CMD_PREAD",
            What::Poll => "IOCB_CMD_POLL",
        }
    }

    /// The operation as the trace's `op` lines name it.
    fn name(self) -> &'static str {
        match self {
            What::Pread => "pread",
            What::Poll => "poll",
        }
    }
}

/// One event reaped: the key it came under and its result (bytes, a poll mask, or `-errno`).
#[derive(Clone, Copy)]
pub struct Done {
    pub key: u64,
    res: i64,
}

impl Done {
    /// The result as a callback reads it: a count or a mask, or the errno.
    pub fn result(self) -> Result<u32> {
        if self.res < 0 {
            Err(Errno::from_raw_os_error(-self.res as i32))
        } else {
            Ok(self.res as u32)
        }
    }
}

/// `POLLIN|POLLRDHUP`: the poll events asked for and reported, by name.
pub struct Mask(pub u32);

impl Display for Mask {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let table = [
            (libc::POLLIN, "POLLIN"),
            (libc::POLLPRI, "POLLPRI"),
            (libc::POLLOUT, "POLLOUT"),
            (libc::POLLERR, "POLLERR"),
            (libc::POLLHUP, "POLLHUP"),
            (libc::POLLRDNORM, "POLLRDNORM"),
            (libc::POLLRDBAND, "POLLRDBAND"),
            (libc::POLLWRNORM, "POLLWRNORM"),
            (libc::POLLWRBAND, "POLLWRBAND"),
            (libc::POLLRDHUP, "POLLRDHUP"),
        ]
        .map(|(bit, n)| (bit as u16 as u64, n));
        f.write_str(&names::flags(self.0 as u64, &table))
    }
}

/// This kernel gives us no AIO context, and why (the run then exits with code 2).
pub struct Unavailable(Errno);

impl Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let why = match self.0 {
            Errno::NOSYS => crate::t!("aio-setup-nosys"),
            Errno::AGAIN => crate::t!("aio-setup-eagain"),
            Errno::PERM => crate::t!("aio-setup-eperm"),
            _ => crate::t!("aio-setup-failed"),
        };
        f.write_str(&crate::t!(
            "completion-unavailable",
            why = why,
            error = std::io::Error::from(self.0).to_string()
        ))
    }
}

/// A raw system call's result: `-1` and errno, or the value.
fn check(r: libc::c_long) -> Result<usize> {
    if r < 0 {
        Err(Errno::from_raw_os_error(
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        ))
    } else {
        Ok(r as usize)
    }
}

impl Aio {
    /// `io_setup(nr, &ctx)`: a context whose queue holds `nr` events.
    #[doc(alias = "io_setup")]
    pub fn setup(tr: &mut Tracer, nr: usize) -> std::result::Result<Aio, Unavailable> {
        let mut ctx: abi::Context = 0;
        let made = tr.call(
            Call::new("io_setup", Stage::Setup).args(format_args!("{nr}, &ctx")),
            // SAFETY: io_setup writes the context's handle into `ctx`, which outlives the call.
            || {
                check(unsafe {
                    libc::syscall(libc::SYS_io_setup, nr as libc::c_uint, &raw mut ctx)
                })
            },
            |_: &Result<usize>| crate::t!("aio-setup", nr = nr.to_string()),
        );
        made.map_err(Unavailable)?;
        Ok(Aio {
            ctx,
            nr,
            next_key: 1,
            events: vec![abi::IoEvent::default(); nr],
        })
    }

    /// `io_submit(ctx, 1, [{IOCB_CMD_PREAD, fd, buf, len}])`: read into `buf`. On a socket the
    /// read runs inside this call: it sleeps until data arrives (stage ①), the kernel copies it
    /// (stage ②), and only then does `io_submit` return. Returns the key and what it asked.
    ///
    /// # Safety
    /// `buf` stays valid, unmoved and untouched until this key's event is reaped.
    #[doc(alias = "IOCB_CMD_PREAD")]
    pub unsafe fn pread(
        &mut self,
        tr: &mut Tracer,
        fd: i32,
        buf: &mut [u8],
    ) -> Result<(u64, Iocb)> {
        let (addr, len) = (buf.as_mut_ptr() as u64, buf.len() as u64);
        let key = self.key();
        self.submit(tr, key, What::Pread, fd, addr, len, sync_read)
    }

    /// `io_submit(ctx, 1, [{IOCB_CMD_POLL, fd, events}])` (Linux 4.18): tell us under this key
    /// when `fd` is ready for `events`. This one returns at once: it is a readiness request,
    /// one-shot, like `EPOLLONESHOT`. `key` is the caller's (the readiness loop uses the
    /// descriptor, as epoll's data); `None`: a new one.
    #[doc(alias = "IOCB_CMD_POLL")]
    pub fn poll(
        &mut self,
        tr: &mut Tracer,
        fd: &impl AsFd,
        key: Option<u64>,
        events: u32,
        why: crate::lang::Msg,
    ) -> Result<(u64, Iocb)> {
        let fd = fd.as_fd().as_raw_fd();
        let key = key.unwrap_or_else(|| self.key());
        let gloss = move |r: &Result<usize>, _: bool| match r {
            Ok(_) => why.to_string(),
            Err(e) => submit_failed(*e),
        };
        self.submit(tr, key, What::Poll, fd, events as u64, 0, gloss)
    }

    fn key(&mut self) -> u64 {
        let key = self.next_key;
        self.next_key += 1;
        key
    }

    /// `io_submit` of one iocb under `key`: stage ① asked for. A read may sleep inside it (a
    /// socket's runs synchronously), so it is announced as a wait; the gloss is told whether
    /// it slept.
    #[allow(clippy::too_many_arguments)]
    fn submit(
        &mut self,
        tr: &mut Tracer,
        key: u64,
        what: What,
        fd: i32,
        buf: u64,
        len: u64,
        gloss: impl FnOnce(&Result<usize>, bool) -> String,
    ) -> Result<(u64, Iocb)> {
        let opcode = match what {
            What::Pread => abi::IOCB_CMD_PREAD,
            What::Poll => abi::IOCB_CMD_POLL,
        };
        let mut iocb = abi::Iocb {
            aio_data: key,
            aio_lio_opcode: opcode,
            aio_fildes: fd as u32,
            aio_buf: buf,
            aio_nbytes: len,
            ..Default::default()
        };
        let (op, size) = (what.opcode(), Size(what, buf, len));
        let call = Call::new("io_submit", Stage::DataReady)
            .args(format_args!(
                "ctx, 1, [{{aio_data={key}, aio_lio_opcode={op}, aio_fildes={fd}, {size}}}]"
            ))
            .blocking(what != What::Poll);
        let clock = tr.enabled().then(std::time::Instant::now);
        let mut list = [&raw mut iocb];
        let start = tr.enter(&call);
        // SAFETY: the iocb and the list of one pointer to it live through the call (the kernel
        // copies them); a read's buffer is the caller's to keep (see `pread`).
        let r = check(unsafe {
            libc::syscall(
                libc::SYS_io_submit,
                self.ctx,
                1 as libc::c_long,
                list.as_mut_ptr(),
            )
        });
        let slept = clock.is_some_and(|t| t.elapsed() >= Duration::from_millis(1));
        tr.record(
            call,
            start,
            &r,
            |_, _| (),
            |r: &Result<usize>| gloss(r, slept),
        );
        r.map(|_| (key, Iocb { what, fd }))
    }

    /// `io_getevents(ctx, 1, nr, events, NULL)`: wait for at least one event, and copy out up to
    /// `nr` of them into `done`. `stage` is what the wait stands for: stage ① where the
    /// requests in flight are polls, a completion where the work was done already.
    #[doc(alias = "io_getevents")]
    pub fn wait(&mut self, tr: &mut Tracer, stage: Stage, done: &mut Vec<Done>) -> Result<usize> {
        done.clear();
        let nr = self.nr;
        let call = Call::new("io_getevents", stage)
            .args(format_args!("ctx, 1, {nr}, NULL"))
            .blocking(true);
        let start = tr.enter(&call);
        // SAFETY: `events` has room for `nr` events; a null timeout waits for ever.
        let r = check(unsafe {
            libc::syscall(
                libc::SYS_io_getevents,
                self.ctx,
                1 as libc::c_long,
                nr as libc::c_long,
                self.events.as_mut_ptr(),
                std::ptr::null_mut::<libc::timespec>(),
            )
        });
        if let Ok(n) = r {
            done.extend(self.events[..n].iter().map(|e| Done {
                key: e.data,
                res: e.res,
            }));
        }
        tr.record(
            call,
            start,
            &r,
            |_, _| (),
            |r: &Result<usize>| match r {
                Ok(n) => crate::t!(
                    "aio-events",
                    n = n.to_string(),
                    count = *n,
                    keys = keys(done)
                ),
                Err(e) => failed(*e),
            },
        );
        r
    }

    /// Records a reaped event as an `op` line (`io_event key=K`): what it brought and where it
    /// goes. `read` is what a read left in its buffer.
    pub fn completed(&self, tr: &mut Tracer, done: Done, iocb: &Iocb, read: &[u8], to: &str) {
        let call = Call::new(iocb.what.name(), Stage::Completion)
            .fd(iocb.fd)
            .args(format_args!("io_event key={}", done.key))
            .op();
        let _ = tr.call_with(
            call,
            || done.result(),
            |_, ev: &mut Event| ev.key = Some(done.key),
            |r: &Result<u32>| reaped(iocb.what, r, read, to),
        );
    }

    /// An event whose key the program does not hold: said, and otherwise ignored.
    pub fn unknown(tr: &mut Tracer, done: Done) {
        tr.info(|| crate::t!("aio-unknown-key", key = done.key.to_string()));
    }

    /// `io_destroy(ctx)`: cancels what is still in flight (polls) and waits for it, then frees
    /// the context.
    #[doc(alias = "io_destroy")]
    pub fn destroy(self, tr: &mut Tracer) {
        let ctx = self.ctx;
        let _ = tr.call(
            Call::new("io_destroy", Stage::Teardown).args("ctx"),
            // SAFETY: the context is ours and no other thread uses it.
            || check(unsafe { libc::syscall(libc::SYS_io_destroy, ctx) }),
            crate::msg!("aio-destroy"),
        );
    }
}

/// `shutdown(fd, SHUT_RDWR)`: a connection to close while polls on it are in flight (each
/// holds the socket open, and would come back under a descriptor number a new client may
/// have): the shutdown makes them fire at once, and the socket closes after their events.
pub fn wake_polls(tr: &mut Tracer, fd: &impl AsFd) {
    let _ = tr.call(
        Call::new("shutdown", Stage::Teardown)
            .fd(fd.as_fd().as_raw_fd())
            .args("SHUT_RDWR"),
        || rustix::net::shutdown(fd, rustix::net::Shutdown::Both),
        crate::msg!("aio-shutdown"),
    );
}

/// `setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO|SO_SNDTIMEO, 1 s)`: a read asleep inside
/// `io_submit`, or the echo's `sendto` asleep on a full send buffer, comes back `EAGAIN` after
/// [`WAKE_EVERY`], so that the loop can see the run is over. Nothing else changes: the loop
/// goes on waiting for the same client.
pub fn wake_every(tr: &mut Tracer, fd: &impl AsFd) {
    use rustix::net::sockopt::{Timeout, set_socket_timeout};
    let raw = fd.as_fd().as_raw_fd();
    let secs = WAKE_EVERY.as_secs();
    let options = [
        (Timeout::Recv, "SO_RCVTIMEO", crate::msg!("aio-rcvtimeo")),
        (Timeout::Send, "SO_SNDTIMEO", crate::msg!("aio-sndtimeo")),
    ];
    for (timeout, name, why) in options {
        let _ = tr.call(
            Call::new("setsockopt", Stage::Setup)
                .fd(raw)
                .args(format_args!(
                    "SOL_SOCKET, {name}, {{tv_sec={secs}, tv_usec=0}}"
                )),
            || set_socket_timeout(fd, timeout, Some(WAKE_EVERY)),
            why,
        );
    }
}

/// `aio_nbytes=4096` (a read) or `aio_buf=POLLIN` (a poll), as strace shows them.
struct Size(What, u64, u64);

impl Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.0 {
            What::Poll => write!(f, "aio_buf={}", Mask(self.1 as u32)),
            What::Pread => write!(f, "aio_nbytes={}", self.2),
        }
    }
}

/// The gloss of a read's `io_submit`.
fn sync_read(r: &Result<usize>, slept: bool) -> String {
    match r {
        Ok(_) if slept => crate::t!("aio-read-slept"),
        Ok(_) => crate::t!("aio-read-at-once"),
        Err(e) => submit_failed(*e),
    }
}

fn submit_failed(e: Errno) -> String {
    match e {
        Errno::AGAIN => crate::t!("aio-context-full"),
        e => failed(e),
    }
}

/// `failed: …`, a failed call's gloss.
fn failed(e: Errno) -> String {
    crate::t!("kqueue-failed", why = std::io::Error::from(e).to_string())
}

/// `key 2 = 6, key 1 = 1`: the events of a wait as its gloss shows them (at most six).
fn keys(done: &[Done]) -> String {
    let shown: Vec<String> = done
        .iter()
        .map(|d| match d.result() {
            Ok(n) => format!("key {} = {n}", d.key),
            Err(e) => format!("key {} = -{}", d.key, crate::trace::errno::name(e)),
        })
        .collect();
    names::list(&shown, ", ", 6)
}

/// The gloss of an event: what the kernel did, and which callback runs (`to`).
fn reaped(what: What, r: &Result<u32>, read: &[u8], to: &str) -> String {
    let said = match (what, r) {
        (What::Pread, Ok(0)) => crate::t!("echo-eof"),
        (What::Pread, Ok(n)) => crate::t!(
            "aio-read-copied",
            n = n.to_string(),
            shown = escape(read, 32)
        ),
        (What::Poll, Ok(mask)) => crate::t!("aio-poll-ready", mask = Mask(*mask).to_string()),
        (What::Pread, Err(Errno::AGAIN)) => crate::t!("aio-read-timeout"),
        (_, Err(e)) => failed(*e),
    };
    format!("{said} → {to}")
}
