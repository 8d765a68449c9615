//! Completion-based I/O with io_uring (UNP figure 6.5): hand the kernel the whole operation,
//! buffer and all, and be told when it is done.
//!
//! A `recv` submitted to the ring waits for data *and* copies it into the buffer we gave: the
//! process never asks "is it ready?" and never calls recv. What it gets back is a completion — a
//! key and a result — not readiness. The interface is asynchronous; the CPU work is not all the
//! kernel's own: with `IORING_SETUP_DEFER_TASKRUN` the copy runs as task work on this thread,
//! inside the `io_uring_enter` that collects completions (`--kernel` shows it). The loop is four steps (the same as Windows
//! IOCP's `CreateIoCompletionPort` / `WSARecv` / `GetQueuedCompletionStatus`):
//!
//! 1. **make a key** (the SQE's `user_data`) and map it to a callback, in a table the program owns;
//! 2. **submit** the operation with that key (an SQE in the submission ring, handed to the kernel
//!    by the next `io_uring_enter`);
//! 3. **wait** for completions in `io_uring_enter`, doing other work whenever 1 ms passes without one;
//! 4. **look the key up** in each completion (CQE) and call its callback: `on_accepted` submits a
//!    recv, `on_received` a send, `on_sent` the next recv (or the rest of a short send).
//!
//! Where the threads model keeps each connection's state on a thread's stack, here it lives in
//! the key → callback table and the per-connection buffers the kernel is filling: one thread,
//! and the program does the scheduling the kernel did for the threads.
//!
//! The table and the connections' slots are the completion models' shared scaffold
//! (`completion.rs`); the ring's calls, and what the trace says of each, are in
//! `crate::sys::uring`.
//!
//! The trace shows the real system calls (`io_uring_setup`, `io_uring_enter` with how many SQEs
//! went in and what it returned) and, as `op` lines, each SQE submitted and each CQE reaped;
//! those are not system calls: the rings are memory shared with the kernel.
//!
//! See io_uring(7), io_uring_setup(2), io_uring_enter(2), io_uring_prep_recv(3),
//! io_uring_prep_accept(3), io_uring_prep_cancel(3).

use super::{Kind, Model, Serve};
use crate::trace::summary::Summary;

pub const MODEL: Model = Model {
    name: "uring",
    summary: "io_uring: submit accept/recv/send with a key; the kernel completes them, data and all",
    kind: Kind::Completion,
    figure: "6.5",
    platforms: "Linux 5.11+",
    serve: SERVE,
    instead: super::here("", "kqueue", "iocp"),
    state: "a key → callback table the program owns (io_uring user_data), not thread stacks",
    told: "a completion",
    notice,
    examples: &[
        "iomodels uring                         SQEs submitted, CQEs reaped: the kernel copies",
        "iomodels uring --format json           each op with the key tying it to its submission",
        "iomodels uring --multishot             one accept SQE, one recv SQE per connection: many CQEs each",
        "iomodels uring --sqpoll                a kernel thread takes the SQEs: (almost) no system calls",
    ],
};

/// The server loop, where this OS has io_uring.
#[cfg(target_os = "linux")]
const SERVE: Option<Serve> = Some(server::serve);
#[cfg(not(target_os = "linux"))]
const SERVE: Option<Serve> = None;

#[cfg(target_os = "linux")]
mod server {
    use crate::lang::Msg;
    use crate::models::Refused;
    use crate::models::completion::{Held, Op, Ops, Touched};
    use crate::server::Server;
    use crate::sys::uring::{Cqe, Ring, Sqe};
    use crate::trace::Tracer;
    use anyhow::Context;
    use rustix::fd::{FromRawFd, OwnedFd};
    use rustix::io::Errno;
    use std::time::{Duration, Instant};

    // ANCHOR: table
    /// Everything the loop owns: the ring, and step 1's table of keys (`user_data`) with the
    /// connections whose operations are in flight.
    struct Loop {
        ring: Ring,
        /// Key → the callback it stands for ([`Op`]), and what its SQE asked for.
        ops: Ops<u64, Sqe>,
        /// Out of descriptors with nobody waiting: the next accept is submitted at this time (an
        /// accept submitted at once would fail at once with EMFILE, for ever).
        accept_paused: Option<Instant>,
        /// The completions of one reap, kept to be reused.
        cqes: Vec<Cqe>,
    }

    /// Step 4's other half: the callback a key stands for, run with its completion's result.
    fn call_back(
        lp: &mut Loop,
        srv: &mut Server,
        op: Op,
        res: Result<u32, Errno>,
    ) -> anyhow::Result<()> {
        match op {
            Op::Accept(()) => on_accepted(lp, srv, res),
            Op::Recv(held) => on_received(lp, srv, held, res),
            Op::Send(held) => on_sent(lp, srv, held, res),
            Op::Deliver(slot) => {
                on_delivered(lp, srv, slot, res);
                Ok(())
            }
            // The cancelled operation reports under its own key.
            Op::Cancel => Ok(()),
        }
    }
    // ANCHOR_END: table

    // ANCHOR: serve
    /// Set up a ring, submit an accept, then wait → look up → call back until the run is over and
    /// every key has completed.
    #[doc(alias = "io_uring_setup")]
    #[doc(alias = "io_uring_enter")]
    #[doc(alias = "IORING_OP_RECV")]
    #[doc(alias = "user_data")]
    pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
        if srv.knobs.multishot {
            return super::multishot::serve(srv);
        }
        let mut lp = Loop::new(&mut srv.tr, srv.knobs.sqpoll)?;
        lp.submit_accept(srv);
        while !lp.ops.is_empty() || lp.accept_paused.is_some() {
            // The run's end reaches an accept in flight as EINVAL (the listener is shut down);
            // only while accepts are paused (out of descriptors) must the stop flag tell us.
            if srv.stopping() && lp.accept_paused.is_some() && !lp.ops.stopping() {
                lp.cancel_all(&mut srv.tr);
            }
            lp.resume_accept(srv);
            // Step 3: hand the kernel our SQEs and wait (at most 1 ms) for a completion.
            lp.ring
                .wait(&mut srv.tr)
                .with_context(|| crate::t!("err-failed", call = "io_uring_enter"))?;
            // Step 4: each completion's key says which callback to run.
            if lp.reap(srv)? == 0 {
                srv.tr.work(&mut srv.work);
            }
        }
        lp.ring.close(&mut srv.tr);
        Ok(())
    }
    // ANCHOR_END: serve

    /// `io_uring_setup`: the two rings, shared with the kernel. A kernel that refuses io_uring
    /// (`ENOSYS`: too old or built without it; `EPERM`: disabled by `kernel.io_uring_disabled`
    /// or a seccomp policy) or `--sqpoll` ends the run with exit code 2.
    pub(super) fn ring(tr: &mut Tracer, sqpoll: bool) -> anyhow::Result<Ring> {
        let ring = Ring::setup(tr, sqpoll).map_err(|e| {
            let instead = if sqpoll { "uring" } else { "nonblocking" };
            Refused(crate::t!(
                "uring-refused",
                sqpoll = if sqpoll { " --sqpoll" } else { "" },
                why = e.to_string(),
                instead = instead
            ))
        })?;
        Ok(ring)
    }

    impl Loop {
        fn new(tr: &mut Tracer, sqpoll: bool) -> anyhow::Result<Loop> {
            Ok(Loop {
                ring: ring(tr, sqpoll)?,
                ops: Ops::new(),
                accept_paused: None,
                cqes: Vec::new(),
            })
        }

        /// Steps 1 and 2 for the next connection: an accept SQE, its key mapped to `on_accepted`.
        fn submit_accept(&mut self, srv: &mut Server) {
            // SAFETY: no accept is submitted before this one completes (it is resubmitted only
            // by `on_accepted`, or after a pause when none is in flight).
            let (key, sqe) = unsafe { self.ring.accept(&mut srv.tr, &srv.listener) };
            self.ops.start(key, Op::Accept(()), sqe);
        }

        /// Submits the accept that EMFILE put off, once its time has come.
        fn resume_accept(&mut self, srv: &mut Server) {
            match self.accept_paused {
                Some(_) if self.ops.stopping() => self.accept_paused = None,
                Some(t) if Instant::now() >= t => {
                    self.accept_paused = None;
                    self.submit_accept(srv);
                }
                _ => {}
            }
        }

        /// A recv into the connection's buffer, its key mapped to `on_received`.
        fn submit_recv(&mut self, tr: &mut Tracer, mut held: Held) {
            // SAFETY: the buffer is this connection's, parked with the key below until its CQE is
            // reaped; its heap memory does not move.
            let (key, sqe) = unsafe { self.ring.recv(tr, held.conn.raw(), held.conn.read_buf()) };
            self.ops.start(key, Op::Recv(held), sqe);
        }

        /// A send of what is left to echo, its key mapped to `on_sent`.
        fn submit_send(&mut self, tr: &mut Tracer, mut held: Held) {
            let verb = if held.conn.chat() { "deliver" } else { "echo" };
            // SAFETY: nothing is read into this connection's echo queue until the send completes
            // (it is parked with the key below), so the slice stays where it is.
            let (key, sqe) = unsafe {
                self.ring
                    .send(tr, held.conn.raw(), held.conn.unsent(), verb)
            };
            self.ops.start(key, Op::Send(held), sqe);
        }

        /// A chat: the room's lines for the connection in `slot`, sent while it stays parked
        /// under its receive; the key is mapped to `on_delivered`.
        fn submit_delivery(&mut self, tr: &mut Tracer, slot: usize) {
            let Some((conn, _, true)) = self.ops.parked(slot) else {
                return;
            };
            // SAFETY: `unsent` is the connection's own queue, which changes only when a send of
            // it completes (new lines wait in the mailbox); the connection closes only once this
            // key is reaped (`Ops::rest`), so the bytes stay where they are until then.
            let (key, sqe) = unsafe { self.ring.send(tr, conn.raw(), conn.unsent(), "deliver") };
            self.ops.start(key, Op::Deliver(slot), sqe);
        }

        /// The run is over: ask the kernel to cancel every operation still in flight.
        fn cancel_all(&mut self, tr: &mut Tracer) {
            let targets: Vec<u64> = self.ops.stop().map(|(key, _)| key).collect();
            for target in targets {
                self.cancel(tr, target, crate::msg!("uring-cancel-run-over"));
            }
        }

        fn cancel(&mut self, tr: &mut Tracer, target: u64, why: Msg) {
            let (key, sqe) = self.ring.cancel(tr, target, why);
            self.ops.start(key, Op::Cancel, sqe);
        }

        /// A chat: each connection the room queued lines for (or dropped) since the last
        /// completion. One with no send in flight gets one (the fan-out: one recv's CQE, then a
        /// send SQE per member); a dropped one has its operations cancelled, and closes when
        /// the last of them completes.
        fn fan_out(&mut self, srv: &mut Server) {
            for fd in srv.touched() {
                match self.ops.touched(fd) {
                    Some(Touched::Deliver(slot)) => self.submit_delivery(&mut srv.tr, slot),
                    Some(Touched::Cancel(ops)) => {
                        let targets: Vec<u64> = ops.into_iter().map(|(key, _)| key).collect();
                        let why = crate::msg!("uring-cancel-dropped");
                        for target in targets {
                            self.cancel(&mut srv.tr, target, why);
                        }
                    }
                    // Parked under a send: its completion sends what came since.
                    None => {}
                }
            }
        }

        /// A connection whose receive is over: it sends what is left for it, waits under its
        /// chat send still in flight, or closes.
        fn read_no_more(&mut self, srv: &mut Server, held: Held, note: Msg) {
            let Some(held) = self.ops.rest(held) else {
                return;
            };
            let conn = &held.conn;
            if conn.eof && !conn.dropped() && conn.wants_write() && !self.ops.stopping() {
                self.submit_send(&mut srv.tr, held);
            } else {
                self.ops.close(&mut srv.tr, held, note);
            }
        }

        /// Reads every completion from the ring and calls back. Returns how many there were.
        fn reap(&mut self, srv: &mut Server) -> anyhow::Result<usize> {
            // Copied out first: the callbacks need the ring to submit. (The Vec is reused.)
            let mut cqes = std::mem::take(&mut self.cqes);
            self.ring.reap(&mut cqes);
            for &cqe in &cqes {
                // Step 4: look the key up; the entry leaves the table, its callback runs.
                let Some((op, sqe)) = self.ops.finish(cqe.key) else {
                    Ring::unknown(&mut srv.tr, cqe);
                    continue;
                };
                self.ring
                    .completed(&mut srv.tr, cqe, &sqe, op.received(cqe.result()));
                call_back(self, srv, op, cqe.result())?;
                self.fan_out(srv);
            }
            let n = cqes.len();
            self.cqes = cqes;
            Ok(n)
        }
    }

    // ANCHOR: callbacks
    /// The accept completed: a new connection (submit its first recv), then accept the next.
    fn on_accepted(lp: &mut Loop, srv: &mut Server, res: Result<u32, Errno>) -> anyhow::Result<()> {
        match res {
            Ok(fd) => {
                // SAFETY: the kernel gave us this new descriptor; nothing else owns it.
                let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
                let Some(conn) = srv.admit(fd) else {
                    // Past --max-conns: refused and closed; accept the next one.
                    if !lp.ops.stopping() {
                        lp.submit_accept(srv);
                    }
                    return Ok(());
                };
                let held = lp.ops.open(conn);
                if lp.ops.stopping() {
                    lp.ops
                        .close(&mut srv.tr, held, crate::msg!("models-run-over"));
                    return Ok(());
                }
                lp.submit_recv(&mut srv.tr, held);
            }
            Err(Errno::INVAL | Errno::CANCELED) => {
                // The harness shut the listener down (or we cancelled the accept): wind down.
                if !lp.ops.stopping() {
                    lp.cancel_all(&mut srv.tr);
                }
                return Ok(());
            }
            Err(Errno::CONNABORTED | Errno::INTR) => {}
            // EMFILE and friends: the shared accept path makes room and refuses the client.
            Err(e) => match srv.out_of_descriptors(e, false) {
                Errno::CONNABORTED => {}
                Errno::AGAIN => {
                    lp.accept_paused = Some(Instant::now() + Duration::from_millis(20));
                    srv.tr.info(crate::msg!("uring-accept-later"));
                    return Ok(());
                }
                Errno::INVAL => {
                    if !lp.ops.stopping() {
                        lp.cancel_all(&mut srv.tr);
                    }
                    return Ok(());
                }
                e => {
                    return Err(
                        anyhow::Error::from(e).context(crate::t!("err-failed", call = "accept"))
                    );
                }
            },
        }
        if !lp.ops.stopping() {
            lp.submit_accept(srv);
        }
        Ok(())
    }

    /// A recv completed: the bytes are already in the connection's buffer. Echo them (a chat:
    /// the room queues them for the others, and `fan_out` sends), or close on EOF, error or
    /// cancellation.
    fn on_received(
        lp: &mut Loop,
        srv: &mut Server,
        mut held: Held,
        res: Result<u32, Errno>,
    ) -> anyhow::Result<()> {
        let done = crate::msg!("completion-done");
        match res {
            Ok(n) if n > 0 && held.conn.chat() => {
                held.conn.received(&mut srv.tr, n as usize);
                if lp.ops.stopping() {
                    lp.read_no_more(srv, held, crate::msg!("models-run-over"));
                } else if held.conn.eof || held.conn.dropped() {
                    // `quit`, or gone from the room: no more reading.
                    lp.read_no_more(srv, held, done);
                } else {
                    lp.submit_recv(&mut srv.tr, held);
                }
            }
            Ok(n) if n > 0 => {
                held.conn.received(&mut srv.tr, n as usize);
                lp.submit_send(&mut srv.tr, held);
            }
            Ok(_) => {
                held.conn.hung_up(&mut srv.tr);
                lp.read_no_more(srv, held, done);
            }
            Err(Errno::CANCELED) if lp.ops.stopping() => {
                lp.read_no_more(srv, held, crate::msg!("models-run-over"))
            }
            Err(_) => lp.read_no_more(srv, held, crate::msg!("models-conn-failed")),
        }
        Ok(())
    }

    /// A send completed: submit the rest of a short send (or, in a chat, what was queued
    /// since), or the next recv; or close, once everything is sent and the client is done.
    fn on_sent(
        lp: &mut Loop,
        srv: &mut Server,
        mut held: Held,
        res: Result<u32, Errno>,
    ) -> anyhow::Result<()> {
        match res {
            Ok(n) => {
                let done = held.conn.mark_sent(n as usize);
                if lp.ops.stopping() {
                    lp.ops
                        .close(&mut srv.tr, held, crate::msg!("models-run-over"));
                } else if held.conn.dropped() {
                    lp.ops
                        .close(&mut srv.tr, held, crate::msg!("completion-dropped"));
                } else if !done || held.conn.wants_write() {
                    // A short send: the kernel took part; submit the rest.
                    lp.submit_send(&mut srv.tr, held);
                } else if held.conn.finished() {
                    let note = crate::msg!("completion-done");
                    lp.ops.close(&mut srv.tr, held, note);
                } else {
                    lp.submit_recv(&mut srv.tr, held);
                }
            }
            Err(Errno::CANCELED) => lp
                .ops
                .close(&mut srv.tr, held, crate::msg!("models-run-over")),
            Err(_) => lp
                .ops
                .close(&mut srv.tr, held, crate::msg!("models-conn-failed")),
        }
        Ok(())
    }

    /// A chat's send beside a receive completed: send the rest, or what was queued since. A
    /// failed one cancels the receive, whose completion closes the connection.
    fn on_delivered(lp: &mut Loop, srv: &mut Server, slot: usize, res: Result<u32, Errno>) {
        let stopping = lp.ops.stopping();
        let Some((conn, parked, _)) = lp.ops.parked(slot) else {
            return;
        };
        match res {
            Ok(n) => {
                conn.mark_sent(n as usize);
                if !stopping && !conn.dropped() && conn.wants_write() {
                    lp.submit_delivery(&mut srv.tr, slot);
                }
            }
            Err(Errno::CANCELED) => {}
            Err(_) if stopping => {}
            Err(_) => {
                let why = crate::msg!("uring-cancel-send-failed");
                lp.cancel(&mut srv.tr, parked, why);
            }
        }
    }
    // ANCHOR_END: callbacks
}

/// `--multishot`: one accept SQE for every connection, one recv SQE per connection for all its
/// data, into buffers the kernel picks from a ring we lend it; each echo is sent straight from
/// the buffer the data arrived in, which goes back to the ring once sent.
///
/// A connection may then have two operations in flight at once (its recv, always armed, and a
/// send), so it is not parked under one key as in the one-shot loop: it keeps its slot here,
/// and each key names the slot it serves. Received buffers wait in the connection's queue, in
/// order, until echoed. The recv stays armed while `F_MORE` says so; it is re-armed when it
/// ended (no buffers left: `ENOBUFS`), and cancelled while the connection's queue is full (a
/// client that does not read its echo), to be re-armed once it drains. A chat's lines go to
/// the room as they arrive (the buffer straight back to the ring); what the room queues for a
/// member is sent from its own queue, one send at a time.
#[cfg(target_os = "linux")]
mod multishot {
    use crate::echo::Conn;
    use crate::server::Server;
    use crate::sys::uring::{Buffers, Cqe, Ring, Sqe};
    use crate::trace::Tracer;
    use anyhow::Context;
    use rustix::fd::{FromRawFd, OwnedFd};
    use rustix::io::Errno;
    use std::collections::{BTreeMap, VecDeque};
    use std::time::{Duration, Instant};

    /// What a key stands for: the accept, or a connection's (by slot) recv or send.
    #[derive(Clone, Copy)]
    enum Key {
        Accept,
        Recv(usize),
        Send(usize),
        Cancel,
    }

    /// A connection's multishot recv.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Armed {
        /// In flight under this key.
        Yes(u64),
        /// We asked the kernel to cancel it; its last CQE is still to come.
        Cancelling(u64),
        /// Not in flight (ended, or cancelled for backpressure).
        No,
    }

    /// One connection, and the buffers it received that are not echoed yet.
    struct Link {
        conn: Conn,
        recv: Armed,
        /// The key of the send in flight, if any (one at a time keeps the echo in order).
        send: Option<u64>,
        /// A chat member dropped with a send in flight: that send is being cancelled (it would
        /// wait for ever on a client that does not read).
        send_cancelled: bool,
        /// Received buffers to echo, in order: (buffer id, sent so far, length).
        queue: VecDeque<(u16, usize, usize)>,
        queued: usize,
        failed: bool,
    }

    struct Loop {
        ring: Ring,
        bufs: Buffers,
        /// Buffers in the ring, for the kernel to take.
        free: usize,
        keys: BTreeMap<u64, (Key, Sqe)>,
        links: Vec<Option<Link>>,
        /// The multishot accept's key, while it is armed.
        accept: Option<u64>,
        accept_paused: Option<Instant>,
        stopping: bool,
        cqes: Vec<Cqe>,
    }

    pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
        let ring = super::server::ring(&mut srv.tr, srv.knobs.sqpoll)?;
        let size = srv.knobs.read_size.max(1);
        // Enough buffers for every connection's next message, and for one full backlog.
        let want = (2 * srv.knobs.max_pending / size).clamp(1024, 32768);
        let count = want.next_power_of_two().min(32768) as u16;
        let bufs = match Buffers::register(&ring, &mut srv.tr, count, size) {
            Ok(b) => b,
            Err(e) => {
                ring.close(&mut srv.tr);
                return Err(crate::models::Refused(crate::t!(
                    "uring-multishot-refused",
                    why = std::io::Error::from(e).to_string()
                ))
                .into());
            }
        };
        let mut lp = Loop {
            ring,
            free: count as usize,
            bufs,
            keys: BTreeMap::new(),
            links: Vec::new(),
            accept: None,
            accept_paused: None,
            stopping: false,
            cqes: Vec::new(),
        };
        srv.reserve_spare(&crate::t!("uring-multishot-reserve"));
        lp.arm_accept(srv);
        while !lp.keys.is_empty() || lp.accept_paused.is_some() {
            if srv.stopping() && !lp.stopping {
                lp.stop(srv);
            }
            lp.resume_accept(srv);
            lp.ring
                .wait(&mut srv.tr)
                .with_context(|| crate::t!("err-failed", call = "io_uring_enter"))?;
            if lp.reap(srv)? == 0 {
                srv.tr.work(&mut srv.work);
            }
        }
        let Loop { ring, bufs, .. } = lp;
        bufs.unregister(&ring, &mut srv.tr);
        ring.close(&mut srv.tr);
        Ok(())
    }

    impl Loop {
        fn arm_accept(&mut self, srv: &mut Server) {
            let (key, sqe) = self.ring.accept_multi(&mut srv.tr, &srv.listener);
            self.keys.insert(key, (Key::Accept, sqe));
            self.accept = Some(key);
        }

        fn resume_accept(&mut self, srv: &mut Server) {
            match self.accept_paused {
                Some(_) if self.stopping => self.accept_paused = None,
                Some(t) if Instant::now() >= t => {
                    self.accept_paused = None;
                    self.arm_accept(srv);
                }
                _ => {}
            }
        }

        fn cancel(&mut self, tr: &mut Tracer, target: u64) {
            let (key, sqe) = self
                .ring
                .cancel(tr, target, crate::msg!("uring-cancel-run-over"));
            self.keys.insert(key, (Key::Cancel, sqe));
        }

        /// The run is over: cancel the accept and every connection's recv; sends finish.
        fn stop(&mut self, srv: &mut Server) {
            self.stopping = true;
            if let Some(key) = self.accept {
                self.cancel(&mut srv.tr, key);
            }
            for slot in 0..self.links.len() {
                self.settle(srv, slot);
            }
        }

        fn reap(&mut self, srv: &mut Server) -> anyhow::Result<usize> {
            let mut cqes = std::mem::take(&mut self.cqes);
            self.ring.reap(&mut cqes);
            for &cqe in &cqes {
                // A CQE with F_MORE leaves its key in flight; the last one takes it out.
                let found = if cqe.more() {
                    self.keys.get(&cqe.key).copied()
                } else {
                    self.keys.remove(&cqe.key)
                };
                let Some((key, sqe)) = found else {
                    Ring::unknown(&mut srv.tr, cqe);
                    continue;
                };
                if let (Key::Accept, Ok(fd)) = (key, cqe.result()) {
                    self.ring.peer(&mut srv.tr, fd as i32);
                }
                let read = match (key, cqe.buffer(), cqe.result()) {
                    (Key::Recv(_), Some(bid), Ok(n)) => self.bufs.data(bid, n as usize),
                    _ => &[],
                };
                self.ring.completed(&mut srv.tr, cqe, &sqe, read);
                match key {
                    Key::Accept => self.on_accepted(srv, cqe)?,
                    Key::Recv(slot) => self.on_received(srv, slot, cqe),
                    Key::Send(slot) => self.on_sent(srv, slot, cqe),
                    Key::Cancel => {}
                }
                // A chat: the members the room queued lines for (or dropped) send (or close).
                for fd in srv.touched() {
                    let at = |l: &Option<Link>| l.as_ref().is_some_and(|l| l.conn.raw() == fd);
                    if let Some(slot) = self.links.iter().position(at) {
                        self.settle(srv, slot);
                    }
                }
            }
            let n = cqes.len();
            self.cqes = cqes;
            Ok(n)
        }

        /// A connection from the multishot accept (or its end).
        fn on_accepted(&mut self, srv: &mut Server, cqe: Cqe) -> anyhow::Result<()> {
            if !cqe.more() {
                self.accept = None;
            }
            match cqe.result() {
                Ok(fd) => {
                    // SAFETY: the kernel gave us this new descriptor; nothing else owns it.
                    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
                    if let Some(conn) = srv.admit(fd) {
                        let slot = self.open(conn);
                        self.settle(srv, slot);
                    }
                }
                Err(Errno::INVAL | Errno::CANCELED) => {
                    // The harness shut the listener down (or we cancelled the accept).
                    if !self.stopping {
                        self.stop(srv);
                    }
                    return Ok(());
                }
                Err(Errno::CONNABORTED | Errno::INTR) => {}
                Err(e) => match srv.out_of_descriptors(e, false) {
                    Errno::CONNABORTED => {}
                    Errno::AGAIN => {
                        if let Some(key) = self.accept {
                            self.cancel(&mut srv.tr, key);
                        }
                        self.accept_paused = Some(Instant::now() + Duration::from_millis(20));
                        srv.tr.info(crate::msg!("uring-multishot-accept-later"));
                        return Ok(());
                    }
                    Errno::INVAL => {
                        if !self.stopping {
                            self.stop(srv);
                        }
                        return Ok(());
                    }
                    e => {
                        return Err(anyhow::Error::from(e)
                            .context(crate::t!("err-failed", call = "accept")));
                    }
                },
            }
            if self.accept.is_none() && self.accept_paused.is_none() && !self.stopping {
                self.arm_accept(srv);
            }
            Ok(())
        }

        /// Data in a buffer the kernel picked (queued for the echo), the client's FIN, or the
        /// recv's end.
        fn on_received(&mut self, srv: &mut Server, slot: usize, cqe: Cqe) {
            let Some(link) = self.links.get_mut(slot).and_then(Option::as_mut) else {
                return;
            };
            if !cqe.more() {
                link.recv = Armed::No;
            }
            match (cqe.result(), cqe.buffer()) {
                (Ok(n), Some(bid)) if n > 0 && link.conn.chat() => {
                    // A chat: the lines go to the room (the others' mailboxes) and the buffer
                    // straight back to the ring.
                    link.conn
                        .heard(&mut srv.tr, self.bufs.data(bid, n as usize));
                    self.bufs.give_back(bid);
                }
                (Ok(n), Some(bid)) if n > 0 => {
                    self.free -= 1;
                    link.queue.push_back((bid, 0, n as usize));
                    link.queued += n as usize;
                }
                (Ok(_), bid) => {
                    link.conn.hung_up(&mut srv.tr);
                    if let Some(bid) = bid {
                        self.free -= 1;
                        link.queue.push_back((bid, 0, 0));
                    }
                }
                // Out of buffers, or cancelled by us: re-armed when it may be (`settle`).
                (Err(Errno::NOBUFS | Errno::CANCELED), _) => {}
                (Err(_), _) => link.failed = true,
            }
            self.settle(srv, slot);
        }

        /// Part or all of the queue's first buffer went out: once all of it, it goes back
        /// to the ring.
        fn on_sent(&mut self, srv: &mut Server, slot: usize, cqe: Cqe) {
            let Some(link) = self.links.get_mut(slot).and_then(Option::as_mut) else {
                return;
            };
            link.send = None;
            match cqe.result() {
                Ok(n) if link.conn.chat() => {
                    link.conn.mark_sent(n as usize);
                }
                Ok(n) => {
                    if let Some(head) = link.queue.front_mut() {
                        head.1 += n as usize;
                        link.queued -= n as usize;
                        if head.1 >= head.2 {
                            let bid = head.0;
                            link.queue.pop_front();
                            self.bufs.give_back(bid);
                            self.free += 1;
                        }
                    }
                }
                Err(_) => link.failed = true,
            }
            self.settle(srv, slot);
            if self.free == 1 {
                // Buffers are back: recvs that ended for want of them may go again.
                for other in 0..self.links.len() {
                    self.settle(srv, other);
                }
            }
        }

        /// A new connection in the lowest free slot.
        fn open(&mut self, conn: Conn) -> usize {
            let link = Link {
                conn,
                recv: Armed::No,
                send: None,
                send_cancelled: false,
                queue: VecDeque::new(),
                queued: 0,
                failed: false,
            };
            match self.links.iter().position(Option::is_none) {
                Some(slot) => {
                    self.links[slot] = Some(link);
                    slot
                }
                None => {
                    self.links.push(Some(link));
                    self.links.len() - 1
                }
            }
        }

        /// After anything happened to a connection: send what is queued, arm or cancel its
        /// recv, or close it once nothing of it is in flight.
        fn settle(&mut self, srv: &mut Server, slot: usize) {
            let max_pending = srv.knobs.max_pending;
            let Some(link) = self.links.get_mut(slot).and_then(Option::as_mut) else {
                return;
            };
            let tr = &mut srv.tr;
            // Empty buffers (a FIN's) go straight back.
            while let Some(&(bid, 0, 0)) = link.queue.front() {
                link.queue.pop_front();
                self.bufs.give_back(bid);
                self.free += 1;
            }
            let ending = link.failed || self.stopping || link.conn.dropped();
            if link.send.is_none() && !ending && link.conn.chat() && link.conn.wants_write() {
                // SAFETY: the connection's queue changes only when this send completes (new
                // lines wait in its mailbox), and it closes only once nothing is in flight.
                let fd = link.conn.raw();
                let (key, sqe) = unsafe { self.ring.send(tr, fd, link.conn.unsent(), "deliver") };
                self.keys.insert(key, (Key::Send(slot), sqe));
                link.send = Some(key);
            } else if link.send.is_none()
                && !link.failed
                && let Some(&(bid, sent, len)) = link.queue.front()
            {
                let data = &self.bufs.data(bid, len)[sent..];
                // SAFETY: the buffer goes back to the ring only once this send has completed
                // (`on_sent`); until then the kernel reads it and nobody writes it.
                let (key, sqe) = unsafe { self.ring.send(tr, link.conn.raw(), data, "echo") };
                self.keys.insert(key, (Key::Send(slot), sqe));
                link.send = Some(key);
            }
            if let Some(key) = link.send
                && link.conn.dropped()
                && !std::mem::replace(&mut link.send_cancelled, true)
            {
                let why = crate::msg!("uring-cancel-dropped-send");
                let (cancel, sqe) = self.ring.cancel(tr, key, why);
                self.keys.insert(cancel, (Key::Cancel, sqe));
            }
            let full = link.queued >= max_pending;
            match link.recv {
                // `quit` ends a chat member's reading with its recv still armed.
                Armed::Yes(key) if ending || full || link.conn.eof => {
                    let why = if ending {
                        crate::msg!("uring-cancel-ending")
                    } else {
                        crate::msg!("uring-cancel-full")
                    };
                    let (cancel, sqe) = self.ring.cancel(tr, key, why);
                    self.keys.insert(cancel, (Key::Cancel, sqe));
                    link.recv = Armed::Cancelling(key);
                }
                Armed::No if !ending && !full && !link.conn.eof && self.free > 0 => {
                    let (key, sqe) = self.ring.recv_multi(tr, link.conn.raw());
                    self.keys.insert(key, (Key::Recv(slot), sqe));
                    link.recv = Armed::Yes(key);
                }
                _ => {}
            }
            let idle = link.recv == Armed::No && link.send.is_none();
            let done = link.conn.eof && link.queue.is_empty() && !link.conn.wants_write();
            if idle && (ending || done) {
                let Some(link) = self.links[slot].take() else {
                    return;
                };
                for (bid, _, _) in link.queue {
                    self.bufs.give_back(bid);
                    self.free += 1;
                }
                let note = if link.failed {
                    crate::msg!("models-conn-failed")
                } else if done {
                    crate::msg!("completion-done")
                } else {
                    crate::msg!("models-run-over")
                };
                link.conn.close(tr, note);
            }
        }
    }
}

fn notice(s: &Summary) -> Vec<String> {
    let enters = s.calls.get("io_uring_enter").copied().unwrap_or(0);
    let own_recvs =
        s.calls.get("recvfrom").copied().unwrap_or(0) + s.calls.get("read").copied().unwrap_or(0);
    let per_echo = (s.echoes_ok > 0).then(|| {
        crate::t!(
            "uring-notice-per-echo",
            per = format!("{:.2}", s.syscalls as f64 / s.echoes_ok as f64),
            echoes = s.echoes_ok.to_string()
        )
    });
    let mut out = vec![
        crate::t!(
            "uring-notice-recvs",
            recvs = own_recvs.to_string(),
            bytes = s.bytes_in_by_kernel.to_string(),
            cqes = s.cqes.to_string(),
            sqes = s.sqes.to_string()
        ),
        crate::t!(
            "uring-notice-enters",
            calls = s.syscalls.to_string(),
            enters = enters.to_string(),
            timeouts = s.timeouts.to_string(),
            other = enters.saturating_sub(s.timeouts).to_string()
        ),
        crate::t!(
            "uring-notice-state",
            keys = s.max_in_flight.to_string(),
            work = s.work.to_string()
        ),
    ];
    out.extend(per_echo);
    out
}
