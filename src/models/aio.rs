//! Linux native AIO (`io_submit`, UNP figure 6.5 as it is sold): hand the kernel a read with a
//! key, be told by an event when it is done — and watch the read happen inside the submission.
//!
//! The interface is a completion interface, built like io_uring's four steps: make a key (the
//! iocb's `aio_data`) and map it to a callback; submit (`io_submit` of an `IOCB_CMD_PREAD` into
//! the connection's buffer); wait (`io_getevents`); look the key up and call back. But a socket
//! read has no asynchronous path in the kernel: `IOCB_CMD_PREAD` runs the socket's read at once,
//! so `io_submit` *sleeps* until the client sends (stage ①), the kernel copies the data (stage ②)
//! and only then returns, with the event already queued; `io_getevents` then returns at once.
//! One thread, asleep inside one client's submission, serves nobody else: this behaves like
//! the blocking model, whatever its interface promises. The echo is a plain blocking `sendto`:
//! an `IOCB_CMD_PWRITE` on a socket runs just as synchronously inside `io_submit`, and would
//! only add a system call and an event to every echo.
//!
//! AIO has no accept: the listener is watched with `IOCB_CMD_POLL` (Linux 4.18), the one AIO
//! request that truly waits in the kernel, and `accept4` follows when it fires. With `--poll`
//! every connection is watched that way too: `io_submit` returns at once, `io_getevents` waits
//! and hands back a poll mask, and the server's own `recvfrom` copies — readiness (figure 6.3)
//! delivered through AIO, the key being the descriptor, as epoll's data is.
//!
//! Nothing can wake a thread asleep inside `io_submit` (`io_cancel` has no way to cancel a socket
//! read, and the thread is inside the call anyway), so each connection gets `SO_RCVTIMEO` and
//! `SO_SNDTIMEO` of 1 s: a read (or the echo's send) that waited that long comes back `EAGAIN`,
//! and the loop sees whether the run is over before waiting for that client again.
//!
//! See io_setup(2), io_submit(2), io_getevents(2), io_destroy(2), aio(7), poll(2), socket(7).

use super::{Kind, Model, Serve};
use crate::trace::Stage;
use crate::trace::summary::Summary;

pub const MODEL: Model = Model {
    name: "aio",
    summary: "Linux AIO: io_submit a read with a key, io_getevents its event — but a socket read runs inside io_submit",
    kind: Kind::Blocking,
    figure: "6.5",
    platforms: "Linux",
    serve: SERVE,
    instead: super::here("", "kqueue", "iocp"),
    state: "a key → callback table the program owns (the iocb's aio_data), but the thread sleeps inside one client's io_submit",
    told: "io_submit returning",
    notice,
    examples: &[
        "iomodels aio                           io_submit of a read sleeps until the client sends",
        "iomodels aio --poll                    IOCB_CMD_POLL: readiness through AIO, then recvfrom",
        "iomodels aio --format json             each event with the key tying it to its iocb",
    ],
};

/// The server loop, where this OS has AIO.
#[cfg(target_os = "linux")]
const SERVE: Option<Serve> = Some(server::serve);
#[cfg(not(target_os = "linux"))]
const SERVE: Option<Serve> = None;

#[cfg(target_os = "linux")]
mod server {
    use crate::echo::{Conn, Send};
    use crate::models::Refused;
    use crate::models::completion::{Held, Op, Ops};
    use crate::server::Server;
    use crate::sys::aio::{Aio, Done, Iocb, What, wake_every, wake_polls};
    use crate::sys::set_nonblocking;
    use crate::trace::{Stage, Tracer};
    use anyhow::Context;
    use rustix::io::Errno;
    use std::collections::{BTreeMap, BTreeSet};

    /// Events the context holds: one per connection, plus the listener's poll.
    const EVENTS: usize = 1024;

    /// What the listener's poll asks for.
    const LISTENER: u32 = libc::POLLIN as u32;

    // ANCHOR: serve
    /// `io_setup`, then the completion loop (`IOCB_CMD_PREAD`, the default) or the readiness
    /// loop (`--poll`), then `io_destroy`.
    #[doc(alias = "io_setup")]
    #[doc(alias = "io_submit")]
    #[doc(alias = "io_getevents")]
    pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
        let events = srv.knobs.max_conns.min(EVENTS - 1) + 1;
        let mut aio = Aio::setup(&mut srv.tr, events)
            .map_err(|e| Refused(crate::t!("aio-refused", why = e.to_string())))?;
        set_nonblocking(&mut srv.tr, &srv.listener, crate::msg!("aio-never-waits"));
        let served = if srv.knobs.poll {
            readiness(srv, &mut aio)
        } else {
            completion(srv, &mut aio)
        };
        aio.destroy(&mut srv.tr);
        served
    }
    // ANCHOR_END: serve

    // ANCHOR: completion
    /// The completion loop: the key → callback table, and the context it is filled from.
    struct Loop<'a> {
        aio: &'a mut Aio,
        /// Key → the callback it stands for ([`Op`]), and what its iocb asked for.
        ops: Ops<u64, Iocb>,
        /// The accept's gloss, looked up once a run.
        accepted: String,
    }

    /// Poll the listener; then wait → look up → call back until the run is over and every key
    /// has been reaped.
    fn completion(srv: &mut Server, aio: &mut Aio) -> anyhow::Result<()> {
        let mut lp = Loop {
            aio,
            ops: Ops::new(),
            accepted: crate::t!("aio-accept"),
        };
        lp.watch_listener(srv)?;
        let mut done = Vec::new();
        while !lp.ops.is_empty() {
            // Step 3: the reads ran inside io_submit, so their events are here already; only
            // when nothing but the listener's poll is in flight does this wait.
            match lp.aio.wait(&mut srv.tr, Stage::Completion, &mut done) {
                Err(Errno::INTR) => continue,
                r => r.with_context(|| crate::t!("err-failed", call = "io_getevents"))?,
            };
            for &d in &done {
                // Step 4: look the key up; the entry leaves the table, its callback runs.
                let Some((op, iocb)) = lp.ops.finish(d.key) else {
                    Aio::unknown(&mut srv.tr, d);
                    continue;
                };
                let to = match op {
                    Op::Accept(()) => "on_listener",
                    _ => "on_received",
                };
                lp.aio
                    .completed(&mut srv.tr, d, &iocb, op.received(d.result()), to);
                match op {
                    Op::Accept(()) => on_listener(&mut lp, srv, d)?,
                    Op::Recv(held) => on_received(&mut lp, srv, held, d),
                    // This loop submits polls and reads only: the echo is a plain sendto.
                    Op::Send(held) => lp.ops.close(&mut srv.tr, held, crate::msg!("aio-no-write")),
                    Op::Deliver(_) | Op::Cancel => {}
                }
            }
        }
        Ok(())
    }

    impl Loop<'_> {
        /// `IOCB_CMD_POLL` on the listener, its key mapped to `on_listener`: AIO has no accept.
        fn watch_listener(&mut self, srv: &mut Server) -> anyhow::Result<()> {
            let why = crate::msg!("aio-poll-listener");
            let (key, iocb) = self
                .aio
                .poll(&mut srv.tr, &srv.listener, None, LISTENER, why)
                .with_context(|| crate::t!("err-failed", call = "io_submit(IOCB_CMD_POLL)"))?;
            self.ops.start(key, Op::Accept(()), iocb);
            Ok(())
        }

        /// `IOCB_CMD_PREAD` into the connection's buffer, its key mapped to `on_received`. This
        /// is where the thread sleeps until the client sends.
        fn submit_read(&mut self, tr: &mut Tracer, mut held: Held) {
            let fd = held.conn.raw();
            // SAFETY: the buffer is this connection's, parked with the key below until its
            // event is reaped; its heap memory does not move.
            match unsafe { self.aio.pread(tr, fd, held.conn.read_buf()) } {
                Ok((key, iocb)) => self.ops.start(key, Op::Recv(held), iocb),
                Err(_) => self.ops.close(tr, held, crate::msg!("aio-submit-failed")),
            }
        }
    }

    /// The listener is ready: accept one client and submit its first read (which sleeps until
    /// it sends), then poll the listener again (an AIO poll fires once).
    fn on_listener(lp: &mut Loop, srv: &mut Server, d: Done) -> anyhow::Result<()> {
        if d.result().is_err() {
            return Err(anyhow::anyhow!(crate::t!("aio-listener-failed")));
        }
        match srv.accept(false, &lp.accepted) {
            Ok(conn) => {
                wake_every(&mut srv.tr, &conn.fd);
                let held = lp.ops.open(conn);
                lp.submit_read(&mut srv.tr, held);
            }
            // The harness shut the listener down: reap what is queued, then stop.
            Err(Errno::INVAL) => {
                let _ = lp.ops.stop();
                return Ok(());
            }
            Err(Errno::AGAIN | Errno::CONNABORTED | Errno::INTR) => {}
            Err(e) => {
                return Err(
                    anyhow::Error::from(e).context(crate::t!("err-failed", call = "accept4"))
                );
            }
        }
        lp.watch_listener(srv)
    }

    /// A read's event: the bytes were copied back inside its io_submit. Echo them, or close on
    /// EOF or error; after a 1-s timeout, read again (unless the run is over).
    fn on_received(lp: &mut Loop, srv: &mut Server, mut held: Held, d: Done) {
        let close = match d.result() {
            _ if lp.ops.stopping() => crate::msg!("models-run-over"),
            Ok(0) => crate::msg!("completion-done"),
            Ok(n) => {
                held.conn.received(&mut srv.tr, n as usize);
                if echo(srv, &mut held.conn) {
                    return lp.submit_read(&mut srv.tr, held);
                }
                crate::msg!("aio-failed-or-over")
            }
            // 1 s without data: wait for the same client again, unless the run is over.
            Err(Errno::AGAIN) if !srv.stopping() => return lp.submit_read(&mut srv.tr, held),
            Err(Errno::AGAIN) => crate::msg!("models-run-over"),
            Err(_) => crate::msg!("models-conn-failed"),
        };
        lp.ops.close(&mut srv.tr, held, close);
    }

    /// The echo: a plain blocking `sendto` until every byte is in the send buffer (an
    /// `IOCB_CMD_PWRITE` would run just as synchronously inside `io_submit`). A client that does
    /// not read makes it wait: after each 1-s timeout it tries again, unless the run is over.
    /// Returns whether the connection is still good.
    fn echo(srv: &mut Server, conn: &mut Conn) -> bool {
        while conn.wants_write() {
            match conn.send(&mut srv.tr) {
                Send::Done => {}
                Send::WouldBlock if !srv.stopping() => {}
                Send::WouldBlock | Send::Failed(_) => return false,
            }
        }
        true
    }
    // ANCHOR_END: completion

    // ANCHOR: readiness
    /// `--poll`: every socket watched with `IOCB_CMD_POLL` (key = its descriptor), one-shot;
    /// `io_getevents` sleeps until one is ready, then the server's own `recvfrom`/`sendto`.
    fn readiness(srv: &mut Server, aio: &mut Aio) -> anyhow::Result<()> {
        let lfd = srv.lfd();
        let why = crate::msg!("aio-poll-listener-fd");
        let note = crate::t!("aio-poll-accept");
        let joined = crate::msg!("aio-poll-client");
        aio.poll(&mut srv.tr, &srv.listener, Some(lfd as u64), LISTENER, why)
            .with_context(|| crate::t!("err-failed", call = "io_submit(IOCB_CMD_POLL)"))?;
        let mut conns = Conns::default();
        let mut done = Vec::new();
        'serve: loop {
            // Stage ①: sleep until a polled descriptor is ready.
            match aio.wait(&mut srv.tr, Stage::DataReady, &mut done) {
                Err(Errno::INTR) => continue,
                r => r.with_context(|| crate::t!("err-failed", call = "io_getevents"))?,
            };
            for &d in &done {
                let fd = d.key as i32;
                if fd == lfd {
                    let poll = Iocb {
                        what: What::Poll,
                        fd,
                    };
                    aio.completed(&mut srv.tr, d, &poll, &[], "accept4");
                    let over = srv.accept_waiting(&note, |srv, conn| {
                        let fd = conn.raw();
                        if watch(aio, &mut srv.tr, &conn, joined)? {
                            conns.reading.insert(fd);
                        }
                        conns.open.insert(fd, conn);
                        Ok(())
                    })?;
                    if over {
                        break 'serve;
                    }
                    aio.poll(&mut srv.tr, &srv.listener, Some(lfd as u64), LISTENER, why)
                        .with_context(|| {
                            crate::t!("err-failed", call = "io_submit(IOCB_CMD_POLL)")
                        })?;
                    continue;
                }
                let closing = if d.key & WRITE == 0 {
                    conns.on_ready(aio, srv, d)
                } else {
                    conns.on_writable(aio, srv, d)
                };
                conns.settle(srv, fd, closing);
            }
            // A chat: what one client said is queued for the others. Send it now, one sendto
            // per member (the fan-out); what does not fit waits for a poll for POLLOUT.
            for fd in srv.touched() {
                let closing = match conns.open.get(&fd) {
                    Some(conn) if conn.dropped() => Some(crate::msg!("models-dropped")),
                    Some(_) => conns.deliver(aio, srv, fd),
                    None => None,
                };
                conns.settle(srv, fd, closing);
            }
        }
        for (_, conn) in conns.open {
            conn.close(&mut srv.tr, crate::msg!("models-run-over"));
        }
        Ok(())
    }

    /// The key bit of a chat member's second poll, for `POLLOUT` alone: the room's lines for
    /// it wait for room in its send buffer while its first poll waits for what it says.
    const WRITE: u64 = 1 << 32;

    /// The readiness loop's connections, by descriptor.
    #[derive(Default)]
    struct Conns {
        open: BTreeMap<i32, Conn>,
        /// Those with their poll in flight (key = the descriptor).
        reading: BTreeSet<i32>,
        /// Chat members with a `POLLOUT` poll in flight too (key = `fd | WRITE`).
        writing: BTreeSet<i32>,
        /// Those to close once their polls in flight have fired, and why.
        closing: BTreeMap<i32, crate::lang::Msg>,
    }

    impl Conns {
        /// A connection's poll fired: `recvfrom` if it is readable, the echo at once (a chat
        /// member's lines go through [`Conns::deliver`]), and poll it again. Returns why to
        /// close it, if it should be.
        fn on_ready(
            &mut self,
            aio: &mut Aio,
            srv: &mut Server,
            d: Done,
        ) -> Option<crate::lang::Msg> {
            let fd = fired(aio, &mut srv.tr, d, &mut self.reading, "recvfrom / sendto")?;
            if let Some(&why) = self.closing.get(&fd) {
                return Some(why);
            }
            // A descriptor with a poll in flight is open (`settle` waits for its polls).
            let conn = self.open.get_mut(&fd)?;
            // Stage ②: our own copy, as with any readiness API; the echo goes at once.
            let readable = d.result().is_ok_and(|m| m & READABLE != 0) && conn.can_read();
            let echo = !conn.chat();
            if let Some(why) = conn.serve_ready(&mut srv.tr, readable, echo) {
                return Some(why);
            }
            match watch(aio, &mut srv.tr, conn, crate::msg!("aio-poll-again")) {
                Ok(true) => {
                    self.reading.insert(fd);
                    None
                }
                // A chat member that hung up: its last lines go out under its POLLOUT poll.
                Ok(false) => None,
                Err(_) => Some(crate::msg!("aio-submit-failed")),
            }
        }

        /// A chat member's `POLLOUT` poll fired: send it more.
        fn on_writable(
            &mut self,
            aio: &mut Aio,
            srv: &mut Server,
            d: Done,
        ) -> Option<crate::lang::Msg> {
            let fd = fired(aio, &mut srv.tr, d, &mut self.writing, "sendto")?;
            match self.closing.get(&fd) {
                Some(&why) => Some(why),
                None => self.deliver(aio, srv, fd),
            }
        }

        /// A chat member's lines: a `sendto` now; what does not fit waits for a poll for
        /// `POLLOUT`. Returns why to close it, if it should be.
        fn deliver(
            &mut self,
            aio: &mut Aio,
            srv: &mut Server,
            fd: i32,
        ) -> Option<crate::lang::Msg> {
            let conn = self.open.get_mut(&fd)?;
            if conn.wants_write() && matches!(conn.send(&mut srv.tr), Send::Failed(_)) {
                return Some(crate::msg!("models-conn-failed"));
            }
            if conn.finished() {
                return Some(crate::msg!("aio-delivered"));
            }
            if conn.wants_write() && !self.writing.contains(&fd) {
                let why = crate::msg!("aio-poll-writable");
                let key = Some(fd as u64 | WRITE);
                if aio
                    .poll(&mut srv.tr, &conn.fd, key, libc::POLLOUT as u32, why)
                    .is_err()
                {
                    return Some(crate::msg!("aio-submit-failed"));
                }
                self.writing.insert(fd);
            }
            None
        }

        /// Closes a connection that should be, once none of its polls is in flight; until then
        /// a shutdown makes them fire.
        fn settle(&mut self, srv: &mut Server, fd: i32, closing: Option<crate::lang::Msg>) {
            let Some(why) = closing else { return };
            let first = !self.closing.contains_key(&fd);
            let why = *self.closing.entry(fd).or_insert(why);
            let Some(conn) = self.open.get(&fd) else {
                return;
            };
            if self.reading.contains(&fd) || self.writing.contains(&fd) {
                if first {
                    wake_polls(&mut srv.tr, &conn.fd);
                }
                return;
            }
            self.closing.remove(&fd);
            if let Some(conn) = self.open.remove(&fd) {
                conn.close(&mut srv.tr, why);
            }
        }
    }

    /// The poll completion `d` of a descriptor in `polled` (which it leaves), recorded with what
    /// the server does `next`; `None`, and the trace says so, for a key nobody polled.
    fn fired(
        aio: &Aio,
        tr: &mut Tracer,
        d: Done,
        polled: &mut BTreeSet<i32>,
        next: &str,
    ) -> Option<i32> {
        let fd = d.key as i32;
        if !polled.remove(&fd) {
            Aio::unknown(tr, d);
            return None;
        }
        let poll = Iocb {
            what: What::Poll,
            fd,
        };
        aio.completed(tr, d, &poll, &[], next);
        Some(fd)
    }

    /// Poll events that send the server to `recvfrom`: data, a FIN, or an error to collect.
    const READABLE: u32 = (libc::POLLIN | libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) as u32;

    /// `IOCB_CMD_POLL` on a connection for what its echo needs: `POLLIN` while it may read,
    /// `POLLOUT` while bytes wait to be sent (a chat member's have a poll of their own). Returns
    /// whether there was anything to poll for.
    fn watch(
        aio: &mut Aio,
        tr: &mut Tracer,
        conn: &Conn,
        why: crate::lang::Msg,
    ) -> rustix::io::Result<bool> {
        let mut events = 0;
        if conn.can_read() {
            events |= (libc::POLLIN | libc::POLLRDHUP) as u32;
        }
        if conn.wants_write() && !conn.chat() {
            events |= libc::POLLOUT as u32;
        }
        if events == 0 && conn.chat() {
            return Ok(false);
        }
        aio.poll(tr, &conn.fd, Some(conn.raw() as u64), events, why)
            .map(|_| true)
    }
    // ANCHOR_END: readiness
}

fn notice(s: &Summary) -> Vec<String> {
    let submits = s.calls.get("io_submit").copied().unwrap_or(0);
    let own = s.calls.get("recvfrom").copied().unwrap_or(0);
    let ms = |us: u64| format!("{:.1}", us as f64 / 1e3);
    if own > 0 {
        // --poll: readiness through AIO.
        return vec![
            crate::t!(
                "aio-notice-poll-submits",
                submits = submits.to_string(),
                ms = ms(s.stage(Stage::DataReady))
            ),
            crate::t!(
                "aio-notice-poll-own",
                own = own.to_string(),
                bytes = s.bytes_in.to_string()
            ),
        ];
    }
    let mut out = vec![crate::t!(
        "aio-notice-submits",
        submits = submits.to_string(),
        ms = ms(s.stage(Stage::DataReady)),
        events = s.cqes.to_string()
    )];
    if let Some(w) = s.longest_wait() {
        out.push(crate::t!(
            "aio-notice-stall",
            client = w.client.to_string(),
            bytes = w.bytes.to_string(),
            ms = ms(w.wait_us)
        ));
    }
    out.push(crate::t!(
        "aio-notice-blocking",
        bytes = s.bytes_in_by_kernel.to_string(),
        events = s.cqes.to_string(),
        submits = submits.to_string()
    ));
    out
}
