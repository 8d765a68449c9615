//! POSIX AIO through glibc (`aio_read`, `aio_suspend`): UNP figure 6.5 as POSIX defines it —
//! hand over a read, be told when it is done — and what glibc makes of it on Linux.
//!
//! The interface promises the asynchronous model: `aio_read` returns at once, the program is
//! free, and `aio_suspend` sleeps until some request has finished with the data already in the
//! buffer. But `aio_read` is no system call, and Linux has none it could use on a socket: glibc
//! hands each request to a helper thread of its own, which makes an ordinary *blocking*
//! `read` (after a `pread64` that a socket refuses with `ESPIPE`). Stage ① and stage ② both
//! happen in that helper's read: the program's thread is free because another thread of its
//! process is not. glibc runs at most 20 helpers by default (`aio_init(3)`), one per request in
//! flight, so with more idle clients than that, the next client's read waits in glibc's queue:
//! a thread pool of blocking reads, behind an asynchronous interface.
//!
//! POSIX AIO has no accept, and `aio_suspend` waits for requests only, so this server has two
//! threads of its own: the main one sleeps in `accept4` and hands each new connection to the
//! AIO thread through a channel, then rings a doorbell (a `write` to a pipe); the AIO thread
//! keeps a read of that pipe always in flight, so a new connection ends its `aio_suspend` like
//! any finished request. The echo is an `aio_write`, done by a helper too. Each connection has
//! one request in flight at a time (read, then write, then read), which bounds its backlog to
//! one read. At the end, nothing can cancel a request a helper is running (`aio_cancel` says
//! `AIO_NOTCANCELED`): a `shutdown` of each connection makes the helper's call return.
//!
//! The trace records glibc's functions as library lines (`glibc aio_read(…)`), and our threads'
//! system calls as usual; the helpers' system calls are glibc's, made on threads the program
//! never started: `--kernel` records them (`raw_syscalls`), and `strace -f` shows them.
//!
//! See aio(7), aio_read(3), aio_write(3), aio_suspend(3), aio_error(3), aio_return(3),
//! aio_init(3), aio_cancel(3), pipe(2), shutdown(2); glibc's `sysdeps/pthread/aio_misc.c`.

use super::{Kind, Model, Serve};
use crate::trace::Stage;
use crate::trace::summary::Summary;

pub const MODEL: Model = Model {
    name: "posix-aio",
    summary: "POSIX aio_read + aio_suspend (glibc): returns at once, because glibc's helper threads sit in blocking reads",
    kind: Kind::Threads,
    figure: "6.5",
    platforms: "Linux (glibc)",
    serve: SERVE,
    instead: super::here("", "kqueue", "iocp"),
    state: "an aiocb per request, in the program's memory; glibc's queue, and a helper thread blocked in read for each request it runs",
    told: "aio_suspend + aio_error",
    notice,
    examples: &[
        "iomodels posix-aio                     aio_read returns at once; who does the read?",
        "iomodels posix-aio --kernel            glibc's helper threads, as the kernel saw them",
        "iomodels posix-aio --idle 20           20 idle clients take every helper: who serves A?",
    ],
};

/// The server loop, where glibc provides POSIX AIO.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const SERVE: Option<Serve> = Some(server::serve);
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
const SERVE: Option<Serve> = None;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod server {
    use crate::chat::Room;
    use crate::echo::Conn;
    use crate::lang::Msg;
    use crate::server::{Job, Server};
    use crate::sys;
    use crate::sys::posix_aio::{self, Aiocb, Op};
    use crate::trace::Tracer;
    use anyhow::{Context, anyhow};
    use rustix::fd::{AsRawFd, OwnedFd};
    use rustix::io::Errno;
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::sync::mpsc::{self, Receiver, TryRecvError};

    // ANCHOR: serve
    /// The main thread: start the AIO thread, then accept clients and hand each over, ringing
    /// the doorbell; when the listener is shut, hang the doorbell up and wait for the AIO
    /// thread to finish every request.
    #[doc(alias = "aio_read")]
    #[doc(alias = "aio_suspend")]
    pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
        let (bell_rx, bell) = posix_aio::doorbell(&mut srv.tr)
            .with_context(|| crate::t!("err-failed", call = "pipe2"))?;
        let (conns, handed) = mpsc::channel::<Conn>();
        let (result, outcome) = mpsc::sync_channel(1);
        let job = Job {
            args: "the AIO loop",
            gloss: |tid: i64| crate::t!("posix-aio-thread-start", tid = tid.to_string()),
            dropped: |e: std::io::Error| crate::t!("posix-aio-thread-failed", why = e.to_string()),
        };
        // A chat: the room books the connections under the accepting thread, which never asks;
        // the AIO thread that serves them asks in its name.
        let room = srv.room().map(|room| (room.clone(), srv.tr.tid()));
        let data = (bell_rx, handed, room);
        let Some(aio) = srv.spawn_with(2, job, data, move |tr, (bell, handed, room)| {
            let _ = result.send(aio_loop(tr, bell, handed, room));
        }) else {
            return Err(anyhow!(crate::t!("posix-aio-no-thread")));
        };
        let waiting = crate::t!("posix-aio-accept");
        let failed = loop {
            match srv.accept(true, &waiting) {
                Ok(conn) => {
                    // The AIO thread has ended (it failed): stop accepting; its error follows.
                    if let Err(mpsc::SendError(conn)) = conns.send(conn) {
                        conn.close(&mut srv.tr, crate::msg!("posix-aio-thread-ended"));
                        break None;
                    }
                    if posix_aio::ring(&mut srv.tr, &bell).is_err() {
                        break None;
                    }
                }
                Err(Errno::INVAL) => break None,
                Err(Errno::CONNABORTED | Errno::INTR) => {}
                Err(e) => {
                    srv.abort();
                    break Some(
                        anyhow::Error::from(e).context(crate::t!("err-failed", call = "accept4")),
                    );
                }
            }
        };
        let served = hang_up(srv, conns, bell, aio, outcome);
        failed.map_or(served, Err)
    }

    /// The doorbell's write end closes: the AIO thread's read of it returns 0, and it ends the
    /// run. Returns what the AIO thread returned.
    fn hang_up(
        srv: &mut Server,
        conns: mpsc::Sender<Conn>,
        bell: OwnedFd,
        aio: std::thread::JoinHandle<()>,
        outcome: Receiver<anyhow::Result<()>>,
    ) -> anyhow::Result<()> {
        drop(conns);
        let why = crate::msg!("posix-aio-hang-up");
        sys::close(&mut srv.tr, bell, why);
        srv.tr.info(crate::msg!("posix-aio-joining"));
        let _ = aio.join();
        outcome
            .recv()
            .unwrap_or_else(|_| Err(anyhow!(crate::t!("posix-aio-panicked"))))
    }
    // ANCHOR_END: serve

    // ANCHOR: loop
    /// A request in flight, and whose it is.
    struct Flight {
        cb: Aiocb,
        to: To,
        /// `aio_error` said it is done (with this error, if it failed): its result is to be
        /// taken. It stays in the list until then, with the connection it may hold, so that
        /// a request finished in the same round can still reach that connection.
        done: Option<Option<Errno>>,
    }

    enum To {
        /// The read of the doorbell: a new connection, or the hang-up that ends the run.
        Bell,
        Conn(Conn),
        /// A chat's write to the connection on this descriptor, whose read (in flight) holds it:
        /// the room's lines go out while the read waits for what the member says.
        Deliver(i32),
    }

    /// A chat's room, and the thread it books the connections under.
    type Booked = Option<(Arc<Room>, i64)>;

    /// Bytes one doorbell read takes (one per connection rung for; more are read next time).
    const BELL: usize = 64;

    /// The AIO thread: submit, `aio_suspend` until one is done, find which with `aio_error`,
    /// take its result with `aio_return` and submit the next — until nothing is in flight.
    fn aio_loop(
        tr: &mut Tracer,
        bell: OwnedFd,
        handed: Receiver<Conn>,
        room: Booked,
    ) -> anyhow::Result<()> {
        let mut rung = Box::new([0u8; BELL]);
        let mut lp = Loop {
            flights: Vec::new(),
            dups: BTreeMap::new(),
            stopping: false,
        };
        lp.listen(tr, &bell, &mut rung)?;
        while !lp.flights.is_empty() {
            // Stage ①, as far as this thread knows: sleep until a helper has finished one.
            let list: Vec<&Aiocb> = lp.flights.iter().map(|f| &f.cb).collect();
            match posix_aio::suspend(tr, &list) {
                Err(Errno::INTR) => continue,
                r => r.with_context(|| crate::t!("err-failed", call = "aio_suspend"))?,
            }
            // Which ones? POSIX says only "one or more": ask each request in flight.
            for f in &mut lp.flights {
                match posix_aio::error(tr, &f.cb) {
                    Err(Errno::INPROGRESS) => {}
                    r => f.done = Some(r.err()),
                }
            }
            // One at a time, in the order asked; what a callback submits waits for the next
            // round.
            while let Some(i) = lp.flights.iter().position(|f| f.done.is_some()) {
                let f = lp.flights.remove(i);
                let failed = f.done.flatten();
                let op = f.cb.op();
                match f.to {
                    To::Bell => {
                        let result = posix_aio::finish(
                            tr,
                            f.cb,
                            failed,
                            crate::msg!("posix-aio-bell-hung-up"),
                        );
                        lp.rung(tr, &bell, &mut rung, &handed, result)?
                    }
                    To::Conn(conn) => {
                        let result = posix_aio::finish(
                            tr,
                            f.cb,
                            failed,
                            crate::msg!("posix-aio-client-done"),
                        );
                        lp.on_done(tr, conn, op, result)
                    }
                    To::Deliver(fd) => {
                        let result = posix_aio::finish(
                            tr,
                            f.cb,
                            failed,
                            crate::msg!("posix-aio-client-done"),
                        );
                        lp.on_delivered(tr, fd, result)
                    }
                }
            }
            if let Some((room, owner)) = &room {
                lp.fan_out(tr, room.touched(*owner));
            }
        }
        sys::close(tr, bell, crate::msg!("posix-aio-bell-close"));
        Ok(())
    }
    // ANCHOR_END: loop

    struct Loop {
        flights: Vec<Flight>,
        /// A chat: by descriptor, the duplicate each member's writes go through. glibc runs the
        /// requests of one descriptor one after another, so a write behind the member's read
        /// (in flight until it says something) would wait for it; another descriptor number
        /// for the same socket has a queue of its own.
        dups: BTreeMap<i32, OwnedFd>,
        /// The doorbell was hung up: finish what is in flight, start nothing new.
        stopping: bool,
    }

    impl Loop {
        /// Keep a read of the doorbell in flight.
        fn listen(
            &mut self,
            tr: &mut Tracer,
            bell: &OwnedFd,
            rung: &mut [u8; BELL],
        ) -> anyhow::Result<()> {
            let why = crate::msg!("posix-aio-bell-read");
            // SAFETY: `rung` lives until the AIO loop ends, after every request is finished.
            let cb = unsafe {
                posix_aio::submit(tr, Op::Read, bell.as_raw_fd(), rung.as_mut_ptr(), BELL, why)
            }
            .with_context(|| crate::t!("err-doorbell-aio-read"))?;
            self.flights.push(Flight {
                cb,
                to: To::Bell,
                done: None,
            });
            Ok(())
        }

        /// The doorbell's read finished: serve the new connections, or, on the hang-up, end
        /// every connection's request so that the loop can finish.
        fn rung(
            &mut self,
            tr: &mut Tracer,
            bell: &OwnedFd,
            rung: &mut [u8; BELL],
            handed: &Receiver<Conn>,
            result: rustix::io::Result<usize>,
        ) -> anyhow::Result<()> {
            loop {
                match handed.try_recv() {
                    Ok(conn) if self.stopping || result == Ok(0) => {
                        conn.close(tr, crate::msg!("models-run-over"))
                    }
                    Ok(conn) => self.read(tr, conn),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            match result {
                Ok(0) => {
                    self.stopping = true;
                    for f in &self.flights {
                        if let To::Conn(conn) = &f.to {
                            let why = crate::msg!("posix-aio-shut-run-over");
                            posix_aio::shut(tr, &conn.fd, why);
                        }
                    }
                    Ok(())
                }
                Ok(_) => self.listen(tr, bell, rung),
                Err(e) => Err(anyhow::Error::from(e).context(crate::t!("err-doorbell-read"))),
            }
        }

        /// A connection's request finished: echo what was read (a chat: the room queues it
        /// for the others, and read again), read again once everything is echoed, or close.
        fn on_done(
            &mut self,
            tr: &mut Tracer,
            mut conn: Conn,
            op: Op,
            result: rustix::io::Result<usize>,
        ) {
            let done = crate::msg!("completion-done");
            let close = match (op, result) {
                (Op::Read, Ok(0)) => {
                    conn.hung_up(tr);
                    return self.read_no_more(tr, conn, done);
                }
                (Op::Read, _) if self.stopping => {
                    return self.read_no_more(tr, conn, crate::msg!("models-run-over"));
                }
                (_, Ok(_)) if self.stopping => crate::msg!("models-run-over"),
                (Op::Read, Ok(n)) if conn.chat() => {
                    conn.received(tr, n);
                    if conn.eof || conn.dropped() {
                        return self.read_no_more(tr, conn, done);
                    }
                    return self.read(tr, conn);
                }
                (Op::Read, Ok(n)) => {
                    conn.received(tr, n);
                    return self.write(tr, conn);
                }
                (Op::Read, Err(_)) => {
                    return self.read_no_more(tr, conn, crate::msg!("models-conn-failed"));
                }
                (Op::Write, Ok(n)) => {
                    let sent = conn.mark_sent(n);
                    if conn.dropped() {
                        crate::msg!("models-dropped")
                    } else if !sent || conn.wants_write() {
                        // A short write, or more lines for a chat member: another request.
                        return self.write(tr, conn);
                    } else if conn.finished() {
                        done
                    } else {
                        return self.read(tr, conn);
                    }
                }
                (_, Err(_)) => crate::msg!("models-conn-failed"),
            };
            self.close(tr, conn, close);
        }

        /// Closes a connection, and the duplicate its chat writes went through first (the
        /// socket closes with its last descriptor).
        fn close(&mut self, tr: &mut Tracer, conn: Conn, note: Msg) {
            if let Some(dup) = self.dups.remove(&conn.raw()) {
                sys::close(tr, dup, crate::msg!("posix-aio-dup-close"));
            }
            conn.close(tr, note);
        }

        /// A connection whose read is over: it waits under its chat write still in flight,
        /// writes what is left for it, or closes.
        fn read_no_more(&mut self, tr: &mut Tracer, conn: Conn, note: Msg) {
            let fd = conn.raw();
            if let Some(f) = self
                .flights
                .iter_mut()
                .find(|f| matches!(f.to, To::Deliver(d) if d == fd))
            {
                // The write's completion hands it back (`on_done`, `Op::Write`).
                f.to = To::Conn(conn);
            } else if conn.eof && !conn.dropped() && conn.wants_write() && !self.stopping {
                self.write(tr, conn);
            } else {
                self.close(tr, conn, note);
            }
        }

        /// The connection on `fd`, held by its read in flight.
        fn reading(&mut self, fd: i32) -> Option<&mut Conn> {
            self.flights.iter_mut().find_map(|f| match &mut f.to {
                To::Conn(conn) if conn.raw() == fd && f.cb.op() == Op::Read => Some(conn),
                _ => None,
            })
        }

        fn delivering(&self, fd: i32) -> bool {
            self.flights
                .iter()
                .any(|f| matches!(f.to, To::Deliver(d) if d == fd))
        }

        /// A chat: each member the room queued lines for (or dropped) since the last look.
        /// One with no write in flight gets one (the fan-out: one read, then an aio_write per
        /// member); a dropped one is shut down, so that its requests finish and it closes.
        fn fan_out(&mut self, tr: &mut Tracer, touched: Vec<i32>) {
            for fd in touched {
                let delivering = self.delivering(fd);
                let Some(conn) = self.reading(fd) else {
                    // Held by a write in flight: its completion writes what came since.
                    continue;
                };
                if conn.dropped() {
                    let why = crate::msg!("posix-aio-shut-dropped");
                    posix_aio::shut(tr, &conn.fd, why);
                } else if !delivering && conn.wants_write() {
                    self.deliver(tr, fd);
                }
            }
        }

        /// Submit a write of the room's lines for the member on `fd`, beside its read.
        fn deliver(&mut self, tr: &mut Tracer, fd: i32) {
            if !self.dups.contains_key(&fd) {
                let Some(conn) = self.reading(fd) else { return };
                let why = crate::msg!("posix-aio-dup");
                match sys::dup(tr, &conn.fd, why) {
                    Ok(dup) => {
                        self.dups.insert(fd, dup);
                    }
                    Err(_) => {
                        let why = crate::msg!("posix-aio-shut-no-dup");
                        return posix_aio::shut(tr, &conn.fd, why);
                    }
                }
            }
            let wfd = self.dups.get(&fd).map_or(fd, |d| d.as_raw_fd());
            let Some(conn) = self.reading(fd) else { return };
            let out = conn.unsent();
            let (ptr, len) = (out.as_ptr().cast_mut(), out.len());
            let why = crate::msg!("posix-aio-submit-deliver");
            // SAFETY: glibc only reads the buffer for a write; it is the connection's queue,
            // which changes only when this request is finished (new lines wait in the
            // mailbox), and the connection closes only after that (`read_no_more`).
            match unsafe { posix_aio::submit(tr, Op::Write, wfd, ptr, len, why) } {
                Ok(cb) => self.flights.push(Flight {
                    cb,
                    to: To::Deliver(fd),
                    done: None,
                }),
                Err(_) => {
                    if let Some(conn) = self.reading(fd) {
                        let why = crate::msg!("posix-aio-shut-refused");
                        posix_aio::shut(tr, &conn.fd, why);
                    }
                }
            }
        }

        /// A chat's write beside a read finished: write the rest, or what came since; a failed
        /// one shuts the connection down, so that its read finishes and it closes.
        fn on_delivered(&mut self, tr: &mut Tracer, fd: i32, result: rustix::io::Result<usize>) {
            let stopping = self.stopping;
            let Some(conn) = self.reading(fd) else { return };
            match result {
                Ok(n) => {
                    conn.mark_sent(n);
                    if !stopping && !conn.dropped() && conn.wants_write() {
                        self.deliver(tr, fd);
                    }
                }
                Err(_) if stopping => {}
                Err(_) => {
                    let why = crate::msg!("posix-aio-shut-write-failed");
                    posix_aio::shut(tr, &conn.fd, why);
                }
            }
        }

        /// Submit a read into the connection's buffer: a helper will sleep in it until the
        /// client sends.
        fn read(&mut self, tr: &mut Tracer, mut conn: Conn) {
            let buf = conn.read_buf();
            let (ptr, len) = (buf.as_mut_ptr(), buf.len());
            let why = crate::msg!("posix-aio-submit-read");
            // SAFETY: the buffer is the connection's, which travels with the request until its
            // aio_return; its heap memory does not move.
            match unsafe { posix_aio::submit(tr, Op::Read, conn.raw(), ptr, len, why) } {
                Ok(cb) => self.flights.push(Flight {
                    cb,
                    to: To::Conn(conn),
                    done: None,
                }),
                Err(_) => conn.close(tr, crate::msg!("posix-aio-read-refused")),
            }
        }

        /// Submit a write of what is left to echo.
        fn write(&mut self, tr: &mut Tracer, mut conn: Conn) {
            let out = conn.unsent();
            let (ptr, len) = (out.as_ptr().cast_mut(), out.len());
            let why = crate::msg!("posix-aio-submit-write");
            // SAFETY: glibc only reads the buffer for a write; it is the connection's backlog,
            // which nothing changes until this request's aio_return.
            match unsafe { posix_aio::submit(tr, Op::Write, conn.raw(), ptr, len, why) } {
                Ok(cb) => self.flights.push(Flight {
                    cb,
                    to: To::Conn(conn),
                    done: None,
                }),
                Err(_) => conn.close(tr, crate::msg!("posix-aio-write-refused")),
            }
        }
    }
}

fn notice(s: &Summary) -> Vec<String> {
    let n = |call: &str| s.library.get(call).copied().unwrap_or(0).to_string();
    let ms = |us: u64| format!("{:.1}", us as f64 / 1e3);
    vec![
        crate::t!(
            "posix-aio-notice-returned",
            reads = n("aio_read"),
            writes = n("aio_write"),
            bytes = s.bytes_in_by_library.to_string()
        ),
        crate::t!(
            "posix-aio-notice-suspend",
            ms = ms(s.stage(Stage::DataReady)),
            suspends = n("aio_suspend"),
            errors = n("aio_error")
        ),
        crate::t!("posix-aio-notice-accept", clients = s.accepted.to_string()),
    ]
}
