//! Linux `io_uring(7)`, traced: the ring's setup, each operation submitted, `io_uring_enter`,
//! and each completion reaped. The system calls are `io_uring_setup`, `io_uring_enter`, and
//! the io-uring crate's own `mmap`s of the rings (and `munmap`s and `close` at the end); the
//! rings are then memory shared with the kernel, so an SQE put in the submission ring and a CQE
//! read from the completion ring are recorded as `op` lines, each with its key (`user_data`).
//!
//! See io_uring_setup(2) (its mmap offsets), io_uring_enter(2), io_uring_prep_accept(3), io_uring_prep_recv(3),
//! io_uring_prep_send(3), io_uring_prep_cancel(3).

use crate::trace::{Call, Event, Gloss, Stage, Tracer, escape};
use io_uring::{IoUring, opcode, squeue, types};
use rustix::fd::{IntoRawFd, OwnedFd};
use rustix::io::{Errno, Result};
use rustix::io_uring::{
    self as io_uring_sys, IoringFeatureFlags, IoringSetupFlags, io_uring_params,
};
use std::fmt::Display;
use std::os::fd::{AsFd, AsRawFd};

/// Entries in the submission ring: one operation in flight per connection, plus the accept.
const RING_ENTRIES: u32 = 256;

/// `IORING_RECVSEND_POLL_FIRST` from `<linux/io_uring.h>` (Linux 5.19; older kernels ignore it).
const IORING_RECVSEND_POLL_FIRST: u16 = 1;

/// How long one `io_uring_enter` may wait for a completion before the server does other work.
const WAIT_NS: u32 = 1_000_000;

/// A ring: the submission and completion queues shared with the kernel, and the keys handed out.
pub struct Ring {
    ring: IoUring,
    fd: i32,
    /// What the crate mapped, to say what it unmaps.
    maps: Maps,
    /// The next key (`user_data`) to hand out.
    next_key: u64,
    /// Where the kernel writes the peer's address when an accept completes (one accept is in
    /// flight at a time).
    peer: Box<(libc::sockaddr_storage, libc::socklen_t)>,
}

/// What one SQE asked of the kernel, kept with its key until its CQE: what the trace calls it.
pub struct Sqe {
    what: What,
    /// The descriptor it acts on (-1 for a cancel).
    fd: i32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum What {
    Accept,
    Recv,
    Send,
    Cancel,
}

impl What {
    /// The operation as the trace names it (`IORING_OP_ASYNC_CANCEL` is `async_cancel`).
    fn name(self) -> &'static str {
        match self {
            What::Accept => "accept",
            What::Recv => "recv",
            What::Send => "send",
            What::Cancel => "async_cancel",
        }
    }

    /// The stage an SQE of this kind belongs to.
    fn stage(self) -> Stage {
        match self {
            What::Accept | What::Recv => Stage::DataReady,
            What::Send => Stage::CopyToKernel,
            What::Cancel => Stage::Teardown,
        }
    }
}

/// One completion: the key it came under and its result (a count, a descriptor, or `-errno`).
#[derive(Clone, Copy)]
pub struct Cqe {
    pub key: u64,
    res: i32,
}

impl Cqe {
    /// The result as a callback reads it: a count or a descriptor, or the errno.
    pub fn result(self) -> Result<u32> {
        if self.res < 0 {
            Err(Errno::from_raw_os_error(-self.res))
        } else {
            Ok(self.res as u32)
        }
    }
}

/// This kernel gives us no ring, and why (the run then exits with code 2).
pub struct Unavailable(std::io::Error);

impl Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let why = match Errno::from_io_error(&self.0) {
            Some(Errno::NOSYS) => "this kernel has no io_uring (ENOSYS)",
            Some(Errno::PERM) => {
                "io_uring is disabled here (EPERM: sysctl kernel.io_uring_disabled, or a seccomp policy such as a container's)"
            }
            _ => "io_uring_setup failed",
        };
        write!(f, "{why}: {}", self.0)
    }
}

impl Ring {
    /// `io_uring_setup(256, COOP_TASKRUN|SINGLE_ISSUER|DEFER_TASKRUN)`: the two rings, shared
    /// with the kernel. One thread submits and reaps, so the kernel may run completion work only
    /// when we enter the ring, instead of interrupting the thread for it. Then the io-uring
    /// crate maps the rings into our memory (`IoUring::from_fd`), with the `mmap`s the kernel's
    /// answer calls for: those are recorded as the crate's own calls (`by: io-uring`).
    #[doc(alias = "io_uring_setup")]
    pub fn setup(tr: &mut Tracer) -> std::result::Result<Ring, Unavailable> {
        let flags = IoringSetupFlags::COOP_TASKRUN
            | IoringSetupFlags::SINGLE_ISSUER
            | IoringSetupFlags::DEFER_TASKRUN;
        let call = Call::new("io_uring_setup", Stage::Setup).args(format_args!(
            "{RING_ENTRIES}, IORING_SETUP_COOP_TASKRUN|IORING_SETUP_SINGLE_ISSUER|IORING_SETUP_DEFER_TASKRUN"
        ));
        let mut params = io_uring_params::default();
        params.flags = flags;
        let made = tr.call(
            call,
            // SAFETY: ATTACH_WQ is not set, so no descriptor in `params` is read.
            || unsafe { io_uring_sys::io_uring_setup(RING_ENTRIES, &mut params) },
            |r: &Result<OwnedFd>| match r {
                Ok(_) => format!(
                    "a submission ring and a completion ring of {RING_ENTRIES} entries, in the kernel's memory"
                ),
                Err(e) => format!("failed: {}", std::io::Error::from(*e)),
            },
        );
        let fd = made.map_err(|e| Unavailable(e.into()))?;
        let raw = fd.as_raw_fd();
        let maps = Maps::of(&params);
        // SAFETY: both types are the kernel's `struct io_uring_params` (rustix's is `repr(C)`,
        // the crate's `Parameters` a `repr(transparent)` wrapper of its own binding, which it
        // documents may be made from any properly laid-out value); the kernel filled it in.
        let params: io_uring::Parameters = unsafe { std::mem::transmute(params) };
        // SAFETY: `fd` is the ring io_uring_setup just made, and `params` what it answered.
        let built = unsafe { IoUring::from_fd(fd.into_raw_fd(), params) };
        let ring = match built {
            Ok(ring) => ring,
            Err(e) => {
                tr.info(|| format!("the io-uring crate could not map the rings into our memory ({e}); it closed the ring"));
                return Err(Unavailable(e));
            }
        };
        for m in maps.iter() {
            crate_own(
                tr,
                Call::new("mmap", Stage::Setup).fd(raw).args(format_args!(
                    "len={}, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_POPULATE, {}",
                    m.len, m.offset
                )),
                Err(None),
                || {
                    format!(
                        "the io-uring crate maps {} into our memory: {}",
                        m.what,
                        maps.why(m)
                    )
                },
            );
        }
        Ok(Ring {
            fd: raw,
            ring,
            maps,
            next_key: 1,
            // SAFETY: sockaddr_storage is plain data; all zeroes is a valid value.
            peer: Box::new((unsafe { std::mem::zeroed() }, 0)),
        })
    }

    /// `accept(listener, &peer, SOCK_CLOEXEC)` as an SQE: the kernel accepts the next connection for
    /// us and writes the peer's address into the ring's own buffer. Returns the key.
    ///
    /// # Safety
    /// No other accept is submitted before this one's CQE is reaped (they share the buffer).
    #[doc(alias = "io_uring_prep_accept")]
    pub unsafe fn accept(&mut self, tr: &mut Tracer, listener: &impl AsFd) -> (u64, Sqe) {
        let lfd = listener.as_fd().as_raw_fd();
        self.peer.1 = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let sqe = opcode::Accept::new(
            types::Fd(lfd),
            (&raw mut self.peer.0).cast(),
            &raw mut self.peer.1,
        )
        .flags(libc::SOCK_CLOEXEC)
        .build();
        // SAFETY: the peer buffer is boxed and lives as long as the ring; the caller submits no
        // other accept meanwhile.
        unsafe {
            self.push(
                tr,
                sqe,
                What::Accept,
                lfd,
                ", SOCK_CLOEXEC",
                "accept the next connection for us, and tell us under this key",
            )
        }
    }

    /// `recv(fd, buf, len, 0)` as an SQE: the kernel waits for data and copies it into `buf`.
    /// It goes in right after our echo was sent, so the answer is rarely there yet:
    /// `IORING_RECVSEND_POLL_FIRST` skips the kernel's first try (a recv that would say
    /// `EAGAIN`) and waits at once. Returns the key.
    ///
    /// # Safety
    /// `buf` stays valid, unmoved and untouched until this key's CQE is reaped.
    #[doc(alias = "io_uring_prep_recv")]
    #[doc(alias = "IORING_OP_RECV")]
    pub unsafe fn recv(&mut self, tr: &mut Tracer, fd: i32, buf: &mut [u8]) -> (u64, Sqe) {
        let len = buf.len();
        let sqe = opcode::Recv::new(types::Fd(fd), buf.as_mut_ptr(), len as u32)
            .ioprio(IORING_RECVSEND_POLL_FIRST)
            .build();
        // SAFETY: the caller keeps the buffer.
        unsafe {
            self.push(
                tr,
                sqe,
                What::Recv,
                fd,
                format_args!(", len={len}, IORING_RECVSEND_POLL_FIRST"),
                "wait for data and copy it into our buffer: the kernel holds the buffer now",
            )
        }
    }

    /// `send(fd, data, len, MSG_NOSIGNAL)` as an SQE: the kernel copies `data` into the
    /// socket's send buffer. Returns the key.
    ///
    /// # Safety
    /// `data` stays valid and unmoved until this key's CQE is reaped.
    #[doc(alias = "io_uring_prep_send")]
    pub unsafe fn send(&mut self, tr: &mut Tracer, fd: i32, data: &[u8]) -> (u64, Sqe) {
        let len = data.len();
        let sqe = opcode::Send::new(types::Fd(fd), data.as_ptr(), len as u32)
            .flags(libc::MSG_NOSIGNAL)
            .build();
        // SAFETY: the caller keeps the data.
        unsafe {
            self.push(
                tr,
                sqe,
                What::Send,
                fd,
                format_args!(", len={len}, MSG_NOSIGNAL"),
                |_: &Result<()>| format!("echo {len} bytes: {}", escape(data, 32)),
            )
        }
    }

    /// `async_cancel(target)` as an SQE: the operation under `target` completes at once,
    /// with `ECANCELED` (or with its result, if it had finished). Returns the key.
    #[doc(alias = "io_uring_prep_cancel")]
    pub fn cancel(&mut self, tr: &mut Tracer, target: u64) -> (u64, Sqe) {
        let sqe = opcode::AsyncCancel::new(target).build();
        // SAFETY: a cancel points to no buffer.
        unsafe {
            self.push(
                tr,
                sqe,
                What::Cancel,
                -1,
                format_args!(", target={target}"),
                "the run is over: cancel that operation",
            )
        }
    }

    /// Puts `sqe` in the submission ring under a new key, and records it as an `op` line
    /// (`SQE key=K` and `args`). The kernel sees it at the next `io_uring_enter`.
    ///
    /// # Safety
    /// Every buffer `sqe` points to stays valid and untouched until its CQE is reaped.
    unsafe fn push(
        &mut self,
        tr: &mut Tracer,
        sqe: squeue::Entry,
        what: What,
        fd: i32,
        args: impl Display,
        gloss: impl Gloss<()>,
    ) -> (u64, Sqe) {
        let key = self.next_key;
        self.next_key += 1;
        let call = Call::new(what.name(), what.stage())
            .fd(fd)
            .args(format_args!("SQE key={key}{args}"))
            .op();
        let sqe = sqe.user_data(key);
        // SAFETY: the caller keeps the buffers alive; the ring has room (checked here).
        while unsafe { self.ring.submission().push(&sqe) }.is_err() {
            // The submission ring is full: hand it to the kernel now, without waiting.
            let _ = self.enter(tr, 0);
        }
        let queued = |_: &Result<()>, ev: &mut Event| {
            ev.ret = None;
            ev.key = Some(key);
        };
        let _ = tr.call_with(call, || Ok(()), queued, gloss);
        (key, Sqe { what, fd })
    }

    /// Step 3: `io_uring_enter(ring, to_submit, min_complete=1, GETEVENTS|EXT_ARG, 1 ms)`: hand
    /// the kernel our SQEs and wait at most 1 ms for a completion. No completion by then
    /// (`ETIME`) or a signal (`EINTR`) is no failure: the caller does other work and comes back.
    #[doc(alias = "io_uring_enter")]
    pub fn wait(&mut self, tr: &mut Tracer) -> Result<()> {
        match self.enter(tr, 1) {
            Ok(_) | Err(Errno::TIME | Errno::INTR) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn enter(&mut self, tr: &mut Tracer, min_complete: u32) -> Result<usize> {
        let to_submit = self.ring.submission().len();
        let call = Call::new("io_uring_enter", Stage::Completion)
            .fd(self.fd)
            .args(format_args!(
                "to_submit={to_submit}, min_complete={min_complete}, timeout=1ms"
            ));
        let ts = types::Timespec::new().nsec(WAIT_NS);
        let wait = types::SubmitArgs::new().timespec(&ts);
        let start = tr.enter(&call);
        let r = self
            .ring
            .submitter()
            .submit_with_args(min_complete as usize, &wait)
            .map_err(|e| errno(&e));
        let ready = self.ring.completion().len();
        tr.record(
            call,
            start,
            &r,
            |_, _| (),
            |r: &Result<usize>| entered(r, ready),
        );
        r
    }

    /// Copies every completion out of the ring into `cqes` (the callbacks need the ring to
    /// submit, so they run after this). Reading a CQE is no system call.
    pub fn reap(&mut self, cqes: &mut Vec<Cqe>) {
        cqes.clear();
        cqes.extend(self.ring.completion().map(|cqe| Cqe {
            key: cqe.user_data(),
            res: cqe.result(),
        }));
    }

    /// Records a reaped CQE as an `op` line (`CQE key=K`): what it brought and the callback it
    /// goes to. `read` is what a receive left in its buffer.
    pub fn completed(&self, tr: &mut Tracer, cqe: Cqe, sqe: &Sqe, read: &[u8]) {
        let call = Call::new(sqe.what.name(), Stage::Completion)
            .fd(sqe.fd)
            .args(format_args!("CQE key={}", cqe.key))
            .op();
        let accepted = sqe.what == What::Accept && cqe.res >= 0;
        let _ = tr.call_with(
            call,
            || cqe.result(),
            |_, ev| {
                ev.key = Some(cqe.key);
                ev.port = accepted.then(|| peer_port(&self.peer.0)).flatten();
            },
            |r: &Result<u32>| reaped(sqe.what, r, read),
        );
    }

    /// A CQE whose key the program does not hold: said, and otherwise ignored.
    pub fn unknown(tr: &mut Tracer, cqe: Cqe) {
        tr.info(|| format!("a completion for unknown key {}", cqe.key));
    }

    /// `close(ring)`: `IoUring`'s drop unmaps the rings' shared memory (`munmap`, the crate's
    /// own calls), then closes the descriptor.
    pub fn close(self, tr: &mut Tracer) {
        let (fd, maps) = (self.fd, self.maps);
        drop(self.ring);
        for m in maps.unmapped() {
            crate_own(
                tr,
                Call::new("munmap", Stage::Teardown).args(format_args!("len={}", m.len)),
                Ok(0),
                || format!("the io-uring crate unmaps {}", m.what),
            );
        }
        crate_own(
            tr,
            Call::new("close", Stage::Teardown).fd(fd),
            Ok(0),
            || "the io-uring crate closes the ring, its memory unmapped".into(),
        );
    }
}

/// One of the ring's mappings: where in the ring's "file" it starts and how long it is.
#[derive(Clone, Copy)]
struct Map {
    /// `IORING_OFF_SQ_RING`, `IORING_OFF_CQ_RING` or `IORING_OFF_SQES`.
    offset: &'static str,
    len: usize,
    what: &'static str,
}

/// The `mmap`s the io-uring crate makes for a ring (`IoUring::from_fd`, io-uring 0.7), in its
/// order: the SQE array, then the SQ ring, then the CQ ring — or, with
/// `IORING_FEAT_SINGLE_MMAP` (Linux 5.4), both rings in one mapping.
struct Maps {
    sqes: Map,
    sq: Map,
    cq: Option<Map>,
    sq_entries: u32,
    cq_entries: u32,
}

impl Maps {
    fn of(p: &io_uring_params) -> Maps {
        // The crate's own arithmetic: each ring's header (the offsets the kernel answered) and
        // its array, 4-byte SQ indices and 16-byte CQEs; the SQE array is 64 bytes an entry.
        let sq_len = p.sq_off.array as usize + p.sq_entries as usize * 4;
        let cq_len = p.cq_off.cqes as usize + p.cq_entries as usize * 16;
        let sqes = Map {
            offset: "IORING_OFF_SQES",
            len: p.sq_entries as usize * 64,
            what: "the SQE array",
        };
        let single = p.features.contains(IoringFeatureFlags::SINGLE_MMAP);
        let (sq, cq) = if single {
            let both = Map {
                offset: "IORING_OFF_SQ_RING",
                len: sq_len.max(cq_len),
                what: "the submission and completion rings",
            };
            (both, None)
        } else {
            let sq = Map {
                offset: "IORING_OFF_SQ_RING",
                len: sq_len,
                what: "the submission ring",
            };
            let cq = Map {
                offset: "IORING_OFF_CQ_RING",
                len: cq_len,
                what: "the completion ring",
            };
            (sq, Some(cq))
        };
        Maps {
            sqes,
            sq,
            cq,
            sq_entries: p.sq_entries,
            cq_entries: p.cq_entries,
        }
    }

    /// In the order the crate maps them.
    fn iter(&self) -> impl Iterator<Item = &Map> {
        [&self.sqes, &self.sq].into_iter().chain(&self.cq)
    }

    /// In the order the crate's drop unmaps them (its fields' order).
    fn unmapped(&self) -> impl Iterator<Item = &Map> {
        [&self.sq, &self.sqes].into_iter().chain(&self.cq)
    }

    /// What a mapping holds, for its gloss.
    fn why(&self, m: &Map) -> String {
        match m.offset {
            "IORING_OFF_SQES" => format!(
                "{} SQEs of 64 bytes: we write each operation here, the kernel reads it",
                self.sq_entries
            ),
            "IORING_OFF_CQ_RING" => format!(
                "the CQ ring's head and tail and its {} CQEs of 16 bytes, which the kernel writes",
                self.cq_entries
            ),
            _ if self.cq.is_none() => format!(
                "one mapping for both (IORING_FEAT_SINGLE_MMAP): the SQ ring's head, tail and {} indices, and the CQ ring's {} CQEs of 16 bytes",
                self.sq_entries, self.cq_entries
            ),
            _ => format!(
                "the SQ ring's head, tail and {} indices into the SQE array",
                self.sq_entries
            ),
        }
    }
}

/// Records a call the io-uring crate made on its own (`by: io-uring`), already returned:
/// `Ok(ret)`, or `Err(None)` for a result it keeps to itself (an `mmap`'s address).
fn crate_own(
    tr: &mut Tracer,
    call: Call,
    result: std::result::Result<i64, Option<Errno>>,
    gloss: impl FnOnce() -> String,
) {
    let start = tr.begin();
    let shown = result.map_err(|e| e.unwrap_or(Errno::INVAL));
    tr.record(
        call,
        start,
        &shown,
        |_, ev| {
            ev.by = Some("io-uring");
            if result.is_err() {
                // The crate does not tell us where it mapped the ring: no result to show.
                ev.errno = None;
            }
        },
        |_: &Result<i64>| gloss(),
    );
}

/// The gloss of an `io_uring_enter`: what went in, and what is ready to reap.
fn entered(r: &Result<usize>, ready: usize) -> String {
    match r {
        Ok(n) => format!(
            "{n} SQE{} handed to the kernel; {ready} completion{} ready",
            plural(*n),
            plural(ready)
        ),
        Err(Errno::TIME) => "no completion within 1 ms: back to other work".into(),
        Err(e) => format!("failed: {}", std::io::Error::from(*e)),
    }
}

/// The gloss of a CQE: what the kernel did for us, and which callback runs.
fn reaped(what: What, r: &Result<u32>, read: &[u8]) -> String {
    match (what, r) {
        (What::Accept, Ok(fd)) => format!("a connection, already accepted: fd {fd} → on_accepted"),
        (What::Recv, Ok(0)) => "0 bytes: the client shut down writing (FIN) → on_received".into(),
        (What::Recv, Ok(n)) => format!(
            "the kernel already copied {n} bytes into our buffer: {} → on_received",
            escape(read, 32)
        ),
        (What::Send, Ok(n)) => format!("the kernel took {n} bytes to send → on_sent"),
        (What::Cancel, Ok(_)) => "cancelled".into(),
        (_, Err(Errno::CANCELED)) => "cancelled at our request".into(),
        (What::Cancel, Err(Errno::NOENT | Errno::ALREADY)) => {
            "nothing to cancel: it had completed already".into()
        }
        (What::Accept, Err(Errno::INVAL)) => "the listener was shut down: the run is over".into(),
        (_, Err(e)) => format!("failed: {}", std::io::Error::from(*e)),
    }
}

/// An `io::Error` from the ring as the errno the trace shows.
fn errno(e: &std::io::Error) -> Errno {
    Errno::from_io_error(e).unwrap_or(Errno::INVAL)
}

/// The port in a peer address the kernel wrote (IPv4 or IPv6).
fn peer_port(addr: &libc::sockaddr_storage) -> Option<u16> {
    let p: *const libc::sockaddr_storage = addr;
    match addr.ss_family as libc::c_int {
        // SAFETY: the family says which sockaddr this storage holds; storage is large enough.
        libc::AF_INET => Some(u16::from_be(unsafe {
            (*p.cast::<libc::sockaddr_in>()).sin_port
        })),
        // SAFETY: as above.
        libc::AF_INET6 => Some(u16::from_be(unsafe {
            (*p.cast::<libc::sockaddr_in6>()).sin6_port
        })),
        _ => None,
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
