//! Completion-based I/O with a Windows I/O completion port (UNP figure 6.5): hand Windows the
//! whole operation, buffer and all, and be told when it is done.
//!
//! Stage ① and stage ② are both the kernel's: an overlapped `WSARecv` waits for data *and*
//! copies it into the buffer we gave, while the thread is free. What the thread gets back is a
//! completion packet — the OVERLAPPED's address, the bytes moved, a status — not readiness. The
//! loop is four steps:
//!
//! 1. **make a key and map it to a callback**: each operation gets its own boxed `OVERLAPPED`;
//!    its address is the key, and a table the program owns maps it to `on_accepted`,
//!    `on_received` or `on_sent`;
//! 2. **make the overlapped call** with that key: `AcceptEx`, `WSARecv`, `WSASend` return at once
//!    (`ERROR_IO_PENDING`, or success); either way the result comes only from the port, as a
//!    packet (this program does not set `FILE_SKIP_COMPLETION_PORT_ON_SUCCESS`);
//! 3. **ask the port what finished**: `GetQueuedCompletionStatusEx` with a 1 ms timeout, doing
//!    other work whenever nothing has;
//! 4. **look the key up and call back**: the packet's OVERLAPPED address leaves the table and its
//!    callback runs.
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
    use crate::models::completion::{Held, Op, Ops};
    use crate::server::Server;
    use crate::sys::iocp::{Packet, Port};
    use crate::sys::overlapped::{self, ABORTED, Accepting, Extensions, Overlapped, Told};
    use crate::trace::Tracer;
    use anyhow::Context;
    use rustix::io::Errno;
    use std::time::{Duration, Instant};

    // ANCHOR: table
    /// Everything the loop owns: the port, and step 1's table of keys (the OVERLAPPEDs'
    /// addresses) with the connections whose operations are in flight.
    struct Loop {
        port: Port,
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
        let mut lp = Loop::new(srv)?;
        lp.start_accept(srv)?;
        while !lp.ops.is_empty() {
            // The harness's wake-up connection normally ends the run (in `on_accepted`); should it
            // not come, the stop flag alone does, a second later.
            if srv.stopping() && !lp.ops.stopping() {
                let seen = *lp.stop_seen.get_or_insert_with(Instant::now);
                if seen.elapsed() > Duration::from_secs(1) {
                    lp.cancel_all(&mut srv.tr);
                }
            }
            // Step 3: ask the port what has finished (at most 1 ms).
            let packets = lp
                .port
                .wait(&mut srv.tr)
                .context("GetQueuedCompletionStatusEx failed")?;
            if packets.is_empty() {
                srv.tr.work(&mut srv.work);
            }
            // Step 4: each packet's key says which callback to run.
            for packet in packets {
                lp.dispatch(srv, packet)?;
            }
        }
        lp.port.close(&mut srv.tr);
        Ok(())
    }
    // ANCHOR_END: serve

    impl Loop {
        /// `CreateIoCompletionPort` twice (make the port; associate the listener with it), and
        /// `WSAIoctl` for the extension functions `AcceptEx` and `GetAcceptExSockaddrs`.
        fn new(srv: &mut Server) -> anyhow::Result<Loop> {
            let tr = &mut srv.tr;
            let port = Port::create(tr).context("CreateIoCompletionPort failed")?;
            port.associate(
                tr,
                &srv.listener,
                "the listener's AcceptEx packets will come to our port, with completion key = its socket",
            )
            .context("CreateIoCompletionPort failed")?;
            let ext = Extensions::load(tr, &srv.listener)?;
            Ok(Loop {
                port,
                ext,
                ops: Ops::new(),
                stop_seen: None,
            })
        }

        /// `WSASocketW(…, WSA_FLAG_OVERLAPPED)` for the next connection, then `AcceptEx` into it,
        /// its key mapped to `on_accepted`.
        fn start_accept(&mut self, srv: &mut Server) -> anyhow::Result<()> {
            let mut acc =
                Accepting::socket(&mut srv.tr, &srv.local).context("WSASocketW failed")?;
            // SAFETY: `acc` goes into the table with the key, and the OVERLAPPED with it, until
            // the packet is dequeued.
            let (key, ov) = unsafe { self.ext.accept(&mut srv.tr, &srv.listener, &mut acc) }
                .context("AcceptEx failed")?;
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
                Err(_) => self.ops.close(tr, held, "the connection failed: drop it"),
            }
        }

        /// An overlapped `WSASend` of what is left to echo, its key mapped to `on_sent`.
        fn start_send(&mut self, tr: &mut Tracer, held: Held) {
            // SAFETY: nothing is read into this connection's echo queue until the send completes
            // (it is parked with the key below), so the slice stays where it is.
            match unsafe { overlapped::send(tr, held.conn.raw(), held.conn.unsent(), Told::Port) } {
                Ok((key, ov)) => self.ops.start(key, Op::Send(held), ov),
                Err(_) => self.ops.close(tr, held, "the connection failed: drop it"),
            }
        }

        /// The run is over: `CancelIoEx` every operation still in flight. Each still reports, as a
        /// packet with `ERROR_OPERATION_ABORTED` (or its result, if it finished first).
        fn cancel_all(&mut self, tr: &mut Tracer) {
            for (_, ov) in self.ops.stop() {
                ov.cancel(tr);
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
            call_back(self, srv, op, packet.result())
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
            crate::sys::close(
                &mut srv.tr,
                acc.sock,
                "the accept did not happen: drop the socket we made for it",
            );
            if e == ABORTED || lp.ops.stopping() {
                return Ok(());
            }
            return lp.start_accept(srv);
        }
        acc.update_context(&mut srv.tr, &srv.listener);
        let wake_up = srv.stopping();
        lp.ext.sockaddrs(&mut srv.tr, &acc, wake_up);
        if wake_up {
            crate::sys::close(&mut srv.tr, acc.sock, "close the wake-up connection");
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
            .associate(
                &mut srv.tr,
                &conn.fd,
                "this connection's packets will come to our port too",
            )
            .context("CreateIoCompletionPort failed")?;
        let held = lp.ops.open(conn);
        lp.start_recv(&mut srv.tr, held);
        lp.start_accept(srv)
    }

    /// `WSARecv` finished: the bytes are already in the connection's buffer. Echo them, or close on
    /// EOF, error or cancellation.
    fn on_received(
        lp: &mut Loop,
        srv: &mut Server,
        mut held: Held,
        res: Result<u32, Errno>,
    ) -> anyhow::Result<()> {
        match res {
            Ok(n) if n > 0 && !lp.ops.stopping() => {
                held.conn.received(n as usize);
                lp.start_send(&mut srv.tr, held);
            }
            Ok(0) => lp.ops.close(
                &mut srv.tr,
                held,
                "the client is done and everything is echoed",
            ),
            Ok(_) => lp.ops.close(&mut srv.tr, held, "the run is over"),
            Err(e) if e == ABORTED => lp.ops.close(&mut srv.tr, held, "the run is over"),
            Err(_) => lp
                .ops
                .close(&mut srv.tr, held, "the connection failed: drop it"),
        }
        Ok(())
    }

    /// `WSASend` finished: send the rest of a short send, or start the next `WSARecv`.
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
                    lp.start_recv(&mut srv.tr, held);
                } else {
                    lp.start_send(&mut srv.tr, held);
                }
            }
            Err(e) if e == ABORTED => lp.ops.close(&mut srv.tr, held, "the run is over"),
            Err(_) => lp
                .ops
                .close(&mut srv.tr, held, "the connection failed: drop it"),
        }
        Ok(())
    }
    // ANCHOR_END: callbacks
}

fn notice(s: &Summary) -> Vec<String> {
    let waits = s
        .calls
        .get("GetQueuedCompletionStatusEx")
        .copied()
        .unwrap_or(0);
    let own_recvs = s.calls.get("recv").copied().unwrap_or(0);
    vec![
        format!(
            "the server made {own_recvs} recv calls of its own: Windows copied all {} bytes into our buffers and posted {} completion packets; each overlapped call (AcceptEx {}, WSARecv {}, WSASend {}) returned at once",
            s.bytes_in_by_kernel,
            s.cqes,
            s.calls.get("AcceptEx").copied().unwrap_or(0),
            s.calls.get("WSARecv").copied().unwrap_or(0),
            s.calls.get("WSASend").copied().unwrap_or(0),
        ),
        format!(
            "{} calls in all, {waits} of them GetQueuedCompletionStatusEx: {} came back empty after 1 ms (WAIT_TIMEOUT) so the thread could do other work ({} units)",
            s.syscalls, s.timeouts, s.work
        ),
        "readiness models (select, poll, epoll, kqueue) hear \"you may recv now\" and then copy; here the packet means the copy is done. The polling crate's Windows backend (`portable`) uses a completion port too, but only to emulate readiness through AFD polls — the program still calls recv".into(),
    ]
}
