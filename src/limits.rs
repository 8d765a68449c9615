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

use crate::trace::{Call, Stage, Tracer};
use rustix::fd::OwnedFd;
use rustix::io::Errno;
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
    /// Most connections open at once; the next are accepted, told why, and closed.
    pub max_conns: usize,
    /// Most bytes all connections together hold waiting to be echoed (beyond one read each).
    pub max_buffer_total: usize,
    /// The process's soft RLIMIT_NOFILE as the harness left it (for the spare descriptor).
    pub fd_limit: Option<u64>,
}

impl Default for Knobs {
    fn default() -> Knobs {
        Knobs {
            read_size: 4096,
            max_pending: 256 << 10,
            edge: false,
            max_conns: MAX_CONNS,
            max_buffer_total: MAX_BUFFER_TOTAL,
            fd_limit: None,
        }
    }
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
}

impl Budget {
    pub fn new(max_conns: usize, max_total: usize) -> Arc<Budget> {
        Arc::new(Budget {
            open: AtomicUsize::new(0),
            buffered: AtomicUsize::new(0),
            max_conns: max_conns.max(1),
            max_total,
        })
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
            self.reserve(
                tr,
                "descriptors are running short: keep one in reserve for when accept4 says EMFILE",
            );
        }
    }

    /// At teardown: close the spare, if one was taken (with a traced `close`).
    pub fn release(self, tr: &mut Tracer) {
        if let Some(fd) = self.fd {
            crate::sys::close(tr, fd, "close the spare descriptor");
        }
    }

    #[cfg(unix)]
    fn reserve(&mut self, tr: &mut Tracer, note: &str) {
        // libc's open, like strace names it (`openat`; rustix would make the `open` call).
        self.fd = tr
            .sys_fd(
                Call::new("openat", Stage::Setup)
                    .args("AT_FDCWD, \"/dev/null\", O_RDONLY|O_CLOEXEC"),
                note,
                || {
                    // SAFETY: a valid C string and flags; a descriptor returned is ours to own.
                    let fd = unsafe {
                        libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC)
                    };
                    if fd < 0 {
                        Err(Errno::from_io_error(&std::io::Error::last_os_error())
                            .unwrap_or(Errno::MFILE))
                    } else {
                        // SAFETY: `fd` was just opened and nothing else owns it.
                        Ok(unsafe { <OwnedFd as rustix::fd::FromRawFd>::from_raw_fd(fd) })
                    }
                },
            )
            .ok();
    }

    /// Windows has no per-process descriptor limit to run short of: nothing to put aside.
    #[cfg(not(unix))]
    fn reserve(&mut self, _tr: &mut Tracer, _note: &str) {}
}

#[cfg(unix)]
/// What to do after `accept4` failed with `err`, given the listener and whether the model's
/// accept may block. Returns the error the model acts on: `CONNABORTED` ("a client gave up;
/// carry on"), `AGAIN` (nobody is waiting: a nonblocking model goes back to waiting for
/// readiness, so a loop that accepts until `EAGAIN` ends), `INVAL` (the listener was shut down:
/// stop), or `err` itself if it is none of ours.
pub fn after_accept_error(
    tr: &mut Tracer,
    spare: &mut Spare,
    listener: &OwnedFd,
    err: Errno,
    blocks: bool,
) -> Errno {
    match err {
        Errno::MFILE | Errno::NFILE => shed(tr, spare, listener, err, blocks),
        Errno::NOBUFS | Errno::NOMEM => {
            back_off(
                tr,
                "the kernel is short of memory: wait a little instead of spinning",
            );
            if blocks {
                Errno::CONNABORTED
            } else {
                Errno::AGAIN
            }
        }
        // accept(2): errors of the network the new connection came from; try again.
        Errno::PROTO
        | Errno::NOPROTOOPT
        | Errno::HOSTDOWN
        | Errno::HOSTUNREACH
        | Errno::OPNOTSUPP
        | Errno::NETUNREACH
        | Errno::NETDOWN
        | Errno::PERM => Errno::CONNABORTED,
        #[cfg(target_os = "linux")]
        Errno::NONET => Errno::CONNABORTED,
        e => e,
    }
}

#[cfg(unix)]
/// Out of descriptors: free the spare, accept the waiting client and hang up on it, take the
/// spare back. Without a spare, or with nobody waiting (`accept4` says `EMFILE` before it looks
/// at the queue), a blocking model backs off for 20 ms instead of spinning.
fn shed(tr: &mut Tracer, spare: &mut Spare, listener: &OwnedFd, err: Errno, blocks: bool) -> Errno {
    let lfd = crate::sys::raw(listener);
    let idle = if blocks {
        Errno::CONNABORTED
    } else {
        Errno::AGAIN
    };
    let Some(fd) = spare.fd.take() else {
        back_off(
            tr,
            "no spare descriptor to make room with: wait 20 ms instead of spinning on a listener that stays readable",
        );
        spare.reserve(
            tr,
            "try again to put a descriptor aside for the next EMFILE",
        );
        return idle;
    };
    let name = if err == Errno::MFILE {
        "EMFILE"
    } else {
        "ENFILE"
    };
    crate::sys::close(
        tr,
        fd,
        &format!("{name}: give back the spare descriptor, so accept4 can take a waiting client"),
    );
    // Is anyone waiting? (accept4 on a blocking listener would sleep until someone comes.)
    // libc's poll, like the poll model's (strace names it `poll`; rustix would make `ppoll`).
    let mut pfd = libc::pollfd {
        fd: lfd,
        events: libc::POLLIN,
        revents: 0,
    };
    let call =
        Call::new("poll", Stage::DataReady).args(format!("[{{fd={lfd}, events=POLLIN}}], 1, 0"));
    let start = tr.begin();
    // SAFETY: one live pollfd, and a timeout of 0: the call only looks.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    let r = if n < 0 {
        Err(Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::INVAL))
    } else {
        Ok(n)
    };
    let waiting = r.is_ok_and(|n| n > 0);
    tr.end(
        call,
        start,
        r,
        if waiting {
            "a client is waiting"
        } else {
            "nobody is waiting: accept4 said EMFILE before it looked at the queue"
        },
    );
    let mut result = idle;
    if waiting {
        let (name, args) = crate::sys::ACCEPT;
        let call = Call::new(name, Stage::DataReady).fd(lfd).args(args);
        let start = tr.enter(&call);
        let r = crate::sys::accept(listener);
        let port = r
            .as_ref()
            .ok()
            .and_then(|(_, addr)| crate::sys::peer_port(addr.clone()));
        let shown = r
            .as_ref()
            .map(|(fd, _)| crate::sys::raw(fd))
            .map_err(|e| *e);
        let note = match shown {
            Ok(_) => "accepted only to hang up: there is no descriptor to serve it with",
            Err(Errno::INVAL) => "the listener was shut down: the run is over",
            Err(_) => "the client had gone",
        };
        tr.end_with(call, start, shown, |ev| ev.port = port, note);
        match r {
            Ok((conn, _)) => {
                refuse(
                    tr,
                    conn,
                    &format!(
                        "refused: the server is out of descriptors ({name}); hanging up at once tells the client, instead of leaving it queued and the listener readable for ever"
                    ),
                );
                result = Errno::CONNABORTED;
            }
            Err(Errno::INVAL) => result = Errno::INVAL,
            Err(_) => {}
        }
    }
    spare.reserve(tr, "take the spare descriptor back for the next EMFILE");
    if !waiting && blocks {
        back_off(
            tr,
            "out of descriptors and nobody waiting: wait 20 ms before accept4 again, instead of spinning",
        );
    }
    result
}

#[cfg(target_os = "linux")]
/// Sleeps 20 ms, traced: the alternative to spinning when nothing else can be done.
fn back_off(tr: &mut Tracer, note: &str) {
    let pause = std::time::Duration::from_millis(20);
    let ts = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: pause.as_nanos() as _,
    };
    let call = Call::new("clock_nanosleep", Stage::DataReady)
        .args("CLOCK_MONOTONIC, 0, {tv_sec=0, tv_nsec=20000000}")
        .blocking(true);
    let start = tr.enter(&call);
    let r = match rustix::thread::clock_nanosleep_relative(rustix::thread::ClockId::Monotonic, &ts)
    {
        rustix::thread::NanosleepRelativeResult::Ok => Ok(0),
        rustix::thread::NanosleepRelativeResult::Interrupted(_) => Err(Errno::INTR),
        rustix::thread::NanosleepRelativeResult::Err(e) => Err(e),
    };
    tr.end(call, start, r, note);
}

/// Closes a connection the server will not serve, marked `refused` in the trace.
pub fn refuse(tr: &mut Tracer, fd: OwnedFd, note: &str) {
    crate::sys::close_with(tr, fd, |ev| ev.refused = Some(true), note);
}

/// Over `--max-conns`: say so in one line, without waiting for room, then close.
pub fn refuse_busy(tr: &mut Tracer, fd: OwnedFd, open: usize, max: usize) {
    let raw = crate::sys::raw(&fd);
    let line = format!(
        "busy: this server holds at most {max} connections (--max-conns); try again later\n"
    );
    let (flags, shown) = dont_wait(tr, &fd, raw);
    let _ = tr.sys(
        Call::new(crate::sys::SEND, Stage::CopyToKernel)
            .fd(raw)
            .args(format_args!("{}, {shown}", line.len())),
        "tell the client why, without waiting for room",
        || rustix::net::send(&fd, line.as_bytes(), flags),
    );
    refuse(
        tr,
        fd,
        &format!("refused: {open} connections are open, the most --max-conns allows ({max})"),
    );
}

/// The send flags that keep a send from waiting (`MSG_DONTWAIT`), and how the trace shows them.
#[cfg(unix)]
fn dont_wait(_: &mut Tracer, _: &OwnedFd, _: i32) -> (rustix::net::SendFlags, &'static str) {
    let shown = if cfg!(target_os = "linux") {
        "MSG_DONTWAIT|MSG_NOSIGNAL"
    } else {
        "MSG_DONTWAIT"
    };
    (
        rustix::net::SendFlags::DONTWAIT | crate::sys::SEND_FLAGS,
        shown,
    )
}

/// Winsock's send has no `MSG_DONTWAIT`: make the socket nonblocking first (`ioctlsocket`).
#[cfg(not(unix))]
fn dont_wait(tr: &mut Tracer, fd: &OwnedFd, raw: i32) -> (rustix::net::SendFlags, &'static str) {
    crate::sys::set_nonblocking(
        tr,
        fd,
        raw,
        "Winsock's send has no MSG_DONTWAIT: make the socket nonblocking, so telling the client why cannot wait",
    );
    (crate::sys::SEND_FLAGS, "0")
}

#[cfg(unix)]
/// `--max-fds N`: lowers the soft RLIMIT_NOFILE to `N` (on the harness's thread, before the
/// server starts), and returns the soft limit the server will live with.
pub fn lower_nofile(max_fds: Option<u64>) -> anyhow::Result<Option<u64>> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let lim = getrlimit(Resource::Nofile);
    let Some(n) = max_fds else {
        return Ok(lim.current);
    };
    if lim.current.is_some_and(|c| n > c) {
        anyhow::bail!(
            "--max-fds {n} is above the current descriptor limit ({}); it can only lower it",
            lim.current.unwrap_or(0)
        );
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(n),
            maximum: lim.maximum,
        },
    )
    .map_err(|e| anyhow::anyhow!("cannot lower the descriptor limit to {n}: {e}"))?;
    Ok(Some(n))
}

/// Off Unix, running out of sockets is not a per-process limit to shed from: wait a little.
#[cfg(not(unix))]
fn shed(tr: &mut Tracer, _: &mut Spare, _: &OwnedFd, _: Errno, blocks: bool) -> Errno {
    back_off(tr, "out of sockets: wait 20 ms instead of spinning");
    if blocks {
        Errno::CONNABORTED
    } else {
        Errno::AGAIN
    }
}

/// `Sleep(20)`, traced: the alternative to spinning when nothing else can be done.
#[cfg(not(unix))]
fn back_off(tr: &mut Tracer, note: &str) {
    let call = Call::new("Sleep", Stage::DataReady)
        .args("20")
        .blocking(true);
    let start = tr.enter(&call);
    std::thread::sleep(std::time::Duration::from_millis(20));
    tr.end(call, start, Ok(()), note);
}

/// `--max-fds` needs a Unix descriptor limit (RLIMIT_NOFILE).
#[cfg(not(unix))]
pub fn lower_nofile(max_fds: Option<u64>) -> anyhow::Result<Option<u64>> {
    match max_fds {
        Some(_) => anyhow::bail!(
            "--max-fds needs a Unix descriptor limit (RLIMIT_NOFILE); this is {}",
            std::env::consts::OS
        ),
        None => Ok(None),
    }
}

/// Winsock's errors after `accept` (it has no ENFILE, ENOMEM or EPROTO): out of sockets or
/// buffers → wait; the network the connection came from failed → carry on.
#[cfg(not(unix))]
pub fn after_accept_error(
    tr: &mut Tracer,
    spare: &mut Spare,
    listener: &OwnedFd,
    err: Errno,
    blocks: bool,
) -> Errno {
    match err {
        Errno::MFILE | Errno::NOBUFS => shed(tr, spare, listener, err, blocks),
        Errno::NOPROTOOPT
        | Errno::HOSTDOWN
        | Errno::HOSTUNREACH
        | Errno::OPNOTSUPP
        | Errno::NETUNREACH
        | Errno::NETDOWN => Errno::CONNABORTED,
        e => e,
    }
}

/// `nanosleep` for 20 ms, traced (macOS and the BSDs).
#[cfg(all(unix, not(target_os = "linux")))]
fn back_off(tr: &mut Tracer, note: &str) {
    let ts = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: 20_000_000,
    };
    let call = Call::new("nanosleep", Stage::DataReady)
        .args("{tv_sec=0, tv_nsec=20000000}")
        .blocking(true);
    let start = tr.enter(&call);
    let r = match rustix::thread::nanosleep(&ts) {
        rustix::thread::NanosleepRelativeResult::Ok => Ok(0),
        rustix::thread::NanosleepRelativeResult::Interrupted(_) => Err(Errno::INTR),
        rustix::thread::NanosleepRelativeResult::Err(e) => Err(e),
    };
    tr.end(call, start, r, note);
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
