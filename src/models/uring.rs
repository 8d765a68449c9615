//! Completion-based I/O with io_uring (UNP figure 6.5): hand the kernel the whole operation,
//! buffer and all, and be told when it is done.
//!
//! Stage ① and stage ② are both the kernel's: a `recv` submitted to the ring waits for data *and*
//! copies it into the buffer we gave, while the process is free. What the process gets back is a
//! completion — a key and a result — not readiness. The loop is four steps (the same as Windows
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
    ],
};

/// The server loop, where this OS has io_uring.
#[cfg(target_os = "linux")]
const SERVE: Option<Serve> = Some(server::serve);
#[cfg(not(target_os = "linux"))]
const SERVE: Option<Serve> = None;

#[cfg(target_os = "linux")]
mod server {
    use crate::models::Refused;
    use crate::models::completion::{Held, Op, Ops};
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
        let mut lp = Loop::new(&mut srv.tr)?;
        lp.submit_accept(srv);
        while !lp.ops.is_empty() || lp.accept_paused.is_some() {
            // The run's end reaches an accept in flight as EINVAL (the listener is shut down);
            // only while accepts are paused (out of descriptors) must the stop flag tell us.
            if srv.stopping() && lp.accept_paused.is_some() && !lp.ops.stopping() {
                lp.cancel_all(&mut srv.tr);
            }
            lp.resume_accept(srv);
            // Step 3: hand the kernel our SQEs and wait (at most 1 ms) for a completion.
            lp.ring.wait(&mut srv.tr).context("io_uring_enter failed")?;
            // Step 4: each completion's key says which callback to run.
            if lp.reap(srv)? == 0 {
                srv.tr.work(&mut srv.work);
            }
        }
        lp.ring.close(&mut srv.tr);
        Ok(())
    }
    // ANCHOR_END: serve

    impl Loop {
        /// `io_uring_setup`: the two rings, shared with the kernel. A kernel that refuses io_uring
        /// (`ENOSYS`: too old or built without it; `EPERM`: disabled by `kernel.io_uring_disabled`
        /// or a seccomp policy) ends the run with exit code 2.
        fn new(tr: &mut Tracer) -> anyhow::Result<Loop> {
            let ring = Ring::setup(tr).map_err(|e| {
                Refused(format!(
                    "`uring` cannot run here: {e}. Run `iomodels nonblocking` here instead"
                ))
            })?;
            Ok(Loop {
                ring,
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
        fn submit_send(&mut self, tr: &mut Tracer, held: Held) {
            // SAFETY: nothing is read into this connection's echo queue until the send completes
            // (it is parked with the key below), so the slice stays where it is.
            let (key, sqe) = unsafe { self.ring.send(tr, held.conn.raw(), held.conn.unsent()) };
            self.ops.start(key, Op::Send(held), sqe);
        }

        /// The run is over: ask the kernel to cancel every operation still in flight.
        fn cancel_all(&mut self, tr: &mut Tracer) {
            let targets: Vec<u64> = self.ops.stop().map(|(key, _)| key).collect();
            for target in targets {
                let (key, sqe) = self.ring.cancel(tr, target);
                self.ops.start(key, Op::Cancel, sqe);
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
                    lp.ops.close(&mut srv.tr, held, "the run is over");
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
                    srv.tr.info(
                        "out of descriptors and nobody waiting: the next accept goes in 20 ms, not at once (it would fail at once, for ever)",
                    );
                    return Ok(());
                }
                Errno::INVAL => {
                    if !lp.ops.stopping() {
                        lp.cancel_all(&mut srv.tr);
                    }
                    return Ok(());
                }
                e => return Err(anyhow::Error::from(e).context("accept failed")),
            },
        }
        if !lp.ops.stopping() {
            lp.submit_accept(srv);
        }
        Ok(())
    }

    /// A recv completed: the bytes are already in the connection's buffer. Echo them, or close on
    /// EOF, error or cancellation.
    fn on_received(
        lp: &mut Loop,
        srv: &mut Server,
        mut held: Held,
        res: Result<u32, Errno>,
    ) -> anyhow::Result<()> {
        match res {
            Ok(n) if n > 0 => {
                held.conn.received(n as usize);
                lp.submit_send(&mut srv.tr, held);
            }
            Ok(_) => lp.ops.close(
                &mut srv.tr,
                held,
                "the client is done and everything is echoed",
            ),
            Err(Errno::CANCELED) => lp.ops.close(&mut srv.tr, held, "the run is over"),
            Err(_) => lp
                .ops
                .close(&mut srv.tr, held, "the connection failed: drop it"),
        }
        Ok(())
    }

    /// A send completed: submit the rest of a short send, or the next recv.
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
                    lp.ops.close(&mut srv.tr, held, "the run is over");
                } else if done {
                    lp.submit_recv(&mut srv.tr, held);
                } else {
                    // A short send: the kernel took part; submit the rest.
                    lp.submit_send(&mut srv.tr, held);
                }
            }
            Err(Errno::CANCELED) => lp.ops.close(&mut srv.tr, held, "the run is over"),
            Err(_) => lp
                .ops
                .close(&mut srv.tr, held, "the connection failed: drop it"),
        }
        Ok(())
    }
    // ANCHOR_END: callbacks
}

fn notice(s: &Summary) -> Vec<String> {
    let enters = s.calls.get("io_uring_enter").copied().unwrap_or(0);
    let own_recvs =
        s.calls.get("recvfrom").copied().unwrap_or(0) + s.calls.get("read").copied().unwrap_or(0);
    vec![
        format!(
            "the server made {own_recvs} recv calls of its own: the kernel copied all {} bytes into our buffers and reported {} completions (CQEs) for {} submissions (SQEs)",
            s.bytes_in_by_kernel, s.cqes, s.sqes
        ),
        format!(
            "{} system calls in all, {enters} of them io_uring_enter: {} came back empty after 1 ms (ETIME) so the thread could do other work; the other {} handed over SQEs or returned with completions",
            s.syscalls,
            s.timeouts,
            enters.saturating_sub(s.timeouts)
        ),
        format!(
            "state lives in the program's key → callback table (at most {} keys in flight), not on thread stacks as in `threads`; the one thread did {} units of other work while the kernel did both stages",
            s.max_in_flight, s.work
        ),
    ]
}
