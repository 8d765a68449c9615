//! What keeps a server alive whatever its clients do: a cap on connections, a shared budget for
//! the bytes waiting to be echoed, and a way through running out of descriptors (`EMFILE`).
//!
//! Every model accepts through [`crate::server::Server::accept`] (io_uring through
//! [`crate::server::Server::admit`] and [`crate::server::Server::out_of_descriptors`]), so these
//! rules are written once, here, and every step they take is a traced system call.
//!
//! **Out of descriptors.** `accept4` fails with `EMFILE` while a client is still queued; the
//! listener stays readable, and a readiness server that only retries spins for ever (the classic
//! bug). The cure (libev's and nginx's "spare descriptor" trick): keep one descriptor in
//! reserve; on `EMFILE` close it, accept the waiting client, hang up on it at once (the client
//! learns right away), and take the spare back. The spare is opened lazily, once the server holds
//! three quarters of its descriptor limit, so ordinary traces do not change. Without a spare the
//! server backs off (sleeps 20 ms) instead of spinning.
//!
//! See accept(2) (`EMFILE`, `ENFILE`), getrlimit(2) (`RLIMIT_NOFILE`).

use crate::chat::{App, Room};
use crate::sys::{self, AcceptFailure};
use crate::trace::{Call, Event, Gloss, Stage, Tracer};
use rustix::fd::OwnedFd;
use rustix::io::{Errno, Result};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Connections a server holds at most unless `--max-conns` says otherwise (above `bench
/// --scaling`'s 10,000 idle connections plus its active ones).
pub const MAX_CONNS: usize = 16_384;
/// Bytes all connections together may hold waiting to be echoed, beyond each one's first read.
pub const MAX_BUFFER_TOTAL: usize = 64 << 20;

/// Knobs a model may honour; the CLI fills them.
#[derive(Clone, Debug)]
pub struct Knobs {
    /// Bytes asked for in each recv: small values show partial reads.
    pub read_size: usize,
    /// Most bytes a connection may have waiting to be sent before the server stops reading it.
    pub max_pending: usize,
    /// epoll: edge-triggered (`EPOLLET`) instead of level-triggered readiness (ignored where
    /// there is no epoll).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub edge: bool,
    /// aio: `IOCB_CMD_POLL` readiness and the server's own `recvfrom`, instead of
    /// `IOCB_CMD_PREAD` (ignored by every other model).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub poll: bool,
    /// uring: multishot accept and recv, with a ring of provided buffers.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub multishot: bool,
    /// uring: a kernel thread polls the submission ring (`IORING_SETUP_SQPOLL`).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub sqpoll: bool,
    /// reactors: event-loop threads (`--threads`, default: one per CPU).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub threads: usize,
    /// reactors: the shared listener registered with `EPOLLEXCLUSIVE` (`--exclusive`).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub exclusive: bool,
    /// reactors: a `SO_REUSEPORT` listener per thread (`--reuseport`).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub reuseport: bool,
    /// threads: a pool of this many threads blocked in accept (`--pool N`); 0: a thread per client.
    pub pool: usize,
    /// iocp: worker threads waiting on the port (0: the single-threaded loop).
    #[cfg_attr(not(windows), allow(dead_code))]
    pub workers: usize,
    /// Most connections open at once; the next are accepted, told why, and closed.
    pub max_conns: usize,
    /// Most bytes all connections together hold waiting to be echoed (beyond one read each).
    pub max_buffer_total: usize,
    /// The process's soft RLIMIT_NOFILE as the harness left it (for the spare descriptor).
    pub fd_limit: Option<u64>,
    /// What the server does with what it reads: echo it, or chat (`--app`).
    pub app: crate::chat::App,
}

impl Knobs {
    /// Whether these knobs choose one of the registry's modes (`models::MODES`' flag); the
    /// default mode (`share`) is no choice.
    pub fn has_mode(&self, flag: &str) -> bool {
        match flag {
            "edge" => self.edge,
            "poll" => self.poll,
            "multishot" => self.multishot,
            "sqpoll" => self.sqpoll,
            "exclusive" => self.exclusive,
            "reuseport" => self.reuseport,
            "pool" => self.pool > 0,
            "workers" => self.workers > 0,
            _ => false,
        }
    }

    /// These knobs in one of the registry's modes (`models::MODES`' flag), or `None` for a
    /// flag no knob stands for.
    pub fn in_mode(mut self, flag: &str) -> Option<Knobs> {
        match flag {
            "edge" => self.edge = true,
            "poll" => self.poll = true,
            "multishot" => self.multishot = true,
            "sqpoll" => self.sqpoll = true,
            // The default way for reactors to share the port.
            "share" => {}
            "exclusive" => self.exclusive = true,
            "reuseport" => self.reuseport = true,
            // `--pool` alone: the CLI's default pool.
            "pool" => self.pool = 4,
            // `--workers` alone: the CLI's default pool of iocp workers.
            "workers" => self.workers = 4,
            _ => return None,
        }
        Some(self)
    }
}

impl Default for Knobs {
    fn default() -> Knobs {
        Knobs {
            read_size: 4096,
            max_pending: 256 << 10,
            edge: false,
            poll: false,
            multishot: false,
            sqpoll: false,
            // Two reactors wherever `compare` and the tests run (the CLI's default: one per CPU).
            threads: 2,
            exclusive: false,
            reuseport: false,
            pool: 0,
            workers: 0,
            max_conns: MAX_CONNS,
            max_buffer_total: MAX_BUFFER_TOTAL,
            fd_limit: None,
            app: crate::chat::App::Echo,
        }
    }
}

/// The default number of reactor threads: one per CPU this process may run on, at most 64.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(64))
}

/// Counts shared by every connection of one server (and its worker threads).
#[derive(Debug)]
pub struct Budget {
    /// Connections open now.
    open: AtomicUsize,
    /// Bytes received and not yet echoed, over all connections.
    buffered: AtomicUsize,
    max_conns: usize,
    max_total: usize,
    /// `--app chat`: the room every connection joins.
    room: Option<Arc<Room>>,
}

impl Budget {
    #[cfg(test)]
    pub fn new(max_conns: usize, max_total: usize) -> Arc<Budget> {
        Budget::with_room(max_conns, max_total, None)
    }

    fn with_room(max_conns: usize, max_total: usize, room: Option<Arc<Room>>) -> Arc<Budget> {
        Arc::new(Budget {
            open: AtomicUsize::new(0),
            buffered: AtomicUsize::new(0),
            max_conns: max_conns.max(1),
            max_total,
            room,
        })
    }

    /// The budget of a server with these knobs: with a chat room for `--app chat`, whose
    /// members may each have `--max-pending` bytes queued, and all together
    /// `--max-buffer-total`.
    pub fn for_server(knobs: &Knobs) -> Arc<Budget> {
        let room = (knobs.app == App::Chat)
            .then(|| Arc::new(Room::new(knobs.max_pending, knobs.max_buffer_total)));
        Budget::with_room(knobs.max_conns, knobs.max_buffer_total, room)
    }

    /// The chat room, for `--app chat`.
    pub fn room(&self) -> Option<&Arc<Room>> {
        self.room.as_ref()
    }

    /// Whether the shared buffer budget has room for more bytes.
    pub fn has_room(&self) -> bool {
        self.buffered.load(Ordering::Relaxed) < self.max_total
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    pub fn max_conns(&self) -> usize {
        self.max_conns
    }
}

/// One connection's share of the [`Budget`]: it counts the connection as open and holds its
/// buffered bytes; dropping it (closing the connection) gives both back.
#[derive(Debug)]
pub struct Ledger {
    budget: Arc<Budget>,
    held: usize,
}

impl Ledger {
    pub fn open(budget: &Arc<Budget>) -> Ledger {
        budget.open.fetch_add(1, Ordering::Relaxed);
        Ledger {
            budget: budget.clone(),
            held: 0,
        }
    }

    pub fn charge(&mut self, n: usize) {
        self.held += n;
        self.budget.buffered.fetch_add(n, Ordering::Relaxed);
    }

    pub fn release(&mut self, n: usize) {
        let n = n.min(self.held);
        self.held -= n;
        self.budget.buffered.fetch_sub(n, Ordering::Relaxed);
    }

    pub fn budget(&self) -> &Budget {
        &self.budget
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        self.budget.buffered.fetch_sub(self.held, Ordering::Relaxed);
        self.budget.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The reserve descriptor for the `EMFILE` trick, and when to take it.
#[derive(Debug, Default)]
pub struct Spare {
    fd: Option<OwnedFd>,
    /// Take a spare once an accepted descriptor is numbered this high (¾ of RLIMIT_NOFILE).
    from: Option<i32>,
}

impl Spare {
    /// `limit`: the process's soft RLIMIT_NOFILE, as the harness read it (None: unknown).
    pub fn new(limit: Option<u64>) -> Spare {
        Spare {
            fd: None,
            from: limit.map(|l| (l.min(i32::MAX as u64) as i32).saturating_mul(3) / 4),
        }
    }

    /// After an accept that returned `fd`: near the limit, put a descriptor aside.
    pub fn maybe_reserve(&mut self, tr: &mut Tracer, fd: i32) {
        if self.fd.is_none() && self.from.is_some_and(|f| fd >= f) {
            self.reserve(tr, &crate::t!("limits-reserve"));
        }
    }

    /// Puts a descriptor aside now, before any accept, where the limit is known: for an accept
    /// the kernel runs on its own (io_uring's multishot accept), which can take every
    /// descriptor left between two of our looks, so that no spare could be taken later and
    /// no waiting client could ever be refused.
    #[cfg(target_os = "linux")]
    pub fn reserve_early(&mut self, tr: &mut Tracer, note: &str) {
        if self.fd.is_none() && self.from.is_some() {
            self.reserve(tr, note);
        }
    }

    /// At teardown: close the spare, if one was taken (with a traced `close`).
    pub fn release(self, tr: &mut Tracer) {
        if let Some(fd) = self.fd {
            sys::close(tr, fd, crate::msg!("limits-close-spare"));
        }
    }

    /// Puts a descriptor aside (where the OS has a descriptor limit to run short of).
    fn reserve(&mut self, tr: &mut Tracer, note: &str) {
        self.fd = sys::spare_fd(tr, note);
    }
}

/// What to do after `accept4` failed with `err`, given the listener and whether the model's
/// accept may block. Returns the error the model acts on: `CONNABORTED` ("a client gave up;
/// carry on"), `AGAIN` (nobody is waiting: a nonblocking model goes back to waiting for
/// readiness, so a loop that accepts until `EAGAIN` ends), `INVAL` (the listener was shut down:
/// stop), or `err` itself if it is none of ours. Which errors are which is the OS's
/// ([`sys::accept_failure`]).
pub fn after_accept_error(
    tr: &mut Tracer,
    spare: &mut Spare,
    listener: &OwnedFd,
    err: Errno,
    blocks: bool,
) -> Errno {
    match sys::accept_failure(err) {
        AcceptFailure::Descriptors => shed(tr, spare, listener, err, blocks),
        AcceptFailure::Wait(why) => {
            sys::back_off(tr, &why.to_string());
            idle(blocks)
        }
        AcceptFailure::Network => Errno::CONNABORTED,
        AcceptFailure::Other => err,
    }
}

/// "Nobody to accept now": a blocking model tries again (`CONNABORTED`), a nonblocking one goes
/// back to waiting for readiness (`AGAIN`).
fn idle(blocks: bool) -> Errno {
    if blocks {
        Errno::CONNABORTED
    } else {
        Errno::AGAIN
    }
}

/// Out of descriptors: free the spare, accept the waiting client and hang up on it, take the
/// spare back. Without a spare, or with nobody waiting (`accept4` says `EMFILE` before it looks
/// at the queue), a blocking model backs off for 20 ms instead of spinning.
fn shed(tr: &mut Tracer, spare: &mut Spare, listener: &OwnedFd, err: Errno, blocks: bool) -> Errno {
    let lfd = sys::raw(listener);
    let Some(fd) = spare.fd.take() else {
        sys::back_off(tr, &crate::t!("limits-no-spare"));
        spare.reserve(tr, &crate::t!("limits-reserve-again"));
        return idle(blocks);
    };
    let name = if err == Errno::MFILE {
        "EMFILE"
    } else {
        "ENFILE"
    };
    let why = |_: &Result<()>| crate::t!("limits-give-back", name = name);
    sys::close(tr, fd, why);
    // Is anyone waiting? (accept4 on a blocking listener would sleep until someone comes.)
    let waiting = sys::poll::peek(tr, lfd, queue).is_ok_and(|n| n > 0);
    let mut result = idle(blocks);
    if waiting {
        let accept = || sys::accept(listener);
        let port = |r: &Result<sys::Accepted>, ev: &mut Event| ev.port = sys::peer_port(r);
        match tr.call_with(sys::accept_call(lfd, false), accept, port, shed_accept) {
            Ok((conn, _)) => {
                let why = |_: &Result<()>| crate::t!("limits-refused-fds", name = name);
                refuse(tr, conn, why);
                result = Errno::CONNABORTED;
            }
            Err(Errno::INVAL) => result = Errno::INVAL,
            Err(_) => {}
        }
    }
    spare.reserve(tr, &crate::t!("limits-take-back"));
    if !waiting && blocks {
        sys::back_off(tr, &crate::t!("limits-nobody-back-off"));
    }
    result
}

/// What the shedding `poll` found in the listener's queue.
fn queue(r: &Result<usize>) -> String {
    match r {
        Ok(n) if *n > 0 => crate::t!("limits-queue-waiting"),
        _ => crate::t!("limits-queue-empty"),
    }
}

/// What the shedding accept got.
fn shed_accept(r: &Result<sys::Accepted>) -> String {
    match r {
        Ok(_) => crate::t!("limits-shed-accepted"),
        Err(Errno::INVAL) => crate::t!("limits-shed-shut"),
        Err(_) => crate::t!("limits-shed-gone"),
    }
}

/// Closes a connection the server will not serve, marked `refused` in the trace.
pub fn refuse(tr: &mut Tracer, fd: OwnedFd, gloss: impl Gloss<()>) {
    sys::close_with(tr, fd, |ev| ev.refused = Some(true), gloss);
}

/// Over `--max-conns`: say so in one line, without waiting for room, then close.
pub fn refuse_busy(tr: &mut Tracer, fd: OwnedFd, open: usize, max: usize) {
    let raw = sys::raw(&fd);
    let line = format!(
        "busy: this server holds at most {max} connections (--max-conns); try again later\n"
    );
    let (flags, shown) = sys::dont_wait(tr, &fd);
    let _ = tr.call(
        Call::new(sys::SEND, Stage::CopyToKernel)
            .fd(raw)
            .args(format_args!("{}, {shown}", line.len())),
        || rustix::net::send(&fd, line.as_bytes(), flags),
        crate::msg!("limits-busy-send"),
    );
    let why = |_: &Result<()>| {
        crate::t!(
            "limits-refused-busy",
            open = open.to_string(),
            max = max.to_string()
        )
    };
    refuse(tr, fd, why);
}

/// `--max-fds N`: lowers the soft RLIMIT_NOFILE to `N` (on the harness's thread, before the
/// server starts), and returns the soft limit the server will live with (`None`: none, or
/// unlimited).
pub fn lower_nofile(max_fds: Option<u64>) -> anyhow::Result<Option<u64>> {
    let Some(limit) = sys::fd_limit() else {
        anyhow::ensure!(
            max_fds.is_none(),
            crate::t!("err-max-fds-unix", os = std::env::consts::OS)
        );
        return Ok(None);
    };
    let Some(n) = max_fds else {
        return Ok(limit.soft());
    };
    if limit.soft().is_some_and(|c| n > c) {
        anyhow::bail!(crate::t!(
            "err-max-fds-above",
            n = n.to_string(),
            limit = limit.soft().unwrap_or(0).to_string()
        ));
    }
    limit.lower(n).map_err(|e| {
        let why = e.to_string();
        anyhow::anyhow!(crate::t!("err-max-fds-lower", n = n.to_string(), why = why))
    })?;
    Ok(Some(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ledger_counts_its_connection_open_until_dropped() {
        let budget = Budget::new(4, 100);
        let a = Ledger::open(&budget);
        let b = Ledger::open(&budget);
        assert_eq!(budget.open(), 2);
        drop(a);
        assert_eq!(budget.open(), 1);
        drop(b);
        assert_eq!(budget.open(), 0);
    }

    #[test]
    fn has_room_until_the_shared_total_is_reached() {
        let budget = Budget::new(4, 100);
        let mut a = Ledger::open(&budget);
        let mut b = Ledger::open(&budget);
        a.charge(60);
        b.charge(39);
        assert!(budget.has_room(), "99 of 100 bytes held");
        b.charge(1);
        assert!(
            !budget.has_room(),
            "100 of 100 bytes held: the limit itself is full"
        );
        a.release(1);
        assert!(budget.has_room());
    }

    #[test]
    fn a_ledger_releases_at_most_what_it_holds() {
        let budget = Budget::new(4, 100);
        let mut a = Ledger::open(&budget);
        let mut b = Ledger::open(&budget);
        a.charge(10);
        b.charge(90);
        // Releasing more than `a` holds gives back its 10 bytes, not 40 of `b`'s as well.
        a.release(50);
        assert!(budget.has_room(), "90 of 100 bytes held");
        b.charge(10);
        assert!(!budget.has_room(), "b's 100 bytes fill the budget");
        // And `a`'s drop takes nothing more back.
        drop(a);
        assert!(!budget.has_room());
    }

    #[test]
    fn dropping_a_ledger_gives_back_its_bytes() {
        let budget = Budget::new(4, 100);
        let mut a = Ledger::open(&budget);
        a.charge(100);
        assert!(!budget.has_room());
        drop(a);
        assert!(budget.has_room());
        // Nothing is held any more: a new connection can take the whole budget again.
        let mut b = Ledger::open(&budget);
        b.charge(99);
        assert!(budget.has_room());
    }

    #[test]
    fn max_conns_is_at_least_one() {
        assert_eq!(Budget::new(0, 100).max_conns(), 1);
        assert_eq!(Budget::new(7, 100).max_conns(), 7);
    }
}
