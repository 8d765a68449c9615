//! Completion routines (UNP figure 6.5, before I/O completion ports): overlapped `WSARecv` and
//! `WSASend` each given an `lpCompletionRoutine`, which Windows queues to the thread that made
//! the call when the operation is done.
//!
//! Stage ① and ② are both Windows': the overlapped `WSARecv` waits for data and copies it into
//! our buffer while the thread does other work. What the thread is told is a call of its
//! completion routine, with the error and the byte count — but only when *that thread* waits
//! alertably (`SleepEx(…, TRUE)`, or here `WSAWaitForMultipleEvents(…, fAlertable = TRUE)` on
//! the listener's event, so one wait hears of new clients too): the wait then returns
//! `WSA_WAIT_IO_COMPLETION`. The loop:
//!
//! 1. **make a key and map it to a callback**: each operation's boxed OVERLAPPED, whose address
//!    the routine is handed back, in the same key → callback table as `iocp` (`completion.rs`);
//! 2. **make the overlapped call** with our routine: `WSARecv`/`WSASend` return at once
//!    (`WSA_IO_PENDING`, or 0 when done at once: the routine is queued all the same);
//! 3. **do other work, then wait alertably** (at most 1 ms): the routines queued to this thread
//!    run inside the wait;
//! 4. **look the OVERLAPPED up and call back**, after the wait returns.
//!
//! Our routine only notes what it was told (and the thread it ran on): the callbacks run after
//! the wait, so that each of their calls is a traced line of its own. Results come back only to
//! the thread that asked: a second thread could not share this work, which is what an I/O
//! completion port changes (`iocp --workers`).
//!
//! See WSARecv, WSASend, LPWSAOVERLAPPED_COMPLETION_ROUTINE, WSAWaitForMultipleEvents,
//! WSAEventSelect and CancelIoEx on learn.microsoft.com.

use super::{Kind, Model, Serve};
use crate::trace::summary::Summary;

pub const MODEL: Model = Model {
    name: "apc",
    summary: "completion routines: overlapped WSARecv/WSASend call back on the issuing thread, inside its alertable wait",
    kind: Kind::Completion,
    figure: "6.5",
    platforms: "Windows",
    serve: SERVE,
    instead: super::here("uring", "kqueue", ""),
    state: "a key → callback table the program owns (the OVERLAPPED's address), on the one thread that may hear the results",
    told: "a completion routine, run inside the thread's alertable wait",
    notice,
    examples: &[
        "iomodels apc                           each routine runs inside the thread's alertable wait",
        "iomodels apc --format json             the routines' tid: always the thread that asked",
    ],
};

/// The server loop, where this OS has completion routines.
#[cfg(windows)]
const SERVE: Option<Serve> = Some(server::serve);
#[cfg(not(windows))]
const SERVE: Option<Serve> = None;

#[cfg(windows)]
mod server {
    use crate::models::completion::{Held, Next, Op, Ops, Touched};
    use crate::server::Server;
    use crate::sys::apc::{self, Ran};
    use crate::sys::overlapped::{self, ABORTED, Overlapped, Told};
    use crate::sys::wsaevent::{self, Event, IO_COMPLETION, Interest, Timeout};
    use crate::sys::{call_failed, failed};
    use crate::trace::Tracer;
    use anyhow::Context;
    use rustix::io::{Errno, Result};
    use std::time::{Duration, Instant};

    /// The wait our routines run inside.
    const WAIT: &str = "WSAWaitForMultipleEvents";

    // ANCHOR: serve
    /// An event for the listener; loop: other work → an alertable wait → accept, or call back
    /// for each routine that ran inside the wait; until the run is over and every operation has
    /// reported.
    #[doc(alias = "WSARecv")]
    #[doc(alias = "LPWSAOVERLAPPED_COMPLETION_ROUTINE")]
    #[doc(alias = "WSAWaitForMultipleEvents")]
    pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
        let events = [Event::on_listener(&mut srv.tr, &srv.listener)
            .with_context(|| crate::t!("win-listener-event-failed"))?];
        let mut ops: Ops<usize, Overlapped> = Ops::new();
        let mut over = false;
        let mut stop_seen: Option<Instant> = None;
        while !over || !ops.is_empty() {
            // The harness's wake-up connection normally ends the run; should it not come, the
            // stop flag alone does, a second later.
            if srv.stopping() && !over {
                let seen = *stop_seen.get_or_insert_with(Instant::now);
                if seen.elapsed() > Duration::from_secs(1) {
                    over = true;
                    cancel_all(&mut srv.tr, &mut ops);
                }
            }
            // Step 3: the routines queued to this thread run inside this wait, and only here.
            let r = wsaevent::wait(&mut srv.tr, &events, 0, Timeout::Ms(1), true, waited)
                .with_context(|| call_failed("WSAWaitForMultipleEvents"))?;
            match r {
                Some(IO_COMPLETION) => {
                    // Step 4, for each routine that ran, in the order they ran.
                    for ran in apc::take() {
                        dispatch(srv, &mut ops, ran);
                    }
                }
                Some(_) if !over => {
                    let _ = events[0].news(&mut srv.tr, &srv.listener);
                    over = accept_all(srv, &events, &mut ops)?;
                }
                Some(_) => {}
                // A wait that timed out tries accept too: under Wine a burst of connections can
                // leave the listener's event unsignalled with clients waiting (robust's 1000
                // clients stalled at 400-600 accepted). Nonblocking, accept answers
                // WSAEWOULDBLOCK when nobody waits.
                None if !over => {
                    srv.tr.work(&mut srv.work);
                    over = accept_all(srv, &events, &mut ops)?;
                }
                None => srv.tr.work(&mut srv.work),
            }
        }
        let [listening] = events;
        listening.close(&mut srv.tr, crate::msg!("win-listener-event"));
        Ok(())
    }
    // ANCHOR_END: serve

    /// `FD_ACCEPT`: accept every connection waiting and start its first `WSARecv`. Returns
    /// `true` (after cancelling what is in flight) when the harness ended the run.
    fn accept_all(
        srv: &mut Server,
        events: &[Event],
        ops: &mut Ops<usize, Overlapped>,
    ) -> anyhow::Result<bool> {
        loop {
            match srv.accept(false, &crate::t!("win-fd-accept")) {
                Ok(conn) => {
                    // Left in place, the inherited selection lets this socket's I/O reset the
                    // listener's event: under Wine, accepts stopped after some 80 connections.
                    let _ = events[0].select(
                        &mut srv.tr,
                        &conn.fd,
                        Interest::NONE,
                        crate::msg!("apc-unselect"),
                    );
                    let held = ops.open(conn);
                    start_recv(&mut srv.tr, ops, held);
                }
                Err(Errno::AGAIN) => return Ok(false),
                Err(Errno::CONNABORTED | Errno::INTR) => {}
                Err(Errno::INVAL) => {
                    cancel_all(&mut srv.tr, ops);
                    return Ok(true);
                }
                Err(e) => return Err(anyhow::Error::from(e).context(crate::t!("accept-failed"))),
            }
        }
    }

    /// An overlapped `WSARecv` into the connection's buffer, with our completion routine.
    fn start_recv(tr: &mut Tracer, ops: &mut Ops<usize, Overlapped>, mut held: Held) {
        // SAFETY: the buffer is this connection's, parked with the key below until its routine
        // has run; its heap memory does not move. The OVERLAPPED is parked with it.
        let fd = held.conn.raw();
        match unsafe { overlapped::recv(tr, fd, held.conn.read_buf(), Told::Routine) } {
            Ok((key, ov)) => ops.start(key, Op::Recv(held), ov),
            Err(_) => ops.close(tr, held, crate::msg!("models-conn-failed")),
        }
    }

    /// An overlapped `WSASend` of what is left to echo, with our completion routine.
    fn start_send(tr: &mut Tracer, ops: &mut Ops<usize, Overlapped>, mut held: Held) {
        let verb = if held.conn.chat() { "deliver" } else { "echo" };
        let fd = held.conn.raw();
        // SAFETY: nothing is read into this connection's echo queue until the send has
        // reported (it is parked with the key below), so the slice stays where it is.
        match unsafe { overlapped::send(tr, fd, held.conn.unsent(), Told::Routine, verb) } {
            Ok((key, ov)) => ops.start(key, Op::Send(held), ov),
            Err(_) => ops.close(tr, held, crate::msg!("models-conn-failed")),
        }
    }

    /// A chat: an overlapped `WSASend` of the room's lines for the connection in `slot`, which
    /// stays parked under its `WSARecv`, with our completion routine.
    fn start_delivery(tr: &mut Tracer, ops: &mut Ops<usize, Overlapped>, slot: usize) {
        let Some((conn, recv, true)) = ops.parked(slot) else {
            return;
        };
        // SAFETY: `unsent` is the connection's own queue, which changes only when a send of it
        // has reported (new lines wait in the mailbox); the connection closes only once this
        // key's routine has run (`Ops::rest`). The OVERLAPPED goes into the table.
        match unsafe { overlapped::send(tr, conn.raw(), conn.unsent(), Told::Routine, "deliver") } {
            Ok((key, ov)) => ops.start(key, Op::Deliver(slot), ov),
            Err(_) => {
                if let Some(ov) = ops.io(recv) {
                    ov.cancel(tr, crate::msg!("win-why-send-failed"));
                }
            }
        }
    }

    /// A chat: each connection the room queued lines for (or dropped) since the last routine
    /// gets a `WSASend` if it has none in flight (the fan-out), or, dropped, has its operations
    /// cancelled (the last routine to run closes it).
    fn fan_out(srv: &mut Server, ops: &mut Ops<usize, Overlapped>) {
        for fd in srv.touched() {
            match ops.touched(fd) {
                Some(Touched::Deliver(slot)) => start_delivery(&mut srv.tr, ops, slot),
                Some(Touched::Cancel(ios)) => {
                    for (_, ov) in ios {
                        ov.cancel(&mut srv.tr, crate::msg!("win-why-dropped"));
                    }
                }
                None => {}
            }
        }
    }

    /// The run is over: `CancelIoEx` every operation in flight; each routine still runs.
    fn cancel_all(tr: &mut Tracer, ops: &mut Ops<usize, Overlapped>) {
        for (_, ov) in ops.stop() {
            ov.cancel(tr, crate::msg!("models-run-over"));
        }
    }

    /// Step 4: the routine's OVERLAPPED is the key; it leaves the table, its line is recorded
    /// (when and where it ran), and the callback runs.
    fn dispatch(srv: &mut Server, ops: &mut Ops<usize, Overlapped>, ran: Ran) {
        let Some((op, ov)) = ops.finish(ran.ov) else {
            srv.tr
                .info(|| crate::t!("apc-unknown", ov = format!("{:#x}", ran.ov)));
            return;
        };
        ov.ran(&mut srv.tr, &ran, WAIT, op.received(ran.result()));
        drop(ov);
        let tr = &mut srv.tr;
        match op {
            Op::Recv(held) => on_received(tr, ops, held, ran.result()),
            Op::Send(held) => on_sent(tr, ops, held, ran.result()),
            Op::Deliver(slot) => {
                let why = crate::msg!("win-why-send-failed");
                if ops.after_deliver(tr, slot, ran.result(), |tr, ov| ov.cancel(tr, why)) {
                    start_delivery(tr, ops, slot);
                }
            }
            // Accepts here are readiness (FD_ACCEPT), not overlapped.
            Op::Accept(()) => {}
        }
        fan_out(srv, ops);
    }

    // ANCHOR: callbacks
    /// `WSARecv` reported: the bytes are already in the connection's buffer. Echo them, or close
    /// on EOF, error or cancellation.
    fn on_received(
        tr: &mut Tracer,
        ops: &mut Ops<usize, Overlapped>,
        held: Held,
        res: Result<u32>,
    ) {
        match ops.after_recv(tr, held, res, ABORTED) {
            Some(Next::Recv(held)) => start_recv(tr, ops, held),
            Some(Next::Send(held)) => start_send(tr, ops, held),
            None => {}
        }
    }

    /// `WSASend` reported: send the rest of a short send, or start the next `WSARecv`.
    fn on_sent(tr: &mut Tracer, ops: &mut Ops<usize, Overlapped>, held: Held, res: Result<u32>) {
        match ops.after_send(tr, held, res, ABORTED) {
            Some(Next::Recv(held)) => start_recv(tr, ops, held),
            Some(Next::Send(held)) => start_send(tr, ops, held),
            None => {}
        }
    }
    // ANCHOR_END: callbacks

    /// The gloss of the alertable wait.
    fn waited(r: &Result<u32>) -> String {
        match r {
            Ok(IO_COMPLETION) => crate::t!("apc-wait-routines"),
            Ok(_) => crate::t!("apc-wait-listener"),
            r if wsaevent::timed_out(r) => crate::t!("apc-wait-timeout"),
            Err(e) => failed(*e),
        }
    }
}

fn notice(s: &Summary) -> Vec<String> {
    let waits = s
        .calls
        .get("WSAWaitForMultipleEvents")
        .copied()
        .unwrap_or(0);
    vec![
        crate::t!(
            "apc-notice-routines",
            bytes = s.bytes_in_by_kernel.to_string(),
            routines = s.cqes.to_string(),
            waits = waits.to_string(),
            timeouts = s.timeouts.to_string(),
            work = s.work.to_string()
        ),
        crate::t!("apc-notice-one-thread"),
    ]
}
