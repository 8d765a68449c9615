//! The per-connection echo state every model shares: the bytes still to send back (bounded), a
//! read buffer where a completion model needs one, and the traced `recvfrom`/`sendto` that move
//! them.
//!
//! Where the data lands shows the memory cost of each kind of model. A process that calls
//! `recvfrom` itself (readiness, signals, blocking) needs a buffer only for the length of that
//! call, so every connection a server thread serves reads into the same one (`SCRATCH`). A
//! completion model hands the kernel a buffer with each read and cannot touch it until the
//! read completes, so each connection with a read pending holds a buffer of its own (`Conn::buf`),
//! idle or not. Either way what is not echoed yet is kept per connection (`out`).
//!
//! Models decide *when* to call [`Conn::recv`] and [`Conn::send`] (that is the lesson); this file
//! only does the copying, so a model file holds exactly what differs between models.

use crate::chat::{Heard, Seat};
use crate::limits::Knobs;
use crate::limits::{Budget, Ledger};
use crate::sys;
use crate::trace::{Call, Stage, Started, Tracer, escape};
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::net::RecvFlags;
use std::cell::RefCell;

thread_local! {
    /// The read buffer every connection of this thread's `recvfrom` shares: the data moves on
    /// to the connection's `out` before the next call.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// One client connection as the server sees it.
pub struct Conn {
    pub fd: OwnedFd,
    /// Bytes received and not yet echoed; `out[sent..]` is what is left to send.
    out: Vec<u8>,
    sent: usize,
    /// Where a completion model's reads land: empty until its first read is handed to the
    /// kernel, then `read_max` bytes for as long as the connection lives.
    #[cfg(any(target_os = "linux", windows))]
    buf: Vec<u8>,
    /// The read size (`--read-size`).
    read_max: usize,
    max_pending: usize,
    /// The peer has shut down its writing side (recv returned 0).
    pub eof: bool,
    /// This connection's share of the server's budget (open count, buffered bytes).
    ledger: Ledger,
    /// `--app chat`: its place in the room. What other members say is queued in its mailbox,
    /// and moves to `out` when `out` is all sent.
    seat: Option<Seat>,
}

/// What a recv found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recv {
    /// This many bytes were copied into our buffer (and queued for the echo).
    Data(usize),
    /// The peer closed its writing side: nothing more will come.
    Eof,
    /// Nothing there yet (`EAGAIN` on a nonblocking socket).
    WouldBlock,
    /// The connection failed (`ECONNRESET`, …): close it.
    Failed(Errno),
}

/// What a send achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Send {
    /// Everything queued has gone out.
    Done,
    /// The socket's send buffer is full; the rest waits for writability.
    WouldBlock,
    Failed(Errno),
}

/// What completion models (io_uring on Linux, IOCP on Windows) need: buffers to hand the kernel.
#[cfg(any(target_os = "linux", windows))]
impl Conn {
    /// The buffer the next read copies into (`read_size` bytes). A completion model hands its
    /// address to the kernel, which fills it later; the buffer never moves while `Conn` lives.
    pub fn read_buf(&mut self) -> &mut [u8] {
        if self.buf.is_empty() {
            self.buf = vec![0; self.read_max];
        }
        let want = self.read_size();
        &mut self.buf[..want]
    }

    /// The first `n` bytes of the read buffer, as the last read left them.
    pub fn last_read(&self, n: usize) -> &[u8] {
        &self.buf[..n.min(self.buf.len())]
    }

    /// The kernel copied `n` bytes into this connection's read buffer (a completion model):
    /// queue them for the echo.
    pub fn received(&mut self, tr: &mut Tracer, n: usize) {
        let Conn {
            out,
            sent,
            buf,
            ledger,
            seat,
            eof,
            ..
        } = self;
        match seat {
            Some(seat) => *eof |= seat.heard(tr, &buf[..n]) == Heard::Quit,
            None => queue(out, sent, ledger, &buf[..n]),
        }
    }

    /// A chat member's bytes, copied by the kernel into a buffer of its own choosing (io_uring's
    /// provided buffers, which go back to the kernel at once): its lines go to the room.
    #[cfg(target_os = "linux")]
    pub fn heard(&mut self, tr: &mut Tracer, data: &[u8]) {
        if let Some(seat) = &mut self.seat {
            self.eof |= seat.heard(tr, data) == Heard::Quit;
        }
    }

    /// A completion model's receive found EOF: nothing more comes; a chat member leaves the
    /// room (the others are told), and what is queued for it still goes out.
    pub fn hung_up(&mut self, tr: &mut Tracer) {
        self.eof = true;
        if let Some(seat) = &mut self.seat {
            seat.leave(tr);
        }
    }

    /// Whether this connection is a chat member (its sends deliver the room's lines).
    pub fn chat(&self) -> bool {
        self.seat.is_some()
    }

    /// What is left to send. A completion model hands this slice to the kernel; nothing is
    /// queued behind it until the send completes (a chat's lines wait in the mailbox), so it
    /// does not move meanwhile.
    pub fn unsent(&mut self) -> &[u8] {
        self.refill();
        &self.out[self.sent..]
    }
}

impl Conn {
    /// A connection served by thread `owner` (its tid: a chat tells that thread when lines
    /// are queued for this connection).
    pub fn new(fd: OwnedFd, knobs: &Knobs, budget: &std::sync::Arc<Budget>, owner: i64) -> Conn {
        let seat = budget.room().map(|room| room.seat(sys::raw(&fd), owner));
        Conn {
            fd,
            out: Vec::new(),
            sent: 0,
            #[cfg(any(target_os = "linux", windows))]
            buf: Vec::new(),
            read_max: knobs.read_size.max(1),
            max_pending: knobs.max_pending.max(1),
            eof: false,
            ledger: Ledger::open(budget),
            seat,
        }
    }

    pub fn raw(&self) -> i32 {
        sys::raw(&self.fd)
    }

    /// Bytes received and not yet echoed.
    pub fn pending(&self) -> usize {
        self.out.len() - self.sent
    }

    /// Whether to read more: not after EOF, and not while the echo backlog is full
    /// (backpressure: a client that does not read its echo stops being read). Beyond one read's
    /// worth, the backlog also draws on the server-wide `--max-buffer-total`: a connection that
    /// holds that much already is not read while the budget is spent (it still has an echo to
    /// send, so it is woken when that drains).
    pub fn can_read(&self) -> bool {
        if self.seat.is_some() {
            // A chat member's lines go to the others' mailboxes, each bounded on its own.
            return !self.eof && !self.dropped();
        }
        let pending = self.pending();
        !self.eof
            && pending < self.max_pending
            && (pending < self.read_max || self.ledger.budget().has_room())
    }

    pub fn wants_write(&self) -> bool {
        self.pending() > 0 || self.seat.as_ref().is_some_and(|s| s.mail.has_bytes())
    }

    /// A chat member the room dropped for reading too slowly: close it.
    pub fn dropped(&self) -> bool {
        self.seat.as_ref().is_some_and(|s| s.mail.dropped())
    }

    /// The chat's mailbox of this connection, for a thread that waits on it (`threads`).
    pub fn mailbox(&self) -> Option<std::sync::Arc<crate::chat::Mailbox>> {
        self.seat.as_ref().map(|s| s.mail.clone())
    }

    /// A chat: once everything taken is sent, take what the room queued since.
    fn refill(&mut self) {
        if let Some(seat) = &self.seat
            && self.sent >= self.out.len()
        {
            self.out.clear();
            self.sent = 0;
            seat.mail.take(&mut self.out);
        }
    }

    /// One round of a model that never waits in a call: a `recvfrom` if the connection was
    /// reported readable, a `sendto` if it has something to echo and may write. Returns why to
    /// close it, once it has failed or is done.
    pub fn serve_ready(
        &mut self,
        tr: &mut Tracer,
        readable: bool,
        writable: bool,
    ) -> Option<crate::lang::Msg> {
        let mut failed = readable && matches!(self.recv(tr), Recv::Failed(_));
        if !failed && writable && self.wants_write() {
            failed = matches!(self.send(tr), Send::Failed(_));
        }
        if failed {
            Some(crate::msg!("models-conn-failed"))
        } else if self.finished() {
            Some(crate::msg!("models-conn-done"))
        } else {
            None
        }
    }

    /// `--app chat`: the room queued lines for this connection (or dropped it) while the model
    /// was serving another: one `sendto` now, unless it was dropped. Returns why to close it,
    /// once it is dropped, has failed, or is done.
    pub fn deliver(&mut self, tr: &mut Tracer) -> Option<crate::lang::Msg> {
        if self.dropped() {
            return Some(crate::msg!("models-dropped"));
        }
        self.serve_ready(tr, false, true)
    }

    /// Done with this connection: the peer has finished and everything is echoed.
    pub fn finished(&self) -> bool {
        self.dropped() || (self.eof && !self.wants_write())
    }

    /// How many bytes the next read may take: the read size, less when the echo backlog is
    /// nearly full (never 0, so a read can still see EOF).
    pub fn read_size(&self) -> usize {
        if self.seat.is_some() {
            return self.read_max;
        }
        let room = self.max_pending - self.pending().min(self.max_pending);
        self.read_max.min(room.max(1))
    }

    /// `n` more bytes went out; returns whether everything queued has gone.
    pub fn mark_sent(&mut self, n: usize) -> bool {
        if let Some(seat) = &self.seat {
            seat.mail.sent(n);
        }
        self.ledger.release(n);
        self.sent += n;
        if self.sent >= self.out.len() {
            self.out.clear();
            self.sent = 0;
            true
        } else {
            false
        }
    }

    /// One `recvfrom` on a nonblocking socket the model was told is readable: stage ② (or
    /// `EAGAIN`, stage ①); what arrives is queued for the echo.
    pub fn recv(&mut self, tr: &mut Tracer) -> Recv {
        self.recv_as(tr, Stage::CopyToUser, false)
    }

    /// One `recvfrom` into our buffer, tagged `stage` when it finds data (one that finds
    /// nothing, `EAGAIN`, is stage ①), announced as a wait when the socket `blocks`.
    fn recv_as(&mut self, tr: &mut Tracer, stage: Stage, blocks: bool) -> Recv {
        let want = self.read_size();
        let call = Call::new(sys::RECV, stage)
            .fd(self.raw())
            .args(want)
            .blocking(blocks);
        let start = tr.enter(&call);
        SCRATCH.with_borrow_mut(|scratch| {
            if scratch.len() < want {
                scratch.resize(want, 0);
            }
            let r = rustix::net::recv(&self.fd, &mut scratch[..want], RecvFlags::empty());
            self.recorded(tr, call, start, r.map(|(n, _)| n), &scratch[..want])
        })
    }

    /// Records a `recvfrom` that copied into `data` and queues what it got for the echo.
    fn recorded(
        &mut self,
        tr: &mut Tracer,
        call: Call,
        start: Started,
        got: rustix::io::Result<usize>,
        data: &[u8],
    ) -> Recv {
        let outcome = match got {
            Ok(0) => Recv::Eof,
            Ok(n) => Recv::Data(n),
            Err(Errno::AGAIN) => Recv::WouldBlock,
            Err(e) => Recv::Failed(e),
        };
        if tr.enabled() {
            let mut call = call;
            if outcome == Recv::WouldBlock {
                // "Not yet" is stage ① asked for, whatever stage a successful recv would be.
                call.stage = Stage::DataReady;
            }
            let note = match outcome {
                Recv::Data(n) => crate::t!(
                    "echo-copied",
                    n = n.to_string(),
                    shown = escape(&data[..n], 32)
                ),
                Recv::Eof if self.dropped() => crate::t!("echo-eof-dropped"),
                Recv::Eof => crate::t!("echo-eof"),
                Recv::WouldBlock => crate::t!("echo-nothing"),
                Recv::Failed(e) => {
                    crate::t!("echo-failed", why = std::io::Error::from(e).to_string())
                }
            };
            tr.end(call, start, got, note);
        }
        match (outcome, &mut self.seat) {
            (Recv::Data(n), Some(seat)) => self.eof |= seat.heard(tr, &data[..n]) == Heard::Quit,
            (Recv::Data(n), None) => {
                queue(&mut self.out, &mut self.sent, &mut self.ledger, &data[..n])
            }
            (Recv::Eof, seat) => {
                self.eof = true;
                if let Some(seat) = seat {
                    seat.leave(tr);
                }
            }
            _ => {}
        }
        outcome
    }

    /// One `sendto` of what is left to echo on a nonblocking socket; a partial send keeps the
    /// rest for later.
    pub fn send(&mut self, tr: &mut Tracer) -> Send {
        self.send_as(tr, false)
    }

    /// One `sendto`, announced as a wait when the socket `blocks`.
    fn send_as(&mut self, tr: &mut Tracer, blocks: bool) -> Send {
        self.refill();
        let chat = self.seat.is_some();
        let data = &self.out[self.sent..];
        let call = Call::new(sys::SEND, Stage::CopyToKernel)
            .fd(self.raw())
            .args(data.len())
            .blocking(blocks);
        let start = tr.enter(&call);
        // Linux: MSG_NOSIGNAL (see `sys::SEND_FLAGS`).
        let r = rustix::net::send(&self.fd, data, sys::SEND_FLAGS);
        if tr.enabled() {
            let note = match r {
                Ok(n) if n == data.len() && chat => crate::t!(
                    "room-deliver",
                    n = n.to_string(),
                    shown = escape(&data[..n], 32)
                ),
                Ok(n) if n == data.len() => crate::t!(
                    "echo-back",
                    n = n.to_string(),
                    shown = escape(&data[..n], 32)
                ),
                Ok(n) => crate::t!(
                    "echo-partial",
                    n = n.to_string(),
                    all = data.len().to_string(),
                    left = (data.len() - n).to_string()
                ),
                Err(Errno::AGAIN) => crate::t!("echo-full", all = data.len().to_string()),
                Err(e) => crate::t!("echo-failed", why = std::io::Error::from(e).to_string()),
            };
            tr.end(call, start, r, note);
        }
        match r {
            Ok(n) => {
                if self.mark_sent(n) {
                    Send::Done
                } else {
                    Send::WouldBlock
                }
            }
            Err(Errno::AGAIN) => Send::WouldBlock,
            Err(e) => Send::Failed(e),
        }
    }

    /// One blocking `recvfrom` (stage ① and ② in one call): a chat member's reading thread
    /// (`threads`), whose writing thread sends what the room queues.
    pub fn recv_blocking(&mut self, tr: &mut Tracer) -> Recv {
        self.recv_as(tr, Stage::DataReadyCopy, true)
    }

    // ANCHOR: echo_blocking
    /// Echoes with blocking calls until the client is done: each `recvfrom` sleeps until data
    /// arrives (stage ① and ② in one call), each `sendto` until the bytes are in the kernel.
    pub fn echo_blocking(&mut self, tr: &mut Tracer) {
        while let Recv::Data(_) = self.recv_as(tr, Stage::DataReadyCopy, true) {
            while self.wants_write() {
                if let Send::Failed(_) = self.send_as(tr, true) {
                    return;
                }
            }
        }
    }
    // ANCHOR_END: echo_blocking

    /// Closes the connection, recording the `close`.
    pub fn close(mut self, tr: &mut Tracer, note: impl crate::trace::Gloss<()>) {
        let done = self.eof && self.pending() == 0;
        let Some(seat) = &mut self.seat else {
            return crate::sys::close(tr, self.fd, note);
        };
        // A chat member's close says what happened to it in the room, when the room decided.
        let name = || {
            seat.name()
                .map_or_else(|| crate::t!("room-nameless"), str::to_string)
        };
        if seat.mail.dropped() {
            let note = crate::t!("room-close-dropped", who = name());
            return crate::sys::abort(tr, self.fd, note);
        }
        if done && !seat.mail.has_bytes() {
            let note = crate::t!("room-close-left", who = name());
            seat.leave(tr);
            return crate::sys::close(tr, self.fd, note);
        }
        seat.leave(tr);
        crate::sys::close(tr, self.fd, note);
    }
}

/// Appends `data` to a connection's echo backlog `out` (`sent` of it already gone), charged
/// to its ledger.
fn queue(out: &mut Vec<u8>, sent: &mut usize, ledger: &mut Ledger, data: &[u8]) {
    if *sent == out.len() {
        out.clear();
        *sent = 0;
    }
    out.extend_from_slice(data);
    ledger.charge(data.len());
}

/// Shared with the models' tests (epoll's `interest`), which need a real connection.
#[cfg(all(test, unix))]
pub mod tests {
    use super::*;
    use crate::trace::Recorder;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    use std::sync::Arc;

    /// The server's `Conn` on one end of a socket pair, and the client's end.
    pub fn pair(read_size: usize, max_pending: usize, budget: &Arc<Budget>) -> (Conn, UnixStream) {
        let (srv, cli) = UnixStream::pair().unwrap();
        let knobs = Knobs {
            read_size,
            max_pending,
            ..Knobs::default()
        };
        (Conn::new(OwnedFd::from(srv), &knobs, budget, 0), cli)
    }

    fn budget() -> Arc<Budget> {
        Budget::new(16, 1 << 20)
    }

    #[test]
    fn bytes_are_echoed_exactly_and_eof_finishes_the_connection() {
        let (rec, rx) = Recorder::new();
        let mut tr = rec.thread("server", crate::sys::thread_id);
        let b = budget();
        let (mut conn, mut cli) = pair(4096, 1 << 16, &b);
        cli.write_all(b"hello\n\0\xff").unwrap();
        assert_eq!(conn.recv(&mut tr), Recv::Data(8));
        assert_eq!(conn.pending(), 8);
        assert!(conn.wants_write());
        assert_eq!(conn.send(&mut tr), Send::Done);
        assert!(!conn.wants_write());
        let mut got = [0; 8];
        cli.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello\n\0\xff");
        cli.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(conn.recv(&mut tr), Recv::Eof);
        assert!(!conn.can_read(), "nothing more comes after EOF");
        assert!(conn.finished());
        drop(tr);
        let calls: Vec<_> = rx.try_iter().skip(1).map(|e| (e.call, e.ret)).collect();
        assert_eq!(
            calls,
            vec![
                (sys::RECV, Some(8)),
                (sys::SEND, Some(8)),
                (sys::RECV, Some(0))
            ]
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn only_a_read_handed_to_the_kernel_gives_a_connection_its_own_buffer() {
        let mut tr = Recorder::disabled().thread("server", crate::sys::thread_id);
        let b = budget();
        let (mut conn, mut cli) = pair(4096, 1 << 16, &b);
        cli.write_all(b"hello\n").unwrap();
        assert_eq!(conn.recv(&mut tr), Recv::Data(6));
        assert!(
            conn.buf.is_empty(),
            "our own recvfrom used the thread's buffer"
        );
        assert_eq!(conn.unsent(), b"hello\n", "the echo is kept per connection");
        assert_eq!(conn.read_buf().len(), 4096);
        conn.read_buf()[..3].copy_from_slice(b"abc");
        conn.received(&mut tr, 3);
        assert_eq!(conn.unsent(), b"hello\nabc");
        assert_eq!(conn.buf.len(), 4096, "kept for the next read");
    }

    #[test]
    fn a_full_echo_backlog_stops_reading_until_it_drains() {
        let mut tr = Recorder::disabled().thread("server", crate::sys::thread_id);
        let b = budget();
        let (mut conn, mut cli) = pair(4, 6, &b);
        cli.write_all(b"abcdefghij").unwrap();
        assert_eq!(conn.recv(&mut tr), Recv::Data(4));
        // Only 2 more bytes fit under --max-pending 6: the next read asks for no more.
        assert_eq!(conn.read_size(), 2);
        assert_eq!(conn.recv(&mut tr), Recv::Data(2));
        assert_eq!(conn.pending(), 6);
        assert!(
            !conn.can_read(),
            "a client that does not read its echo stops being read"
        );
        assert_eq!(conn.send(&mut tr), Send::Done);
        assert!(conn.can_read(), "drained: reading resumes");
        assert_eq!(conn.read_size(), 4);
        assert_eq!(conn.recv(&mut tr), Recv::Data(4));
        assert_eq!(conn.send(&mut tr), Send::Done);
        let mut got = [0; 10];
        cli.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"abcdefghij");
    }

    #[test]
    fn the_shared_budget_stops_a_connection_holding_a_read_but_not_an_empty_one() {
        let mut tr = Recorder::disabled().thread("server", crate::sys::thread_id);
        let b = Budget::new(16, 8);
        let (mut full, mut cli) = pair(4, 1 << 16, &b);
        let (empty, _cli2) = pair(4, 1 << 16, &b);
        cli.write_all(b"12345678").unwrap();
        assert_eq!(full.recv(&mut tr), Recv::Data(4));
        assert!(full.can_read(), "one read's worth is always allowed");
        assert_eq!(full.recv(&mut tr), Recv::Data(4));
        assert!(!b.has_room());
        assert!(!full.can_read(), "past one read, the spent budget stops it");
        assert!(
            empty.can_read(),
            "a connection holding nothing may still read"
        );
        assert_eq!(full.send(&mut tr), Send::Done);
        assert!(b.has_room(), "the echo gave the bytes back");
        assert!(full.can_read());
        drop(full);
        assert_eq!(b.open(), 1);
    }

    #[test]
    fn a_partial_send_keeps_the_rest_pending_in_order() {
        let mut tr = Recorder::disabled().thread("server", crate::sys::thread_id);
        let b = budget();
        let (mut conn, cli) = pair(1 << 16, 1 << 20, &b);
        // A small send buffer, so the echo cannot go out in one call.
        rustix::net::sockopt::set_socket_send_buffer_size(&conn.fd, 4096).unwrap();
        let data: Vec<u8> = (0..256 << 10).map(|i| (i % 251) as u8).collect();
        let writer = {
            let (mut cli, data) = (cli.try_clone().unwrap(), data.clone());
            std::thread::spawn(move || cli.write_all(&data).unwrap())
        };
        while conn.pending() < data.len() {
            assert!(matches!(
                conn.recv_as(&mut tr, Stage::CopyToUser, true),
                Recv::Data(_)
            ));
        }
        writer.join().unwrap();
        rustix::io::ioctl_fionbio(&conn.fd, true).unwrap();
        assert_eq!(conn.send(&mut tr), Send::WouldBlock);
        let left = conn.pending();
        assert!(
            0 < left && left < data.len(),
            "{left} of {} left",
            data.len()
        );
        let reader = {
            let (mut cli, n) = (cli, data.len());
            // A lost remainder fails the test instead of hanging it.
            cli.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .unwrap();
            std::thread::spawn(move || {
                let mut got = vec![0; n];
                cli.read_exact(&mut got).unwrap();
                got
            })
        };
        while conn.send(&mut tr) != Send::Done {
            std::thread::yield_now();
        }
        assert_eq!(conn.pending(), 0);
        assert!(
            reader.join().unwrap() == data,
            "the echo differs from what was sent"
        );
    }
}
