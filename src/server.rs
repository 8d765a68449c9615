//! What every model's server shares: the listening socket, the stop signal, and teardown.
//!
//! The harness makes the listener on the server thread (so `socket`, `bind` and `listen` are in
//! the server's trace), hands it to the model's `serve`, and stops the server when the scenario
//! is over by shutting the listener down through a duplicate descriptor: a blocked `accept4`
//! then fails with `EINVAL`, and every model treats that as "time to go".

use crate::echo::Conn;
use crate::limits::{self, Budget, Spare};
use crate::trace::{Call, Stage, Tracer};
use anyhow::{Context, Result, bail};
use rustix::fd::{AsRawFd, IntoRawFd, OwnedFd};
use rustix::net::{AddressFamily, SocketAddrAny, SocketFlags, SocketType};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Knobs a model may honour; the CLI fills them.
#[derive(Clone, Debug)]
pub struct Knobs {
    /// Bytes asked for in each recv: small values show partial reads.
    pub read_size: usize,
    /// Most bytes a connection may have waiting to be sent before the server stops reading it.
    pub max_pending: usize,
    /// epoll: edge-triggered (`EPOLLET`) instead of level-triggered readiness.
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
            max_conns: crate::limits::MAX_CONNS,
            max_buffer_total: crate::limits::MAX_BUFFER_TOTAL,
            fd_limit: None,
        }
    }
}

/// The context a model's `serve` function gets.
pub struct Server {
    /// Records this thread's calls.
    pub tr: Tracer,
    /// The listening socket (blocking, as `socket` made it).
    pub listener: OwnedFd,
    pub knobs: Knobs,
    /// Units of "other work" done while waiting (models that are free in stage ① advance it).
    pub work: u64,
    /// Set by the harness when the run is over, for models that never block in `accept4` and
    /// may not hear the listener being shut down (signal-driven I/O: no signal says so).
    stop: Arc<AtomicBool>,
    /// Open connections and buffered bytes, shared by every connection (see `limits`).
    budget: Arc<Budget>,
    /// The descriptor kept in reserve for `EMFILE`.
    spare: Spare,
}

/// How the harness stops a server: a stop flag, and a duplicate of the listener to shut down.
pub struct StopHandle {
    listener: OwnedFd,
    stop: Arc<AtomicBool>,
}

impl StopHandle {
    /// Ends the run: the stop flag turns true, then a blocked `accept4` wakes with `EINVAL`,
    /// readiness models see the listener hang up.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = rustix::net::shutdown(&self.listener, rustix::net::Shutdown::Read);
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
        let family = match addr {
            SocketAddr::V4(_) => AddressFamily::INET,
            SocketAddr::V6(_) => AddressFamily::INET6,
        };
        let fam = if addr.is_ipv4() {
            "AF_INET"
        } else {
            "AF_INET6"
        };
        let listener = tr
            .sys_fd(
                Call::new("socket", Stage::Setup).args(format!("{fam}, SOCK_STREAM|SOCK_CLOEXEC")),
                "a TCP socket that will listen",
                || rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None),
            )
            .context("socket() failed")?;
        let fd = listener.as_raw_fd();
        tr.sys(
            Call::new("setsockopt", Stage::Setup)
                .fd(fd)
                .args("SOL_SOCKET, SO_REUSEADDR, 1"),
            "let a restarted server reuse the port at once",
            || rustix::net::sockopt::set_socket_reuseaddr(&listener, true),
        )
        .context("setsockopt(SO_REUSEADDR) failed")?;
        let bound = tr.sys(
            Call::new("bind", Stage::Setup)
                .fd(fd)
                .args(addr.to_string()),
            "claim the address and port",
            || rustix::net::bind(&listener, &addr),
        );
        if let Err(e) = bound {
            let why = match e {
                rustix::io::Errno::ADDRINUSE => {
                    "it is already in use (another server?); pick another --port, or omit --port for a free one"
                }
                rustix::io::Errno::ADDRNOTAVAIL => {
                    "that address is not on this machine; --bind takes a local address such as 127.0.0.1"
                }
                rustix::io::Errno::ACCESS => "ports below 1024 need privileges; pick a port ≥ 1024",
                _ => "the kernel refused",
            };
            bail!("cannot bind {addr}: {why} ({})", std::io::Error::from(e));
        }
        tr.sys(
            Call::new("listen", Stage::Setup).fd(fd).args("128"),
            "accept connections; the kernel queues up to 128 finished handshakes",
            || rustix::net::listen(&listener, 128),
        )
        .context("listen() failed")?;
        let local = tr
            .sys_fd(
                Call::new("getsockname", Stage::Setup).fd(fd),
                "which port did we get?",
                || rustix::net::getsockname(&listener),
            )
            .context("getsockname() failed")?;
        let local = socket_addr(local).context("getsockname() gave no IP address")?;
        let dup = tr
            .sys_fd(
                Call::new("fcntl", Stage::Setup)
                    .fd(fd)
                    .args("F_DUPFD_CLOEXEC, 0"),
                "a second handle to the listener, for the harness to stop us with",
                || rustix::io::fcntl_dupfd_cloexec(&listener, 0),
            )
            .context("fcntl(F_DUPFD_CLOEXEC) failed")?;
        tr.info(format!("listening on {local}"));
        let stop = Arc::new(AtomicBool::new(false));
        let budget = Budget::new(knobs.max_conns, knobs.max_buffer_total);
        let spare = Spare::new(knobs.fd_limit);
        let server = Server {
            tr,
            listener,
            knobs,
            work: 0,
            stop: stop.clone(),
            budget,
            spare,
        };
        Ok((
            server,
            local,
            StopHandle {
                listener: dup,
                stop,
            },
        ))
    }

    /// Whether the harness has ended the run (a flag, not a system call).
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// The listener's descriptor number, for trace lines.
    pub fn lfd(&self) -> i32 {
        self.listener.as_raw_fd()
    }

    /// `accept4` on the listener: the next finished handshake becomes a [`Conn`]. The peer's
    /// port is recorded so the trace can name the client behind the new descriptor.
    ///
    /// Never fails for want of resources: past `--max-conns` the client is refused, and on
    /// `EMFILE` the spare descriptor makes room to refuse it (see `limits`); either way the
    /// model sees `ECONNABORTED` (a client that gave up) and carries on. `EINVAL` means stop.
    pub fn accept(&mut self, blocks: bool, note: &str) -> rustix::io::Result<Conn> {
        let call = Call::new("accept4", Stage::DataReady)
            .fd(self.lfd())
            .args("SOCK_CLOEXEC")
            .blocking(blocks);
        let start = self.tr.enter(&call);
        let r = rustix::net::acceptfrom_with(&self.listener, SocketFlags::CLOEXEC);
        let port = r
            .as_ref()
            .ok()
            .and_then(|(_, addr)| peer_port(addr.clone()));
        let shown = r.as_ref().map(|(fd, _)| fd.as_raw_fd()).map_err(|e| *e);
        let note = match shown {
            Ok(_) => note,
            Err(rustix::io::Errno::INVAL) => "the listener was shut down: the run is over",
            Err(rustix::io::Errno::AGAIN) => "no client is waiting to be accepted",
            Err(rustix::io::Errno::MFILE) => {
                "out of descriptors (EMFILE): every descriptor this process may open is in use"
            }
            Err(_) => "accept failed",
        };
        self.tr
            .end_with(call, start, shown, |ev| ev.port = port, note);
        match r {
            Ok((fd, _)) => self.admit(fd).ok_or(rustix::io::Errno::CONNABORTED),
            Err(e) => Err(self.out_of_descriptors(e, blocks)),
        }
    }

    /// A freshly accepted descriptor becomes a [`Conn`], unless `--max-conns` are open already:
    /// then the client is told why and the connection closed (`None`).
    pub fn admit(&mut self, fd: OwnedFd) -> Option<Conn> {
        self.spare.maybe_reserve(&mut self.tr, fd.as_raw_fd());
        let open = self.budget.open();
        if open >= self.budget.max_conns() {
            limits::refuse_busy(&mut self.tr, fd, open, self.budget.max_conns());
            return None;
        }
        Some(Conn::new(fd, &self.knobs, &self.budget))
    }

    /// After `accept4` failed: `EMFILE` and friends are survived here (see `limits`); returns
    /// the error the model acts on.
    pub fn out_of_descriptors(
        &mut self,
        err: rustix::io::Errno,
        blocks: bool,
    ) -> rustix::io::Errno {
        limits::after_accept_error(&mut self.tr, &mut self.spare, &self.listener, err, blocks)
    }

    /// The model failed: shut the listener down (the harness's duplicate keeps it open), so
    /// that clients waiting in its queue are refused at once instead of waiting for an echo.
    pub fn abort(&mut self) {
        let lfd = self.lfd();
        let _ = self.tr.sys(
            Call::new("shutdown", Stage::Teardown)
                .fd(lfd)
                .args("SHUT_RD"),
            "the server failed: refuse the clients",
            || rustix::net::shutdown(&self.listener, rustix::net::Shutdown::Read),
        );
    }

    /// Closes the listener and reports this thread's CPU time: the last lines of every run.
    pub fn teardown(mut self) {
        self.spare.release(&mut self.tr);
        close(&mut self.tr, self.listener, "close the listener");
        rusage(&mut self.tr);
    }
}

/// Closes a descriptor with exactly one `close` (std's drop adds an `fcntl` check in debug
/// builds, which would be a call the trace does not name).
pub fn close(tr: &mut Tracer, fd: OwnedFd, note: &str) {
    let raw = fd.into_raw_fd();
    let call = Call::new("close", Stage::Teardown).fd(raw);
    let start = tr.begin();
    // SAFETY: `raw` came from `into_raw_fd`, so we own it and nothing else will close it.
    unsafe { rustix::io::close(raw) };
    tr.end(call, start, Ok(()), note);
}

/// `getrusage(RUSAGE_THREAD)`: this thread's CPU time, recorded for the summary.
pub fn rusage(tr: &mut Tracer) {
    let call = Call::new("getrusage", Stage::Teardown).args("RUSAGE_THREAD");
    let start = tr.begin();
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `ru` is a valid, writable rusage; RUSAGE_THREAD only reads the calling thread.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, ru.as_mut_ptr()) };
    // SAFETY: zeroed is a valid rusage, and getrusage filled it on success.
    let ru = unsafe { ru.assume_init() };
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    let cpu = us(ru.ru_utime) + us(ru.ru_stime);
    let result = if rc == 0 {
        Ok(())
    } else {
        Err(
            rustix::io::Errno::from_io_error(&std::io::Error::last_os_error())
                .unwrap_or(rustix::io::Errno::INVAL),
        )
    };
    tr.end_with(
        call,
        start,
        result,
        |ev| ev.cpu_us = Some(cpu),
        format!(
            "this thread's CPU: {:.1} ms user + {:.1} ms system",
            us(ru.ru_utime) as f64 / 1e3,
            us(ru.ru_stime) as f64 / 1e3
        ),
    );
}

/// The IP address and port inside a socket address the kernel gave us.
pub fn socket_addr(addr: SocketAddrAny) -> Option<SocketAddr> {
    SocketAddr::try_from(addr).ok()
}

/// The peer's port, for naming a connection after the client behind it.
pub fn peer_port(addr: Option<SocketAddrAny>) -> Option<u16> {
    addr.and_then(socket_addr).map(|a| a.port())
}
