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
    use crate::echo::Conn;
    use crate::models::Refused;
    use crate::server::Server;
    use crate::trace::{Call, Stage, Tracer, escape};
    use io_uring::{IoUring, opcode, squeue, types};
    use rustix::fd::{FromRawFd, OwnedFd};
    use rustix::io::Errno;
    use std::collections::BTreeMap;
    use std::os::fd::AsRawFd;

    /// Entries in the submission ring: one operation in flight per connection, plus the accept.
    const RING_ENTRIES: u32 = 256;

    /// `IORING_RECVSEND_POLL_FIRST` from `<linux/io_uring.h>` (Linux 5.19; older kernels ignore it).
    const IORING_RECVSEND_POLL_FIRST: u16 = 1;

    /// How long one `io_uring_enter` may wait for a completion before the server does other work.
    const WAIT_NS: u32 = 1_000_000;

    // ANCHOR: table
    /// Step 4's target: what to do when the operation with this key completes.
    type Callback = fn(&mut Loop, &mut Server, Option<usize>, i32) -> anyhow::Result<()>;

    /// One entry of the key → callback table.
    struct Pending {
        /// Called with the completion's result.
        callback: Callback,
        /// The operation, for the trace (`accept`, `recv`, `send`, `async_cancel`).
        op: &'static str,
        /// The descriptor it acts on (-1 for a cancel).
        fd: i32,
        /// The connection it belongs to (its slot), if any.
        slot: Option<usize>,
    }
    // ANCHOR_END: table

    /// A connection and the key of the one operation it has in flight.
    struct Slot {
        conn: Conn,
        key: Option<u64>,
    }

    /// Everything the loop owns: the ring, the table, the connections and their buffers.
    struct Loop {
        ring: IoUring,
        ring_fd: i32,
        /// The next key to hand out.
        next_key: u64,
        /// Step 1's table: key → what to call back. (A `BTreeMap`: a `HashMap` would seed its
        /// hasher with `getrandom`, one more system call.)
        table: BTreeMap<u64, Pending>,
        /// Connections by slot; a slot is reused once its connection is closed.
        slots: Vec<Option<Slot>>,
        /// Where the kernel writes the peer's address when an accept completes.
        peer: Box<(libc::sockaddr_storage, libc::socklen_t)>,
        /// The key of the accept in flight, if one is.
        accept_key: Option<u64>,
        /// The run is over: cancel what is in flight and submit nothing new.
        stopping: bool,
        /// Out of descriptors with nobody waiting: the next accept is submitted at this time (an
        /// accept submitted at once would fail at once with EMFILE, for ever).
        accept_paused: Option<std::time::Instant>,
        /// The completions of one reap (key, result), kept to be reused.
        cqes: Vec<(u64, i32)>,
    }

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
        while !lp.table.is_empty() || lp.accept_paused.is_some() {
            if srv.stopping() && !lp.stopping {
                lp.cancel_all(&mut srv.tr);
            }
            lp.resume_accept(srv);
            // Step 3: hand the kernel our SQEs and wait (at most 1 ms) for a completion.
            lp.enter(&mut srv.tr)?;
            // Step 4: each completion's key says which callback to run.
            if lp.reap(srv)? == 0 {
                srv.tr.work(&mut srv.work);
            }
        }
        for slot in lp.slots.drain(..).flatten() {
            slot.conn.close(&mut srv.tr, "the run is over");
        }
        let start = srv.tr.begin();
        let ring_fd = lp.ring_fd;
        drop(lp);
        srv.tr.end(
            Call::new("close", Stage::Teardown).fd(ring_fd),
            start,
            Ok(()),
            "close the ring (its shared memory is unmapped first)",
        );
        Ok(())
    }
    // ANCHOR_END: serve

    impl Loop {
        /// `io_uring_setup`: the two rings, shared with the kernel. A kernel that refuses io_uring
        /// (`ENOSYS`: too old or built without it; `EPERM`: disabled by `kernel.io_uring_disabled`
        /// or a seccomp policy) ends the run with exit code 2.
        fn new(tr: &mut Tracer) -> anyhow::Result<Loop> {
            let call = Call::new("io_uring_setup", Stage::Setup).args(format!(
                "{RING_ENTRIES}, IORING_SETUP_COOP_TASKRUN|IORING_SETUP_SINGLE_ISSUER|IORING_SETUP_DEFER_TASKRUN"
            ));
            let start = tr.begin();
            // One thread submits and reaps: the kernel may then run completion work only when we
            // enter the ring, instead of interrupting the thread for it.
            let r = IoUring::builder()
                .setup_coop_taskrun()
                .setup_single_issuer()
                .setup_defer_taskrun()
                .build(RING_ENTRIES);
            let shown = match &r {
                Ok(ring) => Ok(ring.as_raw_fd()),
                Err(e) => Err(Errno::from_io_error(e).unwrap_or(Errno::INVAL)),
            };
            tr.end(
                call,
                start,
                shown,
                format!("a submission ring and a completion ring of {RING_ENTRIES} entries, shared with the kernel"),
            );
            let ring = match r {
                Ok(ring) => ring,
                Err(e) => {
                    let why = match shown {
                        Err(Errno::NOSYS) => "this kernel has no io_uring (ENOSYS)",
                        Err(Errno::PERM) => {
                            "io_uring is disabled here (EPERM: sysctl kernel.io_uring_disabled, or a seccomp policy such as a container's)"
                        }
                        _ => "io_uring_setup failed",
                    };
                    return Err(Refused(format!(
                        "`uring` cannot run here: {why}: {e}. Run `iomodels nonblocking` here instead"
                    ))
                    .into());
                }
            };
            let ring_fd = ring.as_raw_fd();
            Ok(Loop {
                ring,
                ring_fd,
                next_key: 1,
                table: BTreeMap::new(),
                slots: Vec::new(),
                // SAFETY: sockaddr_storage is plain data; all zeroes is a valid value.
                peer: Box::new((unsafe { std::mem::zeroed() }, 0)),
                accept_key: None,
                stopping: false,
                accept_paused: None,
                cqes: Vec::new(),
            })
        }

        /// Steps 1 and 2: make a key, map it to `pending`, and put the SQE in the submission ring.
        /// The kernel sees it at the next `io_uring_enter`.
        ///
        /// # Safety
        /// Every buffer `sqe` points to must stay valid and untouched until its completion is reaped.
        unsafe fn submit(
            &mut self,
            tr: &mut Tracer,
            sqe: squeue::Entry,
            pending: Pending,
            args: impl std::fmt::Display,
            stage: Stage,
            note: impl FnOnce() -> String,
        ) -> u64 {
            let key = self.next_key;
            self.next_key += 1;
            // `format_args!` and a note made on demand: nothing is formatted when the trace is off.
            let call = Call::new(pending.op, stage)
                .fd(pending.fd)
                .args(format_args!("SQE key={key}{args}"))
                .op();
            self.table.insert(key, pending);
            let sqe = sqe.user_data(key);
            // SAFETY: the caller keeps the buffers alive; the ring has room (checked below).
            while unsafe { self.ring.submission().push(&sqe) }.is_err() {
                // The submission ring is full: hand it to the kernel now, without waiting.
                let _ = self.enter_with(tr, 0);
            }
            if tr.enabled() {
                let start = tr.begin();
                tr.end_with(
                    call,
                    start,
                    Ok(()),
                    |ev| {
                        ev.ret = None;
                        ev.key = Some(key);
                    },
                    note(),
                );
            }
            key
        }

        fn submit_accept(&mut self, srv: &mut Server) {
            let lfd = srv.lfd();
            self.peer.1 = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            let sqe = opcode::Accept::new(
                types::Fd(lfd),
                (&raw mut self.peer.0).cast(),
                &raw mut self.peer.1,
            )
            .flags(libc::SOCK_CLOEXEC)
            .build();
            let pending = Pending {
                callback: on_accepted,
                op: "accept",
                fd: lfd,
                slot: None,
            };
            // SAFETY: `peer` is boxed and lives as long as the loop; no accept is resubmitted before
            // this one completes.
            let key = unsafe {
                self.submit(
                    &mut srv.tr,
                    sqe,
                    pending,
                    ", SOCK_CLOEXEC",
                    Stage::DataReady,
                    || "accept the next connection for us, and tell us under this key".into(),
                )
            };
            self.accept_key = Some(key);
        }

        /// Submits the accept that EMFILE put off, once its time has come.
        fn resume_accept(&mut self, srv: &mut Server) {
            match self.accept_paused {
                Some(_) if self.stopping => self.accept_paused = None,
                Some(t) if std::time::Instant::now() >= t => {
                    self.accept_paused = None;
                    self.submit_accept(srv);
                }
                _ => {}
            }
        }

        fn submit_recv(&mut self, tr: &mut Tracer, slot: usize) {
            let s = self.slots[slot].as_mut().expect("a live slot");
            let fd = s.conn.raw();
            let buf = s.conn.read_buf();
            let len = buf.len();
            // The recv goes in right after our echo was sent, so the answer is rarely there yet:
            // POLL_FIRST skips the kernel's first try (a recv that would say EAGAIN) and waits at once.
            let sqe = opcode::Recv::new(types::Fd(fd), buf.as_mut_ptr(), len as u32)
                .ioprio(IORING_RECVSEND_POLL_FIRST)
                .build();
            let pending = Pending {
                callback: on_received,
                op: "recv",
                fd,
                slot: Some(slot),
            };
            // SAFETY: the read buffer belongs to the Conn in this slot, which is not closed or read
            // before this key completes; its heap memory does not move.
            let key = unsafe {
                self.submit(
                    tr,
                    sqe,
                    pending,
                    format_args!(", len={len}, IORING_RECVSEND_POLL_FIRST"),
                    Stage::DataReady,
                    || {
                        "wait for data and copy it into our buffer: the kernel holds the buffer now"
                            .into()
                    },
                )
            };
            self.slots[slot].as_mut().expect("a live slot").key = Some(key);
        }

        fn submit_send(&mut self, tr: &mut Tracer, slot: usize) {
            let s = self.slots[slot].as_mut().expect("a live slot");
            let fd = s.conn.raw();
            let data = s.conn.unsent();
            let len = data.len();
            // Made now, while `data` may be borrowed; empty when the trace is off.
            let note = if tr.enabled() {
                format!("echo {len} bytes: {}", escape(data, 32))
            } else {
                String::new()
            };
            let sqe = opcode::Send::new(types::Fd(fd), data.as_ptr(), len as u32)
                .flags(libc::MSG_NOSIGNAL)
                .build();
            let pending = Pending {
                callback: on_sent,
                op: "send",
                fd,
                slot: Some(slot),
            };
            // SAFETY: nothing is read into this connection's echo queue until the send completes,
            // so the slice stays where it is.
            let key = unsafe {
                self.submit(
                    tr,
                    sqe,
                    pending,
                    format_args!(", len={len}, MSG_NOSIGNAL"),
                    Stage::CopyToKernel,
                    || note,
                )
            };
            self.slots[slot].as_mut().expect("a live slot").key = Some(key);
        }

        /// The run is over: ask the kernel to cancel every operation still in flight.
        fn cancel_all(&mut self, tr: &mut Tracer) {
            self.stopping = true;
            let keys: Vec<u64> = self
                .accept_key
                .into_iter()
                .chain(self.slots.iter().flatten().filter_map(|s| s.key))
                .collect();
            for target in keys {
                let sqe = opcode::AsyncCancel::new(target).build();
                let pending = Pending {
                    callback: on_cancelled,
                    op: "async_cancel",
                    fd: -1,
                    slot: None,
                };
                // SAFETY: a cancel points to no buffer.
                unsafe {
                    self.submit(
                        tr,
                        sqe,
                        pending,
                        format_args!(", target={target}"),
                        Stage::Teardown,
                        || "the run is over: cancel that operation".into(),
                    );
                }
            }
        }

        /// Step 3: `io_uring_enter(ring, to_submit, min_complete=1, GETEVENTS|EXT_ARG, 1 ms)`.
        fn enter(&mut self, tr: &mut Tracer) -> anyhow::Result<()> {
            match self.enter_with(tr, 1) {
                Ok(_) | Err(Errno::TIME | Errno::INTR) => Ok(()),
                Err(e) => Err(anyhow::Error::from(e).context("io_uring_enter failed")),
            }
        }

        fn enter_with(&mut self, tr: &mut Tracer, min_complete: u32) -> rustix::io::Result<usize> {
            let to_submit = self.ring.submission().len();
            // `format_args!`: the arguments are formatted only when the trace records (not in bench).
            let call = Call::new("io_uring_enter", Stage::Completion)
                .fd(self.ring_fd)
                .args(format_args!(
                    "to_submit={to_submit}, min_complete={min_complete}, timeout=1ms"
                ));
            let ts = types::Timespec::new().nsec(WAIT_NS);
            let wait = types::SubmitArgs::new().timespec(&ts);
            let start = tr.begin();
            let r = self
                .ring
                .submitter()
                .submit_with_args(min_complete as usize, &wait)
                .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::INVAL));
            let ready = self.ring.completion().len();
            let note = match r {
                _ if !tr.enabled() => String::new(),
                Ok(n) => format!(
                    "{n} SQE{} handed to the kernel; {ready} completion{} ready",
                    plural(n),
                    plural(ready)
                ),
                Err(Errno::TIME) => "no completion within 1 ms: back to other work".into(),
                Err(e) => format!("failed: {}", std::io::Error::from(e)),
            };
            tr.end(call, start, r, note);
            r
        }

        /// Reads every completion from the ring and calls back. Returns how many there were.
        fn reap(&mut self, srv: &mut Server) -> anyhow::Result<usize> {
            // Copied out first: the callbacks need the ring to submit. (The Vec is reused.)
            let mut cqes = std::mem::take(&mut self.cqes);
            cqes.clear();
            cqes.extend(
                self.ring
                    .completion()
                    .map(|cqe| (cqe.user_data(), cqe.result())),
            );
            for &(key, res) in &cqes {
                // Step 4: look the key up; the entry leaves the table, its callback runs.
                let Some(p) = self.table.remove(&key) else {
                    srv.tr.info(format!("a completion for unknown key {key}"));
                    continue;
                };
                self.record_cqe(&mut srv.tr, key, &p, res);
                (p.callback)(self, srv, p.slot, res)?;
            }
            let n = cqes.len();
            self.cqes = cqes;
            Ok(n)
        }

        fn record_cqe(&self, tr: &mut Tracer, key: u64, p: &Pending, res: i32) {
            if !tr.enabled() {
                return;
            }
            let shown = if res < 0 {
                Err(Errno::from_raw_os_error(-res))
            } else {
                Ok(res)
            };
            let mut port = None;
            let note = match (p.op, shown) {
                ("accept", Ok(fd)) => {
                    port = peer_port(&self.peer.0);
                    format!("a connection, already accepted: fd {fd} → on_accepted")
                }
                ("recv", Ok(0)) => {
                    "0 bytes: the client shut down writing (FIN) → on_received".into()
                }
                ("recv", Ok(n)) => {
                    let conn = &self.slots[p.slot.expect("recv has a slot")]
                        .as_ref()
                        .expect("a live slot")
                        .conn;
                    format!(
                        "the kernel already copied {n} bytes into our buffer: {} → on_received",
                        escape(conn.last_read(n as usize), 32)
                    )
                }
                ("send", Ok(n)) => format!("the kernel took {n} bytes to send → on_sent"),
                (_, Ok(_)) => "cancelled".into(),
                (_, Err(Errno::CANCELED)) => "cancelled at our request".into(),
                ("async_cancel", Err(Errno::NOENT | Errno::ALREADY)) => {
                    "nothing to cancel: it had completed already".into()
                }
                ("accept", Err(Errno::INVAL)) => {
                    "the listener was shut down: the run is over".into()
                }
                (_, Err(e)) => format!("failed: {}", std::io::Error::from(e)),
            };
            let call = Call::new(p.op, Stage::Completion)
                .fd(p.fd)
                .args(format!("CQE key={key}"))
                .op();
            let start = tr.begin();
            tr.end_with(
                call,
                start,
                shown,
                |ev| {
                    ev.key = Some(key);
                    ev.port = port;
                },
                note,
            );
        }

        /// Closes a connection whose operation has completed, and frees its slot.
        fn close(&mut self, tr: &mut Tracer, slot: usize, note: &str) {
            if let Some(s) = self.slots[slot].take() {
                s.conn.close(tr, note);
            }
        }
    }

    // ANCHOR: callbacks
    /// The accept completed: a new connection (submit its first recv), then accept the next.
    fn on_accepted(
        lp: &mut Loop,
        srv: &mut Server,
        _: Option<usize>,
        res: i32,
    ) -> anyhow::Result<()> {
        lp.accept_key = None;
        match res {
            fd if fd >= 0 => {
                // SAFETY: the kernel gave us this new descriptor; nothing else owns it.
                let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                let Some(conn) = srv.admit(fd) else {
                    // Past --max-conns: refused and closed; accept the next one.
                    if !lp.stopping {
                        lp.submit_accept(srv);
                    }
                    return Ok(());
                };
                let slot = match lp.slots.iter().position(Option::is_none) {
                    Some(i) => i,
                    None => {
                        lp.slots.push(None);
                        lp.slots.len() - 1
                    }
                };
                lp.slots[slot] = Some(Slot { conn, key: None });
                if lp.stopping {
                    lp.close(&mut srv.tr, slot, "the run is over");
                    return Ok(());
                }
                lp.submit_recv(&mut srv.tr, slot);
            }
            e if e == -libc::EINVAL || e == -libc::ECANCELED => {
                // The harness shut the listener down (or we cancelled the accept): wind down.
                if !lp.stopping {
                    lp.cancel_all(&mut srv.tr);
                }
                return Ok(());
            }
            e if e == -libc::ECONNABORTED || e == -libc::EINTR => {}
            // EMFILE and friends: the shared accept path makes room and refuses the client.
            e => match srv.out_of_descriptors(Errno::from_raw_os_error(-e), false) {
                Errno::CONNABORTED => {}
                Errno::AGAIN => {
                    lp.accept_paused =
                        Some(std::time::Instant::now() + std::time::Duration::from_millis(20));
                    srv.tr.info(
                        "out of descriptors and nobody waiting: the next accept goes in 20 ms, not at once (it would fail at once, for ever)",
                    );
                    return Ok(());
                }
                Errno::INVAL => {
                    if !lp.stopping {
                        lp.cancel_all(&mut srv.tr);
                    }
                    return Ok(());
                }
                e => return Err(anyhow::Error::from(e).context("accept failed")),
            },
        }
        if !lp.stopping {
            lp.submit_accept(srv);
        }
        Ok(())
    }

    /// A recv completed: the bytes are already in the connection's buffer. Echo them, or close on
    /// EOF, error or cancellation.
    fn on_received(
        lp: &mut Loop,
        srv: &mut Server,
        slot: Option<usize>,
        res: i32,
    ) -> anyhow::Result<()> {
        let slot = slot.expect("recv has a slot");
        let s = lp.slots[slot].as_mut().expect("a live slot");
        s.key = None;
        match res {
            n if n > 0 => {
                s.conn.received(n as usize);
                lp.submit_send(&mut srv.tr, slot);
            }
            0 => lp.close(
                &mut srv.tr,
                slot,
                "the client is done and everything is echoed",
            ),
            e if e == -libc::ECANCELED => lp.close(&mut srv.tr, slot, "the run is over"),
            _ => lp.close(&mut srv.tr, slot, "the connection failed: drop it"),
        }
        Ok(())
    }

    /// A send completed: submit the rest of a short send, or the next recv.
    fn on_sent(
        lp: &mut Loop,
        srv: &mut Server,
        slot: Option<usize>,
        res: i32,
    ) -> anyhow::Result<()> {
        let slot = slot.expect("send has a slot");
        let s = lp.slots[slot].as_mut().expect("a live slot");
        s.key = None;
        match res {
            n if n >= 0 => {
                let done = s.conn.mark_sent(n as usize);
                if lp.stopping {
                    lp.close(&mut srv.tr, slot, "the run is over");
                } else if done {
                    lp.submit_recv(&mut srv.tr, slot);
                } else {
                    // A short send: the kernel took part; submit the rest.
                    lp.submit_send(&mut srv.tr, slot);
                }
            }
            e if e == -libc::ECANCELED => lp.close(&mut srv.tr, slot, "the run is over"),
            _ => lp.close(&mut srv.tr, slot, "the connection failed: drop it"),
        }
        Ok(())
    }

    // ANCHOR_END: callbacks
    /// A cancel completed; the cancelled operation reports under its own key.
    fn on_cancelled(_: &mut Loop, _: &mut Server, _: Option<usize>, _: i32) -> anyhow::Result<()> {
        Ok(())
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
