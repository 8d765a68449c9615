//! Completion-based I/O with a Windows I/O completion port (UNP figure 6.5): hand Windows the
//! whole operation, buffer and all, and be told when it is done.
//!
//! Stage ① and stage ② are both the kernel's: an overlapped `WSARecv` waits for data *and*
//! copies it into the buffer we gave, while the thread is free. What the thread gets back is a
//! completion packet — the OVERLAPPED's address, the bytes moved, a status — not readiness. The
//! loop is four steps:
//!
//! 1. **make a key and map it to a callback**: each operation gets its own boxed `OVERLAPPED`;
//!    its address is the key this program looks up, and a table the program owns maps it to
//!    `on_accepted`, `on_received` or `on_sent`. (Windows' own *CompletionKey* is another
//!    thing: one value per handle, given when the socket is tied to the port, and carried by
//!    every packet of that socket beside the OVERLAPPED's address.)
//! 2. **make the overlapped call** with that OVERLAPPED: `AcceptEx`, `WSARecv`, `WSASend` return
//!    at once (`ERROR_IO_PENDING`, or success); either way the result comes only from the port,
//!    as a packet (this program does not set `FILE_SKIP_COMPLETION_PORT_ON_SUCCESS`, which would
//!    make a call that succeeds at once post none). A call that fails at once posts none either;
//! 3. **ask the port what finished**: `GetQueuedCompletionStatusEx` with a 1 ms timeout, doing
//!    other work whenever nothing has;
//! 4. **look the key up and call back**: the packet's OVERLAPPED address leaves the table and its
//!    callback runs.
//!
//! With `--workers N` the port is waited on by a pool: N threads, each blocked in
//! `GetQueuedCompletionStatusEx` for one packet at a time, on a port made with
//! `NumberOfConcurrentThreads` = N (Windows lets at most N of its waiters run at once). Whichever
//! worker is waiting takes the next packet: any thread can handle any connection's result, which
//! neither event objects (64 per waiting thread) nor completion routines (only the thread that
//! asked) allow. The callbacks are the same; they share the table under one lock, so here only
//! one runs at a time while the others wait for packets or for the lock.
//!
//! This is `uring`'s design on Windows: the same key table (`completion.rs`), the same
//! callbacks; the port's calls are in `crate::sys::iocp`, the overlapped ones in
//! `crate::sys::overlapped`. Where the threads model
//! keeps each connection's state on a thread's stack, here it lives in the key → callback table
//! and the buffers Windows is filling: one thread, and the program does the scheduling.
//!
//! Readiness models (select, poll, epoll, kqueue) are told "you may recv now" and still make the
//! copy themselves; here the copy is done when we hear about it. The `polling` crate's Windows
//! backend (the `portable` model) also sits on a completion port, but only to *emulate
//! readiness*: it posts `IOCTL_AFD_POLL` requests to the AFD driver and turns their completions
//! back into "readable"/"writable", after which the program calls `recv` itself.
//!
//! See CreateIoCompletionPort, AcceptEx, GetAcceptExSockaddrs, WSARecv, WSASend,
//! GetQueuedCompletionStatusEx and CancelIoEx on learn.microsoft.com.

use super::{Kind, Model, Serve};
use crate::trace::summary::Summary;

pub const MODEL: Model = Model {
    name: "iocp",
    summary: "I/O completion port: overlapped AcceptEx/WSARecv/WSASend; Windows completes them, data and all",
    kind: Kind::Completion,
    figure: "6.5",
    platforms: "Windows",
    serve: SERVE,
    instead: super::here("uring", "kqueue", ""),
    state: "a key → callback table the program owns (the OVERLAPPED's address), not thread stacks",
    told: "a completion packet",
    notice,
    examples: &[
        "iomodels iocp                          AcceptEx and WSARecv, then completion packets",
        "iomodels iocp --scenario demos/crowd.scenario       one completion port for four clients",
    ],
};

/// The server loop, where this OS has I/O completion ports.
#[cfg(windows)]
const SERVE: Option<Serve> = Some(server::serve);
#[cfg(not(windows))]
const SERVE: Option<Serve> = None;

#[cfg(windows)]
mod server {
    use crate::models::completion::{Held, Next, Op, Ops, Touched};
    use crate::server::Server;
    use crate::sys::call_failed;
    use crate::sys::iocp::{Packet, Port};
    use crate::sys::overlapped::{self, ABORTED, Accepting, Extensions, Overlapped, Told};
    use crate::trace::{Call, Stage, Tracer};
    use anyhow::Context;
    use rustix::io::Errno;
    use std::sync::{Mutex, PoisonError, mpsc};
    use std::time::{Duration, Instant};

    // ANCHOR: table
    /// Everything the loop owns: the port, and step 1's table of keys (the OVERLAPPEDs'
    /// addresses) with the connections whose operations are in flight.
    struct Loop<'p> {
        port: &'p Port,
        /// `AcceptEx` and `GetAcceptExSockaddrs`, which Winsock hands out through `WSAIoctl`.
        ext: Extensions,
        /// Key → the callback it stands for ([`Op`]; an accept's carries the socket it accepts
        /// into), and the call in flight with its OVERLAPPED.
        ops: Ops<usize, Overlapped, Accepting>,
        /// When the server first saw the harness's stop flag.
        stop_seen: Option<Instant>,
    }

    /// Step 4's other half: the callback a key stands for, run with its packet's result.
    fn call_back(
        lp: &mut Loop,
        srv: &mut Server,
        op: Op<Accepting>,
        res: Result<u32, Errno>,
    ) -> anyhow::Result<()> {
        match op {
            Op::Accept(acc) => on_accepted(lp, srv, acc, res),
            Op::Recv(held) => on_received(lp, srv, held, res),
            Op::Send(held) => on_sent(lp, srv, held, res),
            Op::Deliver(slot) => {
                on_delivered(lp, srv, slot, res);
                Ok(())
            }
        }
    }
    // ANCHOR_END: table

    // ANCHOR: serve
    /// Make a port, start an `AcceptEx`, then ask the port → look up → call back until the run is
    /// over and every key has completed.
    #[doc(alias = "CreateIoCompletionPort")]
    #[doc(alias = "GetQueuedCompletionStatusEx")]
    #[doc(alias = "AcceptEx")]
    #[doc(alias = "WSARecv")]
    #[doc(alias = "OVERLAPPED")]
    pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
        if srv.knobs.workers > 0 {
            return pool::serve(srv, srv.knobs.workers);
        }
        let port =
            Port::create(&mut srv.tr, 1).with_context(|| call_failed("CreateIoCompletionPort"))?;
        let mut lp = Loop::new(srv, &port)?;
        lp.start_accept(srv)?;
        while !lp.ops.is_empty() {
            lp.stop_if_not_woken(srv);
            // Step 3: ask the port what has finished (at most 1 ms).
            let packets = lp
                .port
                .wait(&mut srv.tr)
                .with_context(|| call_failed("GetQueuedCompletionStatusEx"))?;
            if packets.is_empty() {
                srv.tr.work(&mut srv.work);
            }
            // Step 4: each packet's key says which callback to run.
            for packet in packets {
                lp.dispatch(srv, packet)?;
            }
        }
        port.close(&mut srv.tr);
        Ok(())
    }
    // ANCHOR_END: serve

    impl<'p> Loop<'p> {
        /// `CreateIoCompletionPort` to associate the listener with the port, and `WSAIoctl` for
        /// the extension functions `AcceptEx` and `GetAcceptExSockaddrs`.
        fn new(srv: &mut Server, port: &'p Port) -> anyhow::Result<Loop<'p>> {
            let tr = &mut srv.tr;
            port.associate(tr, &srv.listener, crate::msg!("iocp-associate-listener"))
                .with_context(|| call_failed("CreateIoCompletionPort"))?;
            let ext = Extensions::load(tr, &srv.listener)?;
            Ok(Loop {
                port,
                ext,
                ops: Ops::new(),
                stop_seen: None,
            })
        }

        /// The harness's wake-up connection normally ends the run (in `on_accepted`); should it
        /// not come, the stop flag alone does, a second later.
        fn stop_if_not_woken(&mut self, srv: &mut Server) {
            if srv.stopping() && !self.ops.stopping() {
                let seen = *self.stop_seen.get_or_insert_with(Instant::now);
                if seen.elapsed() > Duration::from_secs(1) {
                    self.cancel_all(&mut srv.tr);
                }
            }
        }

        /// `WSASocketW(…, WSA_FLAG_OVERLAPPED)` for the next connection, then `AcceptEx` into it,
        /// its key mapped to `on_accepted`.
        fn start_accept(&mut self, srv: &mut Server) -> anyhow::Result<()> {
            let mut acc = Accepting::socket(&mut srv.tr, &srv.local)
                .with_context(|| call_failed("WSASocketW"))?;
            // SAFETY: `acc` goes into the table with the key, and the OVERLAPPED with it, until
            // the packet is dequeued.
            let (key, ov) = unsafe { self.ext.accept(&mut srv.tr, &srv.listener, &mut acc) }
                .with_context(|| call_failed("AcceptEx"))?;
            self.ops.start(key, Op::Accept(acc), ov);
            Ok(())
        }

        /// An overlapped `WSARecv` into the connection's buffer, its key mapped to `on_received`.
        fn start_recv(&mut self, tr: &mut Tracer, mut held: Held) {
            // SAFETY: the buffer is this connection's, parked with the key below until its packet
            // is dequeued; its heap memory does not move. The OVERLAPPED is parked with it.
            match unsafe { overlapped::recv(tr, held.conn.raw(), held.conn.read_buf(), Told::Port) }
            {
                Ok((key, ov)) => self.ops.start(key, Op::Recv(held), ov),
                Err(_) => self.ops.close(tr, held, crate::msg!("models-conn-failed")),
            }
        }

        /// An overlapped `WSASend` of what is left to echo, its key mapped to `on_sent`.
        fn start_send(&mut self, tr: &mut Tracer, mut held: Held) {
            let verb = if held.conn.chat() { "deliver" } else { "echo" };
            let fd = held.conn.raw();
            // SAFETY: nothing is read into this connection's echo queue until the send completes
            // (it is parked with the key below), so the slice stays where it is.
            match unsafe { overlapped::send(tr, fd, held.conn.unsent(), Told::Port, verb) } {
                Ok((key, ov)) => self.ops.start(key, Op::Send(held), ov),
                Err(_) => self.ops.close(tr, held, crate::msg!("models-conn-failed")),
            }
        }

        /// A chat: an overlapped `WSASend` of the room's lines for the connection in `slot`,
        /// which stays parked under its `WSARecv`; its key is mapped to `on_delivered`.
        fn start_delivery(&mut self, tr: &mut Tracer, slot: usize) {
            let Some((conn, recv, true)) = self.ops.parked(slot) else {
                return;
            };
            // SAFETY: `unsent` is the connection's own queue, which changes only when a send of
            // it completes (new lines wait in the mailbox); the connection closes only once this
            // key's packet is dequeued (`Ops::rest`). The OVERLAPPED goes into the table.
            match unsafe { overlapped::send(tr, conn.raw(), conn.unsent(), Told::Port, "deliver") }
            {
                Ok((key, ov)) => self.ops.start(key, Op::Deliver(slot), ov),
                Err(_) => {
                    if let Some(ov) = self.ops.io(recv) {
                        ov.cancel(tr, crate::msg!("win-why-send-failed"));
                    }
                }
            }
        }

        /// The run is over: `CancelIoEx` every operation still in flight. Each still reports, as a
        /// packet with `ERROR_OPERATION_ABORTED` (or its result, if it finished first).
        fn cancel_all(&mut self, tr: &mut Tracer) {
            for (_, ov) in self.ops.stop() {
                ov.cancel(tr, crate::msg!("models-run-over"));
            }
        }

        /// A chat: each connection the room queued lines for (or dropped) since the last
        /// packet. One with no send in flight gets one (the fan-out: one `WSARecv` packet, then
        /// a `WSASend` per member); a dropped one has its operations cancelled, and closes when
        /// the last of them reports.
        fn fan_out(&mut self, srv: &mut Server) {
            for fd in srv.touched() {
                match self.ops.touched(fd) {
                    Some(Touched::Deliver(slot)) => self.start_delivery(&mut srv.tr, slot),
                    Some(Touched::Cancel(ops)) => {
                        for (_, ov) in ops {
                            ov.cancel(&mut srv.tr, crate::msg!("win-why-dropped"));
                        }
                    }
                    // Parked under a send: its packet sends what came since.
                    None => {}
                }
            }
        }

        /// Step 4: the packet's OVERLAPPED address is the key; it leaves the table, and its
        /// callback runs.
        fn dispatch(&mut self, srv: &mut Server, packet: Packet) -> anyhow::Result<()> {
            let Some((op, ov)) = self.ops.finish(packet.key) else {
                Port::unknown(&mut srv.tr, packet);
                return Ok(());
            };
            ov.completed(&mut srv.tr, packet, op.received(packet.result()));
            drop(ov);
            call_back(self, srv, op, packet.result())?;
            self.fan_out(srv);
            Ok(())
        }
    }

    // ANCHOR: callbacks
    /// `AcceptEx` finished: tell the new socket it was accepted (`SO_UPDATE_ACCEPT_CONTEXT`), learn
    /// the peer (`GetAcceptExSockaddrs`), tie it to the port, start its first `WSARecv`, and
    /// accept the next.
    fn on_accepted(
        lp: &mut Loop,
        srv: &mut Server,
        acc: Accepting,
        res: Result<u32, Errno>,
    ) -> anyhow::Result<()> {
        if let Err(e) = res {
            crate::sys::close(&mut srv.tr, acc.sock, crate::msg!("iocp-accept-dropped"));
            if e == ABORTED || lp.ops.stopping() {
                return Ok(());
            }
            return lp.start_accept(srv);
        }
        acc.update_context(&mut srv.tr, &srv.listener);
        let wake_up = srv.stopping();
        lp.ext.sockaddrs(&mut srv.tr, &acc, wake_up);
        if wake_up {
            crate::sys::close(&mut srv.tr, acc.sock, crate::msg!("server-close-wake-up"));
            if !lp.ops.stopping() {
                lp.cancel_all(&mut srv.tr);
            }
            return Ok(());
        }

        // Past --max-conns the client is told and closed (see `limits`); accept the next one.
        let Some(conn) = srv.admit(acc.sock) else {
            return lp.start_accept(srv);
        };
        lp.port
            .associate(&mut srv.tr, &conn.fd, crate::msg!("iocp-associate-conn"))
            .with_context(|| call_failed("CreateIoCompletionPort"))?;
        let held = lp.ops.open(conn);
        lp.start_recv(&mut srv.tr, held);
        lp.start_accept(srv)
    }

    /// `WSARecv` finished: the bytes are already in the connection's buffer. Echo them, or close on
    /// EOF, error or cancellation.
    fn on_received(
        lp: &mut Loop,
        srv: &mut Server,
        held: Held,
        res: Result<u32, Errno>,
    ) -> anyhow::Result<()> {
        match lp.ops.after_recv(&mut srv.tr, held, res, ABORTED) {
            Some(Next::Recv(held)) => lp.start_recv(&mut srv.tr, held),
            Some(Next::Send(held)) => lp.start_send(&mut srv.tr, held),
            None => {}
        }
        Ok(())
    }

    /// A chat's `WSASend` beside a `WSARecv` finished: send the rest, or what came since.
    fn on_delivered(lp: &mut Loop, srv: &mut Server, slot: usize, res: Result<u32, Errno>) {
        let why = crate::msg!("win-why-send-failed");
        if lp
            .ops
            .after_deliver(&mut srv.tr, slot, res, |tr, ov| ov.cancel(tr, why))
        {
            lp.start_delivery(&mut srv.tr, slot);
        }
    }

    /// `WSASend` finished: send the rest of a short send, or start the next `WSARecv`.
    fn on_sent(
        lp: &mut Loop,
        srv: &mut Server,
        held: Held,
        res: Result<u32, Errno>,
    ) -> anyhow::Result<()> {
        match lp.ops.after_send(&mut srv.tr, held, res, ABORTED) {
            Some(Next::Recv(held)) => lp.start_recv(&mut srv.tr, held),
            Some(Next::Send(held)) => lp.start_send(&mut srv.tr, held),
            None => {}
        }
        Ok(())
    }
    // ANCHOR_END: callbacks

    mod pool {
        use super::*;

        /// How long a worker waits for a packet before it looks at the stop flag.
        const WAIT_MS: u32 = 1000;

        /// What the workers share under one lock: the loop (its table), the server, and the
        /// first callback failure (the run then cancels what is in flight, and fails with it).
        type Shared<'a, 'p> = Mutex<(Loop<'p>, &'a mut Server, Option<anyhow::Error>)>;

        // ANCHOR: pool
        /// A port with `NumberOfConcurrentThreads` = `n`, the first `AcceptEx`, then `n` workers
        /// (`CreateThread`), each taking one packet at a time off the port; this thread waits
        /// until they are done.
        pub fn serve(srv: &mut Server, n: usize) -> anyhow::Result<()> {
            let port = Port::create(&mut srv.tr, n as u32)
                .with_context(|| call_failed("CreateIoCompletionPort"))?;
            let mut lp = Loop::new(srv, &port)?;
            lp.start_accept(srv)?;
            let rec = srv.tr.recorder().clone();
            let shared: Shared = Mutex::new((lp, srv, None));
            std::thread::scope(|s| {
                for i in 0..n {
                    let actor = format!("server/{}", i + 2);
                    let call = Call::new(crate::sys::SPAWN, Stage::Setup)
                        .args(format_args!("worker {} of {n}", i + 1));
                    let (tid_tx, tid_rx) = mpsc::sync_channel(1);
                    let (rec, shared, port) = (rec.clone(), &shared, &port);
                    let mut guard = shared.lock().unwrap_or_else(PoisonError::into_inner);
                    let tr = &mut guard.1.tr;
                    // Spawned with the lock held, so its CreateThread line comes before anything
                    // the worker does under it.
                    let start = tr.begin();
                    let spawned = std::thread::Builder::new()
                        .name(actor.clone())
                        .spawn_scoped(s, move || {
                            let mut tr = rec.thread(&actor, crate::sys::thread_id);
                            let _ = tid_tx.send(tr.tid());
                            work(shared, port, &mut tr, n);
                            crate::sys::cpu_time(&mut tr);
                        });
                    let tid = match spawned {
                        Ok(_) => tid_rx.recv().unwrap_or(0),
                        Err(e) => {
                            tr.info(|| {
                                crate::t!(
                                    "iocp-worker-failed",
                                    worker = (i + 1).to_string(),
                                    why = e.to_string()
                                )
                            });
                            continue;
                        }
                    };
                    tr.record(
                        call,
                        start,
                        &Ok(tid),
                        |_, _| (),
                        |_: &rustix::io::Result<i64>| {
                            crate::t!(
                                "iocp-worker-start",
                                worker = (i + 1).to_string(),
                                tid = tid.to_string()
                            )
                        },
                    );
                }
            });
            let (lp, srv, failed) = shared.into_inner().unwrap_or_else(PoisonError::into_inner);
            srv.tr.info(crate::msg!("iocp-workers-done"));
            drop(lp);
            port.close(&mut srv.tr);
            failed.map_or(Ok(()), Err)
        }

        /// One worker: a packet off the port (whichever worker waits gets it) → the lock → its
        /// callback, with this worker's tracer. The worker that sees the table empty posts a
        /// stop packet for each of the others.
        fn work(shared: &Shared, port: &Port, tr: &mut Tracer, workers: usize) {
            loop {
                let Ok(packets) = port.wait_one(tr, WAIT_MS) else {
                    return;
                };
                let mut guard = shared.lock().unwrap_or_else(PoisonError::into_inner);
                let (lp, srv, failed) = &mut *guard;
                for packet in &packets {
                    if packet.key == 0 {
                        // A stop packet (no OVERLAPPED): the run is over.
                        return;
                    }
                    if let Err(e) = lend(srv, tr, |srv| lp.dispatch(srv, *packet)) {
                        lend(srv, tr, |srv| lp.cancel_all(&mut srv.tr));
                        failed.get_or_insert(e);
                    }
                }
                if packets.is_empty() {
                    lend(srv, tr, |srv| lp.stop_if_not_woken(srv));
                }
                if lp.ops.is_empty() {
                    for _ in 1..workers {
                        let _ = port.post_stop(tr, crate::msg!("iocp-stop-packet"));
                    }
                    return;
                }
            }
        }
        // ANCHOR_END: pool

        /// Runs `f` with this worker's tracer in the server's place: the callbacks record through
        /// `srv.tr`, and each of their calls is made on this thread, so it is recorded as this
        /// thread's.
        fn lend<R>(srv: &mut Server, tr: &mut Tracer, f: impl FnOnce(&mut Server) -> R) -> R {
            std::mem::swap(&mut srv.tr, tr);
            let r = f(srv);
            std::mem::swap(&mut srv.tr, tr);
            r
        }
    }
}

fn notice(s: &Summary) -> Vec<String> {
    let calls = |name: &str| s.calls.get(name).copied().unwrap_or(0).to_string();
    // With --workers, the pool's threads (`server/2`, …) took the packets.
    let workers: Vec<String> = s
        .completions_by
        .iter()
        .filter(|(actor, _)| &***actor != "server")
        .map(|(actor, n)| format!("{actor} {n}"))
        .collect();
    vec![
        crate::t!(
            "iocp-notice-copied",
            recvs = calls("recv"),
            bytes = s.bytes_in_by_kernel.to_string(),
            packets = s.cqes.to_string(),
            accepts = calls("AcceptEx"),
            wsarecvs = calls("WSARecv"),
            wsasends = calls("WSASend")
        ),
        if workers.is_empty() {
            crate::t!(
                "iocp-notice-waits",
                calls = s.syscalls.to_string(),
                waits = calls("GetQueuedCompletionStatusEx"),
                timeouts = s.timeouts.to_string(),
                work = s.work.to_string()
            )
        } else {
            crate::t!("iocp-notice-workers", workers = workers.join(", "))
        },
        crate::t!("iocp-notice-readiness"),
    ]
}
