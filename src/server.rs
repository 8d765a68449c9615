//! What every model's server shares: the listening socket, the stop signal, and teardown.
//!
//! The harness makes the listener on the server thread (so `socket`, `bind` and `listen` are in
//! the server's trace), hands it to the model's `serve`, and stops the server when the scenario
//! is over: on Linux by shutting the listener down through a duplicate descriptor (a blocked
//! `accept4` then fails with `EINVAL`), elsewhere with a wake-up connection that
//! [`Server::accept`] closes and reports as `EINVAL` (see [`crate::sys::Stopper`]). Every model
//! treats `EINVAL` from accept as "time to go".

use crate::echo::Conn;
use crate::limits::{self, Budget, Knobs, Spare};
use crate::sys;
use crate::trace::{Call, Stage, Tracer};
use anyhow::{Context, Result, bail};
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::{self, JoinHandle};

/// The listen backlog: finished handshakes the kernel queues for `accept`. Past it, Linux drops
/// the next SYN (`ListenOverflows`) and the client retries a second later, so the harness's idle
/// crowd never has more than this many connections not yet accepted.
pub const BACKLOG: i32 = 128;

/// The context a model's `serve` function gets.
pub struct Server {
    /// Records this thread's calls.
    pub tr: Tracer,
    /// The listening socket (blocking, as `socket` made it).
    pub listener: OwnedFd,
    /// The address it is bound to.
    pub local: SocketAddr,
    pub knobs: Knobs,
    /// Units of "other work" done while waiting (models that are free in stage ① advance it).
    pub work: u64,
    /// Set by the harness when the run is over, for models that never block in `accept4` and
    /// may not hear the listener being shut down (signal-driven I/O: no signal says so).
    stop: Arc<AtomicBool>,
    /// Open connections and buffered bytes, shared by every connection (see `limits`).
    budget: Arc<Budget>,
    /// Connections taken from the listener's queue so far (kept or refused), for the harness.
    admitted: Arc<AtomicUsize>,
    /// The descriptor kept in reserve for `EMFILE`, one for all the threads of a server
    /// (`reactors`, `threads --pool`). Its lock is held around each nonblocking accept, so the
    /// threads take turns: the descriptor the `EMFILE` trick frees goes to the accept it was
    /// freed for, not to another thread's (uncontended, the lock costs no system call).
    spare: Arc<Mutex<Spare>>,
    /// `reactors --reuseport`: the port's other `SO_REUSEPORT` listeners, one per further
    /// thread, made here, before any client can connect, so that every connection finds the
    /// whole group (the model takes them).
    pub group: Vec<OwnedFd>,
    /// The thread whose loop serves this server's connections (the one that made it): a chat
    /// tells it of the lines queued for them. With iocp's workers, any worker may run the loop
    /// (each lends it its tracer), but it is still this one loop.
    owner: i64,
}

/// What the threads of one server share, for a [`Server`] of their own on another thread
/// (`reactors`): the stop flag, the connection budget and the accept counter.
#[cfg(target_os = "linux")]
#[derive(Clone)]
pub struct Shared {
    local: SocketAddr,
    spare: Arc<Mutex<Spare>>,
    knobs: Knobs,
    stop: Arc<AtomicBool>,
    budget: Arc<Budget>,
    admitted: Arc<AtomicUsize>,
}

#[cfg(target_os = "linux")]
impl Shared {
    /// Server thread `n`'s whole life: `body` on a server of its own (this thread's `tr`,
    /// accepting from `listener`, sharing the spare descriptor for `EMFILE`), then its
    /// teardown. A failure is said in the trace and shuts `listener` down, so that no client
    /// waits on it; it is returned for the thread that joins this one.
    pub fn serve(
        self,
        tr: Tracer,
        listener: OwnedFd,
        n: usize,
        body: impl FnOnce(&mut Server) -> Result<()>,
    ) -> Result<()> {
        let tr_tid = tr.tid();
        let mut srv = Server {
            tr,
            listener,
            local: self.local,
            spare: self.spare,
            knobs: self.knobs,
            work: 0,
            stop: self.stop,
            budget: self.budget,
            admitted: self.admitted,
            group: Vec::new(),
            owner: tr_tid,
        };
        let result = body(&mut srv);
        if let Err(e) = &result {
            srv.tr.info(|| {
                let why = format!("{e:#}");
                crate::t!("err-server-failed", n = n.to_string(), why = why)
            });
            srv.abort();
        }
        srv.teardown();
        result
    }
}

/// Waits for server threads (`Shared::serve`'s, each with its number) to end; `own` is the
/// joining thread's result. Every failure is in the error, the joining thread's first.
#[cfg(target_os = "linux")]
pub fn join_all(own: Result<()>, threads: Vec<(usize, JoinHandle<Result<()>>)>) -> Result<()> {
    let mut failed: Vec<String> = own.err().map(|e| format!("{e:#}")).into_iter().collect();
    for (n, thread) in threads {
        match thread.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let why = format!("{e:#}");
                failed.push(crate::t!("err-server-failed", n = n.to_string(), why = why));
            }
            Err(_) => failed.push(crate::t!("err-server-panicked", n = n.to_string())),
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    bail!("{}", failed.join("; "))
}

/// How the harness stops a server: a stop flag, and this OS's way to wake it up; and how it
/// sees the server's progress through the accept queue.
pub struct StopHandle {
    waker: sys::Stopper,
    stop: Arc<AtomicBool>,
    admitted: Arc<AtomicUsize>,
}

impl StopHandle {
    /// Ends the run: the stop flag turns true, then the server is woken (a blocked accept
    /// returns, readiness models see the listener).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.waker.stop();
    }

    /// What the harness does to stop the server, for its trace line.
    pub const HOW: crate::lang::Msg = sys::Stopper::HOW;

    /// Connections the server has accepted so far (a counter, not a system call), so that the
    /// harness can keep its idle crowd within the listen backlog.
    pub fn admitted(&self) -> Arc<AtomicUsize> {
        self.admitted.clone()
    }
}

impl Server {
    /// Creates, binds and listens, recording each call; returns the bound address and the
    /// handle the harness stops the server with.
    pub fn listen(
        mut tr: Tracer,
        addr: SocketAddr,
        knobs: Knobs,
    ) -> Result<(Server, SocketAddr, StopHandle)> {
        let listener = bind_listener(&mut tr, addr, knobs.reuseport)?;
        let fd = sys::raw(&listener);
        let local = tr
            .call(
                Call::new("getsockname", Stage::Setup).fd(fd),
                || rustix::net::getsockname(&listener),
                crate::msg!("server-getsockname"),
            )
            .with_context(|| crate::t!("err-failed", call = "getsockname()"))?;
        let local = sys::socket_addr(local).with_context(|| crate::t!("err-getsockname-ip"))?;
        let waker =
            sys::stopper(&mut tr, &listener, local).with_context(|| crate::t!("err-stopper"))?;
        let mut group = Vec::new();
        if knobs.reuseport {
            for _ in 1..knobs.threads {
                group.push(bind_listener(&mut tr, local, true)?);
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let admitted = Arc::new(AtomicUsize::new(0));
        let budget = Budget::for_server(&knobs);
        let spare = Spare::new(knobs.fd_limit);
        let mut server = Server {
            tr,
            listener,
            local,
            knobs,
            work: 0,
            stop: stop.clone(),
            budget,
            admitted: admitted.clone(),
            spare: Arc::new(Mutex::new(spare)),
            group,
            owner: 0,
        };
        server.owner = server.tr.tid();
        let addr = server.local.to_string();
        server.tr.info_with(
            || crate::t!("listening", addr = addr),
            |ev| ev.listening = Some(true),
        );
        Ok((
            server,
            local,
            StopHandle {
                waker,
                stop,
                admitted,
            },
        ))
    }

    /// What another thread needs for a server of its own beside this one.
    #[cfg(target_os = "linux")]
    pub fn shared(&self) -> Shared {
        Shared {
            local: self.local,
            spare: self.spare.clone(),
            knobs: self.knobs.clone(),
            stop: self.stop.clone(),
            budget: self.budget.clone(),
            admitted: self.admitted.clone(),
        }
    }

    /// `--app chat`: the room every connection of this server joins.
    pub fn room(&self) -> Option<&Arc<crate::chat::Room>> {
        self.budget.room()
    }

    /// `--app chat`: this thread's connections that have lines queued for them (or were dropped
    /// from the room) since it last asked: each needs a send, or to be closed.
    pub fn touched(&self) -> Vec<i32> {
        self.room()
            .map_or_else(Vec::new, |room| room.touched(self.owner))
    }

    /// Whether the harness has ended the run (a flag, not a system call).
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// The listener's descriptor number, for trace lines.
    pub fn lfd(&self) -> i32 {
        sys::raw(&self.listener)
    }

    /// `accept4` (or this OS's accept) on the listener: the next finished handshake becomes a
    /// [`Conn`]. The peer's port is recorded so the trace can name the client behind the new
    /// descriptor. A connection accepted after the harness set the stop flag is its wake-up
    /// call: it is closed, and the model gets `EINVAL`, "the run is over", as on Linux.
    ///
    /// Never fails for want of resources: past `--max-conns` the client is refused, and on
    /// `EMFILE` the spare descriptor makes room to refuse it (see `limits`); either way the
    /// model sees `ECONNABORTED` (a client that gave up) and carries on. `EINVAL` means stop.
    pub fn accept(&mut self, blocks: bool, note: &str) -> rustix::io::Result<Conn> {
        let spare = self.spare.clone();
        // A blocking accept takes its turn when it returns: other threads may accept meanwhile.
        let turn = (!blocks).then(|| lock(&spare));
        let call = sys::accept_call(self.lfd(), blocks);
        let start = self.tr.enter(&call);
        let r = sys::accept(&self.listener);
        // A connection accepted after the stop flag is the harness's wake-up call.
        let wake_up = r.is_ok() && self.stopping();
        self.tr.record(
            call,
            start,
            &r,
            |r, ev| ev.port = sys::peer_port(r).filter(|_| !wake_up),
            |r: &rustix::io::Result<sys::Accepted>| accepted(r, wake_up, note),
        );
        let mut spare = turn.unwrap_or_else(|| lock(&spare));
        match r {
            Ok((fd, _)) if wake_up => {
                sys::close(&mut self.tr, fd, crate::msg!("server-close-wake-up"));
                Err(Errno::INVAL)
            }
            Ok((fd, _)) => {
                sys::after_accept(&mut self.tr, &fd);
                self.admit_with(fd, &mut spare).ok_or(Errno::CONNABORTED)
            }
            Err(e) => Err(limits::after_accept_error(
                &mut self.tr,
                &mut spare,
                &self.listener,
                e,
                blocks,
            )),
        }
    }

    /// For models whose listener is nonblocking: accepts every client waiting in the queue (one
    /// readiness event may stand for many), makes each socket nonblocking, and hands it to
    /// `take`. Stops at `EAGAIN`; returns `true` when the harness shut the listener down.
    pub fn accept_waiting(
        &mut self,
        note: &str,
        mut take: impl FnMut(&mut Server, Conn) -> anyhow::Result<()>,
    ) -> anyhow::Result<bool> {
        loop {
            match self.accept(false, note) {
                Ok(conn) => {
                    sys::set_nonblocking(&mut self.tr, &conn.fd, never_wait);
                    take(self, conn)?;
                }
                Err(Errno::AGAIN) => return Ok(false),
                Err(Errno::CONNABORTED | Errno::INTR) => {}
                // The harness shut the listener down: the run is over.
                Err(Errno::INVAL) => return Ok(true),
                Err(e) => {
                    return Err(
                        anyhow::Error::from(e).context(crate::t!("err-failed", call = "accept"))
                    );
                }
            }
        }
    }

    /// `clone3` (std's `thread::spawn`; this OS's call is `sys::SPAWN`): a thread named
    /// `server/N` that serves `conn` with `body`, on its own tracer, and reports its CPU time
    /// last, like every server thread. `None` if no thread could be made: the client is
    /// dropped, and the server goes on serving the others.
    #[doc(alias = "clone3")]
    #[doc(alias = "pthread_create")]
    pub fn spawn(
        &mut self,
        n: usize,
        conn: Conn,
        body: impl FnOnce(&mut Tracer, Conn) + Send + 'static,
    ) -> Option<JoinHandle<()>> {
        let fd = conn.raw();
        let job = Job {
            args: WorkerFor(fd),
            gloss: move |tid: i64| {
                crate::t!(
                    "threads-worker-start",
                    tid = tid.to_string(),
                    fd = fd.to_string()
                )
            },
            dropped: move |e: std::io::Error| {
                crate::t!(
                    "threads-worker-failed",
                    fd = fd.to_string(),
                    why = e.to_string()
                )
            },
        };
        self.spawn_with(n, job, conn, body)
    }

    /// `clone3`: a thread named `server/N` that runs `body` with `with`, on its own tracer,
    /// and reports its CPU time last. The call's result is the new thread's id, which the new
    /// thread sends back (waited for only when the trace records it: an untraced run does not
    /// wait for the thread to start). `None` if no thread could be made (`job` says so).
    #[doc(alias = "clone3")]
    pub fn spawn_with<T: std::marker::Send + 'static>(
        &mut self,
        n: usize,
        job: Job<
            impl std::fmt::Display,
            impl FnOnce(i64) -> String,
            impl FnOnce(std::io::Error) -> String,
        >,
        with: T,
        body: impl FnOnce(&mut Tracer, T) + std::marker::Send + 'static,
    ) -> Option<JoinHandle<()>> {
        let started = self.start_thread(n, job.args, job.gloss, with, |mut tr, with| {
            body(&mut tr, with);
            sys::cpu_time(&mut tr);
        });
        match started {
            Ok(w) => Some(w),
            // EAGAIN: out of threads or memory. What `with` holds closes with it.
            Err(e) => {
                let dropped = job.dropped;
                self.tr.info(|| dropped(e));
                None
            }
        }
    }

    /// `clone3`: a thread named `server/N` that runs `body` with `item` on its own tracer
    /// (which `body` owns: it reports its CPU time itself); `args` and `gloss` (given the new
    /// thread's id) say what it is for. The call's result
    /// is the new thread's id, which the new thread sends back (waited for only when the trace
    /// records it: an untraced run does not wait for the thread to start).
    pub fn start_thread<T: Send + 'static, R: Send + 'static>(
        &mut self,
        n: usize,
        args: impl std::fmt::Display,
        gloss: impl FnOnce(i64) -> String,
        item: T,
        body: impl FnOnce(Tracer, T) -> R + Send + 'static,
    ) -> std::io::Result<JoinHandle<R>> {
        start_thread(&mut self.tr, n, args, gloss, item, body)
    }

    /// A freshly accepted descriptor becomes a [`Conn`], unless `--max-conns` are open already:
    /// then the client is told why and the connection closed (`None`). (For models that
    /// accept on their own: io_uring's and IOCP's accepts complete as operations.)
    #[cfg(any(target_os = "linux", windows))]
    pub fn admit(&mut self, fd: OwnedFd) -> Option<Conn> {
        let spare = self.spare.clone();
        self.admit_with(fd, &mut lock(&spare))
    }

    /// Takes the spare descriptor now (see [`Spare::reserve_early`]).
    #[cfg(target_os = "linux")]
    pub fn reserve_spare(&mut self, note: &str) {
        let spare = self.spare.clone();
        lock(&spare).reserve_early(&mut self.tr, note);
    }

    /// [`Server::admit`], the spare's lock taken.
    fn admit_with(&mut self, fd: OwnedFd, spare: &mut Spare) -> Option<Conn> {
        self.admitted.fetch_add(1, Ordering::Relaxed);
        spare.maybe_reserve(&mut self.tr, sys::raw(&fd));
        let open = self.budget.open();
        if open >= self.budget.max_conns() {
            limits::refuse_busy(&mut self.tr, fd, open, self.budget.max_conns());
            return None;
        }
        if self.room().is_some() {
            sys::chat_member(&mut self.tr, &fd, crate::chat::SEND_BUFFER);
        }
        Some(Conn::new(fd, &self.knobs, &self.budget, self.owner))
    }

    /// After `accept4` failed: `EMFILE` and friends are survived here (see `limits`); returns
    /// the error the model acts on. (io_uring's accepts, which complete as operations.)
    #[cfg(target_os = "linux")]
    pub fn out_of_descriptors(&mut self, err: Errno, blocks: bool) -> Errno {
        let spare = self.spare.clone();
        limits::after_accept_error(&mut self.tr, &mut lock(&spare), &self.listener, err, blocks)
    }

    /// The model failed: refuse the clients waiting in the listener's queue (Linux shuts the
    /// listener down; elsewhere teardown's close does it), so they do not wait for an echo.
    pub fn abort(&mut self) {
        sys::refuse(&mut self.tr, &self.listener);
    }

    /// Closes the listener and reports this thread's CPU time: the last lines of every run.
    pub fn teardown(mut self) {
        for fd in std::mem::take(&mut self.group) {
            sys::close(&mut self.tr, fd, "close another listener of the port");
        }
        // The spare is closed by the last thread of the server to end (the first one).
        if let Ok(spare) = Arc::try_unwrap(self.spare) {
            spare
                .into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .release(&mut self.tr);
        }
        sys::close(
            &mut self.tr,
            self.listener,
            crate::msg!("server-close-listener"),
        );
        sys::cpu_time(&mut self.tr);
    }
}

/// [`Server::start_thread`] from a thread that has no [`Server`], only its tracer `tr`
/// (`threads --app chat`: a member's reading thread starts its writing thread).
pub fn start_thread<T: Send + 'static, R: Send + 'static>(
    tr: &mut Tracer,
    n: usize,
    args: impl std::fmt::Display,
    gloss: impl FnOnce(i64) -> String,
    item: T,
    body: impl FnOnce(Tracer, T) -> R + Send + 'static,
) -> std::io::Result<JoinHandle<R>> {
    let rec = tr.recorder().clone();
    let actor = format!("server/{n}");
    let call = Call::new(sys::SPAWN, Stage::Setup).args(args);
    let start = tr.begin();
    let (tid_tx, tid_rx) = mpsc::sync_channel(1);
    let worker = thread::Builder::new().name(actor.clone()).spawn(move || {
        let tr = rec.thread(&actor, crate::sys::thread_id);
        let _ = tid_tx.send(tr.tid());
        body(tr, item)
    })?;
    let tid = if tr.enabled() {
        tid_rx.recv().unwrap_or(0)
    } else {
        0
    };
    tr.record(
        call,
        start,
        &Ok(tid),
        |_, _| (),
        |_: &rustix::io::Result<i64>| gloss(tid),
    );
    Ok(worker)
}

/// The spare's lock (a thread that panicked holding it left a spare as good as any).
fn lock(spare: &Mutex<Spare>) -> std::sync::MutexGuard<'_, Spare> {
    spare.lock().unwrap_or_else(|e| e.into_inner())
}

/// `socket` → `setsockopt(SO_REUSEADDR)` (and `SO_REUSEPORT` if asked) → `bind` → `listen`: a
/// listening socket on `addr`. See socket(7), bind(2), listen(2).
fn bind_listener(tr: &mut Tracer, addr: SocketAddr, reuseport: bool) -> Result<OwnedFd> {
    let listener =
        sys::socket(tr, &addr).with_context(|| crate::t!("err-failed", call = "socket()"))?;
    let fd = sys::raw(&listener);
    let (option, note) = sys::PORT_OPTION;
    tr.call(
        Call::new("setsockopt", Stage::Setup)
            .fd(fd)
            .args(format_args!("SOL_SOCKET, {option}, 1")),
        || sys::set_port_option(&listener),
        note,
    )
    .with_context(|| crate::t!("err-failed", call = format!("setsockopt({option})")))?;
    #[cfg(target_os = "linux")]
    if reuseport {
        sys::epoll::reuseport(tr, &listener)
            .with_context(|| crate::t!("err-failed", call = "setsockopt(SO_REUSEPORT)"))?;
    }
    #[cfg(not(target_os = "linux"))]
    let _ = reuseport;
    let bound = tr.call(
        Call::new("bind", Stage::Setup).fd(fd).args(addr),
        || rustix::net::bind(&listener, &addr),
        crate::msg!("server-bind"),
    );
    if let Err(e) = bound {
        let why = match e {
            Errno::ADDRINUSE => crate::t!("err-bind-in-use"),
            Errno::ADDRNOTAVAIL => crate::t!("err-bind-not-here"),
            Errno::ACCESS => crate::t!("err-bind-privileged"),
            _ => crate::t!("err-bind-refused"),
        };
        let os = std::io::Error::from(e).to_string();
        bail!(crate::t!(
            "err-bind",
            addr = addr.to_string(),
            why = why,
            os = os
        ));
    }
    tr.call(
        Call::new("listen", Stage::Setup).fd(fd).args(BACKLOG),
        || rustix::net::listen(&listener, BACKLOG),
        |_: &rustix::io::Result<()>| crate::t!("server-listen", backlog = BACKLOG.to_string()),
    )
    .with_context(|| crate::t!("err-failed", call = "listen()"))?;
    Ok(listener)
}

/// A worker thread's `clone3` arguments: "worker for fd N" (formatted only when traced).
struct WorkerFor(i32);

impl std::fmt::Display for WorkerFor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "worker for fd {}", self.0)
    }
}

/// What a [`Server::spawn_with`] thread is for, as its `clone3` line says it: the call's
/// arguments, its gloss (given the new thread's id), and the remark if it cannot start.
pub struct Job<A, G, D> {
    pub args: A,
    pub gloss: G,
    pub dropped: D,
}

/// What an accept's result means: `note` (the model's) for a client, or why there is none.
fn accepted(r: &rustix::io::Result<sys::Accepted>, wake_up: bool, note: &str) -> String {
    match r {
        Ok(_) if wake_up => crate::t!("accept-wake-up"),
        Ok(_) => note.to_string(),
        Err(Errno::INVAL) => crate::t!("accept-shut"),
        Err(Errno::AGAIN) => crate::t!("accept-nobody"),
        Err(Errno::MFILE) => crate::t!("accept-emfile"),
        Err(_) => crate::t!("accept-failed"),
    }
}

/// The gloss of a readiness model's `fcntl(O_NONBLOCK)` on its listener: a client that gives
/// up between `waiter` (select, poll, …) saying "readable" and our accept must not make the
/// accept wait (UNP §16.6).
pub fn accept_never_waits(waiter: &'static str) -> impl FnOnce(&rustix::io::Result<()>) -> String {
    move |_| {
        crate::t!(
            "accept-never-waits",
            waiter = waiter,
            accept = sys::ACCEPT.0
        )
    }
}

/// Why an accepted socket is made nonblocking: the gloss of its `fcntl`.
fn never_wait(_: &rustix::io::Result<()>) -> String {
    crate::t!("never-wait", recv = sys::RECV, send = sys::SEND)
}
