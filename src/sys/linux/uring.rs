//! Linux `io_uring(7)`, traced: the ring's setup, each operation submitted, `io_uring_enter`,
//! and each completion reaped. The system calls are `io_uring_setup`, `io_uring_enter`, and
//! the io-uring crate's own `mmap`s of the rings (and `munmap`s and `close` at the end); the
//! rings are then memory shared with the kernel, so an SQE put in the submission ring and a CQE
//! read from the completion ring are recorded as `op` lines, each with its key (`user_data`).
//!
//! See io_uring_setup(2) (its mmap offsets), io_uring_enter(2), io_uring_prep_accept(3), io_uring_prep_recv(3),
//! io_uring_prep_send(3), io_uring_prep_cancel(3).

use crate::trace::{Call, Event, Gloss, Stage, Tracer, escape};
use io_uring::{EnterFlags, IoUring, cqueue, opcode, squeue, types};
use rustix::fd::{IntoRawFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::{Errno, Result};
use rustix::io_uring::{
    self as io_uring_sys, IoringFeatureFlags, IoringSetupFlags, io_uring_params,
};
use std::fmt::Display;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicU16, Ordering};

/// Entries in the submission ring: one operation in flight per connection, plus the accept.
const RING_ENTRIES: u32 = 256;

/// `IORING_RECVSEND_POLL_FIRST` from `<linux/io_uring.h>` (Linux 5.19; older kernels ignore it).
const IORING_RECVSEND_POLL_FIRST: u16 = 1;

/// How long one `io_uring_enter` may wait for a completion before the server does other work.
const WAIT_NS: u32 = 1_000_000;

/// `--sqpoll`: the kernel's SQ thread sleeps after this many milliseconds without an SQE
/// (`sq_thread_idle`); a short idle keeps a quiet server's kernel thread from spinning.
const SQ_IDLE_MS: u32 = 2;

/// `--sqpoll`: after its last completion the server looks at the completion ring this long
/// without a system call (it is memory), doing other work, before it sleeps in `io_uring_enter`.
const SQ_SPIN: std::time::Duration = std::time::Duration::from_millis(1);

/// `--multishot`: the provided buffers' group id.
const BGID: u16 = 0;

/// A ring: the submission and completion queues shared with the kernel, and the keys handed out.
pub struct Ring {
    ring: IoUring,
    fd: i32,
    /// `--sqpoll`: a kernel thread takes our SQEs; we enter only to wait, or to wake it.
    sqpoll: bool,
    /// When a reap last found completions (`--sqpoll` spins on the ring for a while after).
    busy: std::time::Instant,
    /// What the crate mapped, to say what it unmaps.
    maps: Maps,
    /// The next key (`user_data`) to hand out.
    next_key: u64,
    /// Where the kernel writes the peer's address when an accept completes (one accept is in
    /// flight at a time).
    peer: Box<(libc::sockaddr_storage, libc::socklen_t)>,
    /// The peer port [`Ring::peer`] found, for the multishot accept's CQE line.
    accepted: Option<u16>,
}

/// What one SQE asked of the kernel, kept with its key until its CQE: what the trace calls it.
#[derive(Clone, Copy)]
pub struct Sqe {
    what: What,
    /// The descriptor it acts on (-1 for a cancel).
    fd: i32,
    /// A send's callback, as its CQE line names it: `on_sent` (the echo) or `on_delivered` (a
    /// chat's line to a member).
    then: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum What {
    Accept,
    /// `IORING_ACCEPT_MULTISHOT`: one SQE, a CQE per connection.
    AcceptMulti,
    Recv,
    /// `IORING_RECV_MULTISHOT` into provided buffers: one SQE, a CQE per arrival.
    RecvMulti,
    Send,
    Cancel,
}

impl What {
    /// The operation as the trace names it (`IORING_OP_ASYNC_CANCEL` is `async_cancel`).
    fn name(self) -> &'static str {
        match self {
            What::Accept | What::AcceptMulti => "accept",
            What::Recv | What::RecvMulti => "recv",
            What::Send => "send",
            What::Cancel => "async_cancel",
        }
    }

    /// The stage an SQE of this kind belongs to.
    fn stage(self) -> Stage {
        match self {
            What::Accept | What::AcceptMulti | What::Recv | What::RecvMulti => Stage::DataReady,
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
    flags: u32,
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

    /// `IORING_CQE_F_MORE`: the operation stays armed, more CQEs will come under its key (a
    /// multishot one); clear, this is its last.
    pub fn more(self) -> bool {
        cqueue::more(self.flags)
    }

    /// `IORING_CQE_F_BUFFER`: the provided buffer the kernel chose and filled (its id).
    pub fn buffer(self) -> Option<u16> {
        cqueue::buffer_select(self.flags)
    }
}

/// This kernel gives us no ring, and why (the run then exits with code 2); `sqpoll`: the ring
/// asked for a kernel thread.
pub struct Unavailable(std::io::Error, bool);

impl Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let why = match Errno::from_io_error(&self.0) {
            Some(Errno::PERM | Errno::INVAL) if self.1 => crate::t!("uring-setup-no-sqpoll"),
            Some(Errno::NOSYS) => crate::t!("uring-setup-nosys"),
            Some(Errno::PERM) => crate::t!("uring-setup-disabled"),
            _ => crate::t!("uring-setup-failed"),
        };
        f.write_str(&crate::t!(
            "completion-unavailable",
            why = why,
            error = self.0.to_string()
        ))
    }
}

impl Ring {
    /// `io_uring_setup(256, COOP_TASKRUN|SINGLE_ISSUER|DEFER_TASKRUN)`: the two rings, shared
    /// with the kernel. One thread submits and reaps, so the kernel may run completion work only
    /// when we enter the ring, instead of interrupting the thread for it. With `sqpoll`,
    /// `io_uring_setup(256, SQPOLL|SINGLE_ISSUER, sq_thread_idle=2)` instead: a kernel thread
    /// (`iou-sqp-PID`) takes SQEs from the ring as we write them, and runs their completion work
    /// itself (the kernel refuses the task-run flags with SQPOLL). Then the io-uring
    /// crate maps the rings into our memory (`IoUring::from_fd`), with the `mmap`s the kernel's
    /// answer calls for: those are recorded as the crate's own calls (`by: io-uring`).
    #[doc(alias = "io_uring_setup")]
    pub fn setup(tr: &mut Tracer, sqpoll: bool) -> std::result::Result<Ring, Unavailable> {
        let mut params = io_uring_params::default();
        let call = Call::new("io_uring_setup", Stage::Setup);
        let call = if sqpoll {
            params.flags = IoringSetupFlags::SQPOLL | IoringSetupFlags::SINGLE_ISSUER;
            params.sq_thread_idle = SQ_IDLE_MS;
            call.args(format_args!(
                "{RING_ENTRIES}, IORING_SETUP_SQPOLL|IORING_SETUP_SINGLE_ISSUER, sq_thread_idle={SQ_IDLE_MS}"
            ))
        } else {
            params.flags = IoringSetupFlags::COOP_TASKRUN
                | IoringSetupFlags::SINGLE_ISSUER
                | IoringSetupFlags::DEFER_TASKRUN;
            call.args(format_args!(
                "{RING_ENTRIES}, IORING_SETUP_COOP_TASKRUN|IORING_SETUP_SINGLE_ISSUER|IORING_SETUP_DEFER_TASKRUN"
            ))
        };
        let made = tr.call(
            call,
            // SAFETY: ATTACH_WQ is not set, so no descriptor in `params` is read.
            || unsafe { io_uring_sys::io_uring_setup(RING_ENTRIES, &mut params) },
            |r: &Result<OwnedFd>| match r {
                Ok(_) if sqpoll => crate::t!(
                    "uring-setup-sqpoll",
                    entries = RING_ENTRIES.to_string(),
                    idle = SQ_IDLE_MS.to_string()
                ),
                Ok(_) => crate::t!("uring-setup", entries = RING_ENTRIES.to_string()),
                Err(e) => failed(e),
            },
        );
        let fd = made.map_err(|e| Unavailable(e.into(), sqpoll))?;
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
                tr.info(|| crate::t!("uring-map-failed", why = e.to_string()));
                return Err(Unavailable(e, sqpoll));
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
                || crate::t!("uring-mmap", what = m.what.to_string(), why = maps.why(m)),
            );
        }
        Ok(Ring {
            fd: raw,
            sqpoll,
            busy: std::time::Instant::now(),
            ring,
            maps,
            next_key: 1,
            // SAFETY: sockaddr_storage is plain data; all zeroes is a valid value.
            peer: Box::new((unsafe { std::mem::zeroed() }, 0)),
            accepted: None,
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
                crate::msg!("uring-sqe-accept"),
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
                crate::msg!("uring-sqe-recv"),
            )
        }
    }

    /// `send(fd, data, len, MSG_NOSIGNAL)` as an SQE: the kernel copies `data` into the
    /// socket's send buffer. `verb` says what the bytes are for (`echo`, or a chat's
    /// `deliver`). Returns the key.
    ///
    /// # Safety
    /// `data` stays valid and unmoved until this key's CQE is reaped.
    #[doc(alias = "io_uring_prep_send")]
    pub unsafe fn send(
        &mut self,
        tr: &mut Tracer,
        fd: i32,
        data: &[u8],
        verb: &'static str,
    ) -> (u64, Sqe) {
        let len = data.len();
        let sqe = opcode::Send::new(types::Fd(fd), data.as_ptr(), len as u32)
            .flags(libc::MSG_NOSIGNAL)
            .build();
        // SAFETY: the caller keeps the data.
        let (key, mut sqe) = unsafe {
            self.push(
                tr,
                sqe,
                What::Send,
                fd,
                format_args!(", len={len}, MSG_NOSIGNAL"),
                |_: &Result<()>| {
                    let (n, shown) = (len.to_string(), escape(data, 32));
                    if verb == "deliver" {
                        crate::t!("uring-sqe-deliver", n = n, shown = shown)
                    } else {
                        crate::t!("uring-sqe-echo", n = n, shown = shown)
                    }
                },
            )
        };
        if verb == "deliver" {
            sqe.then = "on_delivered";
        }
        (key, sqe)
    }

    /// `accept(listener, NULL, SOCK_CLOEXEC)` with `IORING_ACCEPT_MULTISHOT` as one SQE: the
    /// kernel accepts every connection that comes, each a CQE under this key with `F_MORE` set,
    /// until it says otherwise (Linux 5.19). It writes no peer address: see [`Ring::peer`].
    #[doc(alias = "io_uring_prep_multishot_accept")]
    pub fn accept_multi(&mut self, tr: &mut Tracer, listener: &impl AsFd) -> (u64, Sqe) {
        let lfd = listener.as_fd().as_raw_fd();
        let sqe = opcode::AcceptMulti::new(types::Fd(lfd))
            .flags(libc::SOCK_CLOEXEC)
            .build();
        self.push_bufferless(
            tr,
            sqe,
            What::AcceptMulti,
            lfd,
            ", SOCK_CLOEXEC, IORING_ACCEPT_MULTISHOT",
            crate::msg!("uring-sqe-accept-multi"),
        )
    }

    /// `recv(fd, NULL, 0, 0)` with `IORING_RECV_MULTISHOT` and `IOSQE_BUFFER_SELECT` as one
    /// SQE: whenever data arrives the kernel takes a buffer from the ring of provided buffers
    /// (group 0), copies into it and posts a CQE naming the buffer, with `F_MORE` while it stays
    /// armed (Linux 6.0).
    #[doc(alias = "io_uring_prep_recv_multishot")]
    pub fn recv_multi(&mut self, tr: &mut Tracer, fd: i32) -> (u64, Sqe) {
        let sqe = opcode::RecvMulti::new(types::Fd(fd), BGID).build();
        // The buffers it fills are the ring's (`Buffers`), registered until the ring closes.
        self.push_bufferless(
            tr,
            sqe,
            What::RecvMulti,
            fd,
            format_args!(", IORING_RECV_MULTISHOT, IOSQE_BUFFER_SELECT, group={BGID}"),
            crate::msg!("uring-sqe-recv-multi"),
        )
    }

    /// `getpeername(fd)`: who a multishot accept gave us (it writes no address). The port is
    /// kept for the CQE line that announces the descriptor.
    #[doc(alias = "getpeername")]
    pub fn peer(&mut self, tr: &mut Tracer, fd: i32) {
        // SAFETY: the descriptor is the one the kernel just accepted for us, open and owned
        // by the caller; it is only borrowed for the call.
        let sock = unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) };
        let call = Call::new("getpeername", Stage::Setup).fd(fd);
        let got = tr.call(
            call,
            || rustix::net::getpeername(sock).map(Peer),
            crate::msg!("uring-getpeername"),
        );
        self.accepted = got.ok().and_then(|p| p.port());
    }

    /// `async_cancel(target)` as an SQE: the operation under `target` completes at once,
    /// with `ECANCELED` (or with its result, if it had finished). `why` is the gloss. Returns
    /// the key.
    #[doc(alias = "io_uring_prep_cancel")]
    pub fn cancel(&mut self, tr: &mut Tracer, target: u64, why: crate::lang::Msg) -> (u64, Sqe) {
        let sqe = opcode::AsyncCancel::new(target).build();
        self.push_bufferless(
            tr,
            sqe,
            What::Cancel,
            -1,
            format_args!(", target={target}"),
            why,
        )
    }

    /// [`Ring::push`] for an SQE that names no memory of the caller's (a cancel, a multishot
    /// accept, a receive into provided buffers).
    fn push_bufferless(
        &mut self,
        tr: &mut Tracer,
        sqe: squeue::Entry,
        what: What,
        fd: i32,
        args: impl Display,
        gloss: impl Gloss<()>,
    ) -> (u64, Sqe) {
        // SAFETY: the SQE points to no buffer of the caller's.
        unsafe { self.push(tr, sqe, what, fd, args, gloss) }
    }

    /// Puts `sqe` in the submission ring under a new key, and records it as an `op` line
    /// (`SQE key=K` and `args`). The kernel sees it at the next `io_uring_enter` (with
    /// `--sqpoll`, its SQ thread sees it in the ring).
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
        let then = "on_sent";
        (key, Sqe { what, fd, then })
    }

    /// Step 3: `io_uring_enter(ring, to_submit, min_complete=1, GETEVENTS|EXT_ARG, 1 ms)`: hand
    /// the kernel our SQEs and wait at most 1 ms for a completion. No completion by then
    /// (`ETIME`) or a signal (`EINTR`) is no failure: the caller does other work and comes back.
    ///
    /// With `--sqpoll` the kernel thread has taken our SQEs already, and the completion ring is
    /// memory we can read: completions there, or one less than 1 ms ago, mean no call at all
    /// (the caller reaps, or does other work and comes back); only a quiet ring is waited on,
    /// and so is one whose kernel thread must be woken.
    #[doc(alias = "io_uring_enter")]
    pub fn wait(&mut self, tr: &mut Tracer) -> Result<()> {
        let reap = !self.ring.completion().is_empty();
        // SQEs written while the kernel thread sleeps need it woken. With nothing to reap, the
        // wake-up also waits (below): the woken thread needs a CPU, and a loop of wake-ups
        // returning at once would take it from it on a busy machine.
        let asleep = {
            let sq = self.ring.submission();
            !sq.is_empty() && sq.need_wakeup()
        };
        if self.sqpoll && (reap || (self.busy.elapsed() < SQ_SPIN && !asleep)) {
            return self.enter(tr, 0).map(|_| ());
        }
        match self.enter(tr, 1) {
            Ok(_) | Err(Errno::TIME | Errno::INTR) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `io_uring_enter`, when one is needed: always without `--sqpoll`; with it, only to wait
    /// (`min_complete` > 0) or to wake a kernel thread that went to sleep
    /// (`IORING_SQ_NEED_WAKEUP` in the ring's flags → `IORING_ENTER_SQ_WAKEUP`). Returns how
    /// many SQEs went in.
    fn enter(&mut self, tr: &mut Tracer, min_complete: u32) -> Result<usize> {
        let to_submit = self.ring.submission().len();
        let wake = self.sqpoll && to_submit > 0 && self.ring.submission().need_wakeup();
        if self.sqpoll && min_complete == 0 && !wake {
            // The kernel thread is awake and polling the ring: it takes them itself.
            return Ok(to_submit);
        }
        let mut flags = EnterFlags::EXT_ARG;
        if min_complete > 0 {
            flags |= EnterFlags::GETEVENTS;
        }
        if wake {
            flags |= EnterFlags::SQ_WAKEUP;
        }
        let call = Call::new("io_uring_enter", Stage::Completion)
            .fd(self.fd)
            .args(format_args!(
                "to_submit={to_submit}, min_complete={min_complete}, timeout=1ms{}",
                if wake { ", IORING_ENTER_SQ_WAKEUP" } else { "" }
            ));
        let ts = types::Timespec::new().nsec(WAIT_NS);
        let wait = types::SubmitArgs::new().timespec(&ts);
        let start = tr.enter(&call);
        // SAFETY: the flags and counts are io_uring_enter(2)'s, `wait` is the EXT_ARG argument
        // it names (`struct io_uring_getevents_arg`, which `SubmitArgs` wraps), alive for the call.
        let r = unsafe {
            self.ring
                .submitter()
                .enter(to_submit as u32, min_complete, flags.bits(), Some(&wait))
        }
        .map_err(|e| errno(&e));
        let ready = self.ring.completion().len();
        let sqpoll = self.sqpoll;
        tr.record(
            call,
            start,
            &r,
            |_, _| (),
            |r: &Result<usize>| entered(r, ready, wake, sqpoll),
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
            flags: cqe.flags(),
        }));
        if !cqes.is_empty() {
            self.busy = std::time::Instant::now();
        }
    }

    /// Records a reaped CQE as an `op` line (`CQE key=K`): what it brought and the callback it
    /// goes to. `read` is what a receive left in its buffer.
    pub fn completed(&self, tr: &mut Tracer, cqe: Cqe, sqe: &Sqe, read: &[u8]) {
        let multi = matches!(sqe.what, What::AcceptMulti | What::RecvMulti);
        let call = Call::new(sqe.what.name(), Stage::Completion)
            .fd(sqe.fd)
            .args(format_args!(
                "CQE key={}{}{}",
                cqe.key,
                Shown(cqe.buffer().map(|b| format!(", buffer={b}"))),
                if multi && cqe.more() { ", F_MORE" } else { "" }
            ))
            .op();
        let port = match sqe.what {
            What::Accept if cqe.res >= 0 => peer_port(&self.peer.0),
            What::AcceptMulti if cqe.res >= 0 => self.accepted,
            _ => None,
        };
        let _ = tr.call_with(
            call,
            || cqe.result(),
            |_, ev| {
                ev.key = Some(cqe.key);
                ev.port = port;
            },
            |r: &Result<u32>| reaped(sqe, r, read, cqe),
        );
    }

    /// A CQE whose key the program does not hold: said, and otherwise ignored.
    pub fn unknown(tr: &mut Tracer, cqe: Cqe) {
        tr.info(|| crate::t!("uring-unknown-key", key = cqe.key.to_string()));
    }

    /// `close(ring)`: `IoUring`'s drop unmaps the rings' shared memory (`munmap`, the crate's
    /// own calls), then closes the descriptor.
    pub fn close(self, tr: &mut Tracer) {
        if self.sqpoll {
            self.sq_thread(tr);
        }
        let (fd, maps) = (self.fd, self.maps);
        drop(self.ring);
        for m in maps.unmapped() {
            crate_own(
                tr,
                Call::new("munmap", Stage::Teardown).args(format_args!("len={}", m.len)),
                Ok(0),
                || crate::t!("uring-munmap", what = m.what.to_string()),
            );
        }
        crate_own(
            tr,
            Call::new("close", Stage::Teardown).fd(fd),
            Ok(0),
            || crate::t!("uring-close"),
        );
    }
}

impl Ring {
    /// `--sqpoll`, at the end: the kernel thread's own CPU time, which no `getrusage` of ours
    /// counts. The ring's `/proc/self/fdinfo` entry names the thread (`SqThread`) and, since
    /// Linux 6.14, its CPU time in µs (`SqTotalTime`: on the CPU at all; `SqWorkTime`: of
    /// that, submitting). Read with `open`, one `read` and `close`; said in an info line.
    fn sq_thread(&self, tr: &mut Tracer) {
        let path = format!("/proc/self/fdinfo/{}", self.fd);
        // rustix's `open` is the `open` system call where the architecture has one (x86_64),
        // `openat` elsewhere.
        let name = if cfg!(target_arch = "x86_64") {
            "open"
        } else {
            "openat"
        };
        let call =
            Call::new(name, Stage::Teardown).args(format_args!("\"{path}\", O_RDONLY|O_CLOEXEC"));
        let opened = tr.call(
            call,
            || rustix::fs::open(&path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()),
            crate::msg!("uring-fdinfo-open"),
        );
        let Ok(file) = opened else { return };
        let mut buf = vec![0u8; 4096];
        let call = Call::new("read", Stage::Teardown)
            .fd(file.as_raw_fd())
            .args(format_args!("{}", buf.len()));
        let got = tr.call(
            call,
            || rustix::io::read(&file, &mut buf[..]),
            |r: &Result<usize>| match r {
                Ok(n) => crate::t!("uring-fdinfo-read", n = n.to_string()),
                Err(e) => failed(e),
            },
        );
        crate::sys::close(tr, file, crate::msg!("uring-fdinfo-close"));
        let text = String::from_utf8_lossy(&buf[..got.unwrap_or(0)]).into_owned();
        let field = |name: &str| -> Option<u64> {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|v| v.trim().parse().ok())
        };
        let (tid, total, work) = (field("SqThread"), field("SqTotalTime"), field("SqWorkTime"));
        tr.info_with(
            || match (tid, total) {
                (Some(tid), Some(total)) => crate::t!(
                    "uring-sq-cpu",
                    tid = tid.to_string(),
                    total = format!("{:.1}", total as f64 / 1000.0),
                    work = format!("{:.1}", work.unwrap_or(0) as f64 / 1000.0)
                ),
                (Some(tid), None) => crate::t!("uring-sq-tid", tid = tid.to_string()),
                _ => crate::t!("uring-sq-none"),
            },
            |ev| {
                let mut fields = serde_json::Map::new();
                for (name, v) in [
                    ("sq_thread", tid),
                    ("sq_cpu_us", total),
                    ("sq_work_us", work),
                ] {
                    if let Some(v) = v {
                        fields.insert(name.into(), v.into());
                    }
                }
                ev.fields = Some(fields);
            },
        );
    }
}

/// One of the ring's mappings: where in the ring's "file" it starts and how long it is.
#[derive(Clone, Copy)]
struct Map {
    /// `IORING_OFF_SQ_RING`, `IORING_OFF_CQ_RING` or `IORING_OFF_SQES`.
    offset: &'static str,
    len: usize,
    what: crate::lang::Msg,
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
            what: crate::msg!("uring-map-sqes"),
        };
        let single = p.features.contains(IoringFeatureFlags::SINGLE_MMAP);
        let (sq, cq) = if single {
            let both = Map {
                offset: "IORING_OFF_SQ_RING",
                len: sq_len.max(cq_len),
                what: crate::msg!("uring-map-rings"),
            };
            (both, None)
        } else {
            let sq = Map {
                offset: "IORING_OFF_SQ_RING",
                len: sq_len,
                what: crate::msg!("uring-map-sq"),
            };
            let cq = Map {
                offset: "IORING_OFF_CQ_RING",
                len: cq_len,
                what: crate::msg!("uring-map-cq"),
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
            "IORING_OFF_SQES" => crate::t!("uring-map-why-sqes", n = self.sq_entries.to_string()),
            "IORING_OFF_CQ_RING" => {
                crate::t!("uring-map-why-cq", n = self.cq_entries.to_string())
            }
            _ if self.cq.is_none() => crate::t!(
                "uring-map-why-single",
                sq = self.sq_entries.to_string(),
                cq = self.cq_entries.to_string()
            ),
            _ => crate::t!("uring-map-why-sq", n = self.sq_entries.to_string()),
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
fn entered(r: &Result<usize>, ready: usize, woke: bool, sqpoll: bool) -> String {
    match r {
        Ok(n) if woke => crate::t!(
            "uring-enter-woke",
            n = n.to_string(),
            sqes = *n,
            ready = ready.to_string(),
            cqes = ready
        ),
        Ok(_) if sqpoll => crate::t!(
            "uring-enter-sqpoll",
            ready = ready.to_string(),
            cqes = ready
        ),
        Ok(n) => crate::t!(
            "uring-enter",
            n = n.to_string(),
            sqes = *n,
            ready = ready.to_string(),
            cqes = ready
        ),
        Err(Errno::TIME) => crate::t!("uring-enter-timeout"),
        Err(e) => failed(e),
    }
}

/// The gloss of a CQE: what the kernel did for us, and which callback runs.
fn reaped(sqe: &Sqe, r: &Result<u32>, read: &[u8], cqe: Cqe) -> String {
    let what = sqe.what;
    let armed = || {
        if cqe.more() {
            crate::t!("uring-armed-more")
        } else {
            crate::t!("uring-armed-last")
        }
    };
    match (what, r) {
        (What::AcceptMulti, Ok(fd)) => {
            crate::t!(
                "uring-cqe-accept-multi",
                fd = fd.to_string(),
                armed = armed()
            )
        }
        (What::RecvMulti, Ok(0)) => crate::t!("uring-cqe-fin-multi", armed = armed()),
        (What::RecvMulti, Ok(n)) => crate::t!(
            "uring-cqe-recv-multi",
            buffer = cqe.buffer().map_or("?".into(), |b| b.to_string()),
            n = n.to_string(),
            shown = escape(read, 32),
            armed = armed()
        ),
        (What::RecvMulti, Err(Errno::NOBUFS)) => crate::t!("uring-cqe-nobufs"),
        (What::AcceptMulti | What::RecvMulti, Err(Errno::CANCELED)) => {
            crate::t!("uring-cqe-cancelled-multi", armed = armed())
        }
        (What::Accept, Ok(fd)) => crate::t!("uring-cqe-accept", fd = fd.to_string()),
        (What::Recv, Ok(0)) => crate::t!("uring-cqe-fin"),
        (What::Recv, Ok(n)) => crate::t!(
            "uring-cqe-recv",
            n = n.to_string(),
            shown = escape(read, 32)
        ),
        (What::Send, Ok(n)) => crate::t!("uring-cqe-send", n = n.to_string(), then = sqe.then),
        (What::Cancel, Ok(_)) => crate::t!("uring-cqe-cancel"),
        (_, Err(Errno::CANCELED)) => crate::t!("uring-cqe-cancelled"),
        (What::Cancel, Err(Errno::NOENT | Errno::ALREADY)) => crate::t!("uring-cqe-too-late"),
        (What::Accept | What::AcceptMulti, Err(Errno::INVAL)) => crate::t!("uring-cqe-shut"),
        (_, Err(e)) => failed(e),
    }
}

/// `failed: …`, a failed call's gloss.
fn failed(e: &Errno) -> String {
    crate::t!("kqueue-failed", why = std::io::Error::from(*e).to_string())
}

/// An optional piece of text, shown only when there (`format_args!` takes it as it is).
struct Shown(Option<String>);

impl Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.0.as_deref().unwrap_or(""))
    }
}

/// A peer's address as `getpeername` found it (`None`: the socket has none, e.g. not IP).
struct Peer(Option<rustix::net::SocketAddrAny>);

impl Peer {
    fn port(&self) -> Option<u16> {
        let addr = self.0.as_ref()?;
        std::net::SocketAddr::try_from(addr.clone())
            .ok()
            .map(|a| a.port())
    }
}

impl crate::trace::Ret for Peer {
    fn ret(&self) -> i64 {
        0
    }
}

/// `--multishot`: the ring of provided buffers (`IORING_REGISTER_PBUF_RING`, Linux 5.19).
/// Its entries live in page-aligned memory of ours that the kernel reads: each names a buffer
/// of the pool (address, length, id). The kernel takes the next one whenever a multishot recv
/// has data; we hand a buffer back, once echoed, by writing its entry at the tail and moving
/// the tail (a memory store, no system call).
pub struct Buffers {
    ring: std::ptr::NonNull<types::BufRingEntry>,
    layout: std::alloc::Layout,
    pool: Box<[u8]>,
    /// Bytes a buffer holds (the read size).
    pub size: usize,
    /// Entries in the ring (a power of two), one per buffer.
    count: u16,
    tail: u16,
}

impl Buffers {
    /// `io_uring_register(ring, IORING_REGISTER_PBUF_RING, {ring_entries=N, bgid=0}, 1)`: `count`
    /// buffers of `size` bytes, all in the ring at first.
    #[doc(alias = "io_uring_register_buf_ring")]
    pub fn register(ring: &Ring, tr: &mut Tracer, count: u16, size: usize) -> Result<Buffers> {
        let bytes = count as usize * std::mem::size_of::<types::BufRingEntry>();
        let layout = std::alloc::Layout::from_size_align(bytes, 4096).map_err(|_| Errno::INVAL)?;
        // SAFETY: the layout is not zero-sized (count > 0); zeroed entries are valid ones.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<types::BufRingEntry>();
        let ring_ptr = std::ptr::NonNull::new(ptr).ok_or(Errno::NOMEM)?;
        let mut bufs = Buffers {
            ring: ring_ptr,
            layout,
            pool: vec![0; count as usize * size].into_boxed_slice(),
            size,
            count,
            tail: 0,
        };
        for bid in 0..count {
            bufs.give_back(bid);
        }
        let call = Call::new("io_uring_register", Stage::Setup)
            .fd(ring.fd)
            .args(format_args!(
                "IORING_REGISTER_PBUF_RING, {{ring_entries={count}, bgid={BGID}}}, 1"
            ));
        tr.call(
            call,
            // SAFETY: the entries stay where they are, unmoved, until the ring is closed
            // (`Ring::close` drops these after the ring); each names a buffer of the pool.
            || unsafe {
                ring.ring
                    .submitter()
                    .register_buf_ring_with_flags(ptr as u64, count, BGID, 0)
                    .map_err(|e| errno(&e))
            },
            |r: &Result<()>| match r {
                Ok(()) => crate::t!(
                    "uring-register",
                    count = count.to_string(),
                    size = size.to_string()
                ),
                Err(e) => failed(e),
            },
        )?;
        Ok(bufs)
    }

    /// What the kernel left in buffer `bid`: its first `len` bytes.
    pub fn data(&self, bid: u16, len: usize) -> &[u8] {
        let at = bid as usize * self.size;
        &self.pool[at..at + len.min(self.size)]
    }

    /// Buffer `bid` goes back into the ring: its entry at the tail, then the tail moved.
    pub fn give_back(&mut self, bid: u16) {
        let at = bid as usize * self.size;
        let addr = self.pool[at..].as_ptr() as u64;
        let slot = (self.tail & (self.count - 1)) as usize;
        // SAFETY: `slot` < count, inside the ring's allocation; the kernel reads an entry
        // only once the tail has passed it, and this one it has not.
        let entry = unsafe { &mut *self.ring.as_ptr().add(slot) };
        entry.set_addr(addr);
        entry.set_len(self.size as u32);
        entry.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
        // SAFETY: the tail is the u16 the kernel reads at the ring's start (the crate knows
        // where); a release store publishes the entry written above before the new tail.
        unsafe {
            let tail = types::BufRingEntry::tail(self.ring.as_ptr()) as *const AtomicU16;
            (*tail).store(self.tail, Ordering::Release);
        }
    }

    /// `io_uring_register(ring, IORING_UNREGISTER_PBUF_RING, {bgid=0}, 1)`: the kernel lets go
    /// of the buffers (every recv that used them has completed).
    pub fn unregister(self, ring: &Ring, tr: &mut Tracer) {
        let call = Call::new("io_uring_register", Stage::Teardown)
            .fd(ring.fd)
            .args(format_args!(
                "IORING_UNREGISTER_PBUF_RING, {{bgid={BGID}}}, 1"
            ));
        let _ = tr.call(
            call,
            || {
                ring.ring
                    .submitter()
                    .unregister_buf_ring(BGID)
                    .map_err(|e| errno(&e))
            },
            crate::msg!("uring-unregister"),
        );
    }
}

impl Drop for Buffers {
    fn drop(&mut self) {
        // SAFETY: allocated in `register` with this layout, and freed once.
        unsafe { std::alloc::dealloc(self.ring.as_ptr().cast(), self.layout) };
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
