//! Signal-driven I/O (UNP figure 6.4): the kernel sends a signal when a socket has news.
//!
//! Every socket is set `O_ASYNC` with `fcntl`, owned by the server thread (`F_SETOWN_EX`,
//! `F_OWNER_TID`), and, on Linux, given a real-time signal with `F_SETSIG`. Stage ① is the
//! kernel's job: the process is *free* — here it does units of other work — until a signal
//! says that a socket changed. With `F_SETSIG` the signal's `siginfo` names the socket
//! (`si_fd`) and why (`si_band`: `POLLIN|POLLRDNORM`, …); without it, plain `SIGIO` carries no
//! descriptor at all (`si_fd=0`, `si_code=SI_KERNEL`), and the process must ask every socket.
//! Stage ② is still the process's own `recvfrom`, which copies the data while the process waits.
//!
//! The signal is blocked (`rt_sigprocmask`) and taken with `rt_sigtimedwait`, never by a handler:
//! a handler may interrupt the server anywhere, so it could do no I/O of its own. Between units of
//! work the server asks for a pending signal, waiting at most 1 ms (`EAGAIN`: none came).
//!
//! For TCP the signal says little: it fires when a connection completes on the listener, when
//! data arrives, when a FIN arrives, when room frees in the send buffer — so every signal must
//! be followed by a look at the socket, and many of those looks find no data (UNP §25.3: "SIGIO
//! is of little use with TCP"). The summary counts what fraction of signals led to data. If the
//! queue of real-time signals overflows, the kernel falls back to a plain `SIGIO`, and the server
//! rescans every socket.
//!
//! See fcntl(2) (`F_SETOWN_EX`, `F_SETSIG`, `O_ASYNC`), sigtimedwait(2), sigprocmask(2),
//! socket(7) (`FIOASYNC`), and sigaction(2) (`siginfo_t`: `si_fd`, `si_band`).

use super::{Kind, Model, Serve};
use crate::trace::summary::Summary;

pub const MODEL: Model = Model {
    name: "sigio",
    summary: "O_ASYNC sockets: a real-time signal says which socket changed; then recv",
    kind: Kind::Signal,
    figure: "6.4",
    platforms: "Linux",
    serve: SERVE,
    instead: super::here("", "kqueue", "iocp"),
    state: "a list of connections; the signal's si_fd says which one to look at",
    told: "a signal",
    notice,
    examples: &[
        "iomodels sigio                         a real-time signal names the ready socket",
        "iomodels sigio --scenario demos/crowd.scenario      signals queue up for four clients",
    ],
};

/// The server loop, where this OS has F_SETSIG.
#[cfg(target_os = "linux")]
const SERVE: Option<Serve> = Some(server::serve);
#[cfg(not(target_os = "linux"))]
const SERVE: Option<Serve> = None;

#[cfg(target_os = "linux")]
mod server {
    use crate::echo::{Conn, Recv, Send};
    use crate::server::Server;
    use crate::trace;
    use crate::trace::{Call, Stage, Tracer};
    use rustix::io::Errno;
    use std::mem::MaybeUninit;

    /// `fcntl` commands libc does not name on Linux (asm-generic/fcntl.h).
    const F_SETSIG: libc::c_int = 10;
    const F_SETOWN_EX: libc::c_int = 15;
    const F_OWNER_TID: libc::c_int = 0;

    /// `struct f_owner_ex` (fcntl(2)): who receives the signals of a descriptor.
    #[repr(C)]
    struct FOwnerEx {
        /// `F_OWNER_TID`: one thread, not the whole process.
        kind: libc::c_int,
        /// That thread's TID.
        pid: libc::pid_t,
    }

    /// The part of `siginfo_t` a `SIGPOLL`-style signal fills (`_sigpoll` in the kernel's union).
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct SigPoll {
        signo: libc::c_int,
        errno: libc::c_int,
        code: libc::c_int,
        /// Why: the `poll` bits of the socket (`POLLIN|POLLRDNORM`, …).
        band: libc::c_long,
        /// Which socket.
        fd: libc::c_int,
    }

    /// How long one `rt_sigtimedwait` may wait before the server goes back to its other work.
    const WAIT_NS: libc::c_long = 1_000_000;

    // ANCHOR: serve
    /// Block the signals, hand every socket to this thread, then: take a signal if one is pending,
    /// look at the socket it names (accept, or recv and echo), and otherwise do other work.
    #[doc(alias = "O_ASYNC")]
    #[doc(alias = "F_SETSIG")]
    #[doc(alias = "F_SETOWN_EX")]
    #[doc(alias = "sigtimedwait")]
    #[doc(alias = "SIGIO")]
    pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
        let sig = libc::SIGRTMIN();
        let set = block(&mut srv.tr, sig);
        let tid = srv.tr.tid() as libc::pid_t;
        let lfd = srv.lfd();
        arm(&mut srv.tr, lfd, tid, sig, "a connection on the listener");
        let mut conns: Vec<Conn> = Vec::new();
        // A signal announces a change, not a state: a client that connected before O_ASYNC was set
        // raised none, and would wait for ever. So look once, now that we are armed.
        let mut over = accept_all(
            srv,
            &mut conns,
            tid,
            sig,
            "it connected before we were armed: no signal would have told us",
        )?;
        while !over && !srv.stopping() {
            // Stage ①: the kernel watches the sockets; we only ask whether it has signalled.
            let Some(info) = take_signal(&mut srv.tr, &set, sig, lfd) else {
                srv.tr.work(&mut srv.work);
                continue;
            };
            if info.signo == libc::SIGIO {
                // The real-time queue overflowed: the kernel could not say which socket. Look at all.
                over = accept_all(srv, &mut conns, tid, sig, SIGNALLED)?;
                let fds: Vec<i32> = conns.iter().map(Conn::raw).collect();
                for fd in fds {
                    serve_conn(&mut srv.tr, &mut conns, fd);
                }
            } else if info.fd == lfd {
                over = accept_all(srv, &mut conns, tid, sig, SIGNALLED)?;
            } else {
                serve_conn(&mut srv.tr, &mut conns, info.fd);
            }
        }
        for conn in conns {
            conn.close(&mut srv.tr, "the run is over");
        }
        Ok(())
    }
    // ANCHOR_END: serve

    /// `pthread_sigmask(SIG_BLOCK, {sig, SIGIO})`: the signals stay pending until we take them.
    fn block(tr: &mut Tracer, sig: libc::c_int) -> libc::sigset_t {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset initialises the set; sigaddset only writes into it.
        let set = unsafe {
            libc::sigemptyset(set.as_mut_ptr());
            libc::sigaddset(set.as_mut_ptr(), sig);
            libc::sigaddset(set.as_mut_ptr(), libc::SIGIO);
            set.assume_init()
        };
        let call = Call::new("rt_sigprocmask", Stage::Setup)
            .args(format!("SIG_BLOCK, [IO {}]", rt_name(sig)));
        let start = tr.begin();
        // SAFETY: `set` is initialised; a null old set is allowed.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        let r = if rc == 0 {
            Ok(())
        } else {
            Err(Errno::from_raw_os_error(rc))
        };
        tr.end(
            call,
            start,
            r,
            "block the signals: no handler runs; they wait until rt_sigtimedwait takes them",
        );
        set
    }

    /// Three `fcntl`s: signals for `fd` go to this thread, as `sig` with `si_fd` and `si_band`
    /// filled, and the socket turns `O_ASYNC` (and `O_NONBLOCK`: a stale signal must not block us).
    fn arm(tr: &mut Tracer, fd: i32, tid: libc::pid_t, sig: libc::c_int, news: &str) {
        let owner = FOwnerEx {
            kind: F_OWNER_TID,
            pid: tid,
        };
        let _ = tr.sys(
            Call::new("fcntl", Stage::Setup)
                .fd(fd)
                .args(format!("F_SETOWN_EX, {{F_OWNER_TID, {tid}}}")),
            "signals for this socket go to the server thread",
            // SAFETY: F_SETOWN_EX reads one f_owner_ex, which `owner` is.
            || cvt(unsafe { libc::fcntl(fd, F_SETOWN_EX, &owner) }),
        );
        let _ = tr.sys(
            Call::new("fcntl", Stage::Setup)
                .fd(fd)
                .args(format!("F_SETSIG, SIG{}", rt_name(sig))),
            "send a queued real-time signal whose siginfo says which socket (si_fd) and why (si_band)",
            // SAFETY: F_SETSIG takes a signal number.
            || cvt(unsafe { libc::fcntl(fd, F_SETSIG, sig) }),
        );
        let flags = libc::O_RDWR | libc::O_NONBLOCK | libc::O_ASYNC;
        let _ = tr.sys(
            Call::new("fcntl", Stage::Setup)
                .fd(fd)
                .args("F_SETFL, O_RDWR|O_NONBLOCK|O_ASYNC"),
            &format!("signal us on news: {news}; calls never wait"),
            // SAFETY: F_SETFL takes an int of flags.
            || cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, flags) }),
        );
    }

    /// `rt_sigtimedwait`: takes one pending signal, waiting at most [`WAIT_NS`]. The trace line
    /// shows what the kernel put in the siginfo.
    fn take_signal(
        tr: &mut Tracer,
        set: &libc::sigset_t,
        sig: libc::c_int,
        lfd: i32,
    ) -> Option<SigPoll> {
        let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
        let timeout = libc::timespec {
            tv_sec: 0,
            tv_nsec: WAIT_NS,
        };
        let start = tr.begin();
        // SAFETY: `set`, `info` and `timeout` are valid for the call; `info` is writable.
        let rc = unsafe { libc::sigtimedwait(set, info.as_mut_ptr(), &timeout) };
        let mut call = Call::new("rt_sigtimedwait", Stage::DataReady);
        if rc < 0 {
            let e = last_errno();
            call = call.args(format!("[IO {}], timeout=1ms", rt_name(sig)));
            let note = if e == Errno::AGAIN {
                "no signal within 1 ms: back to other work"
            } else {
                "no signal"
            };
            tr.end(call, start, Err::<i32, _>(e), note);
            return None;
        }
        // SAFETY: siginfo_t is at least as large as SigPoll and starts with the same fields; the
        // kernel filled it (and it was zeroed before, so nothing is uninitialised).
        let info = unsafe { info.as_ptr().cast::<SigPoll>().read() };
        let signame = if info.signo == sig {
            format!("SIG{}", rt_name(sig))
        } else {
            "SIGIO".to_string()
        };
        call = call.fd(info.fd).args(format!(
            "si_signo={signame}, si_code={}, si_fd={}, si_band={}",
            code_name(info.code),
            info.fd,
            band_names(info.band)
        ));
        let note = if info.signo != sig {
            "SIGIO: the real-time queue overflowed, the kernel lost which socket: rescan all".into()
        } else if info.fd == lfd && info.band & libc::POLLIN as libc::c_long != 0 {
            "a signal: the listener has a connection waiting → accept4".to_string()
        } else if info.fd == lfd {
            format!(
                "a signal: the listener reports {} ({}) → accept4 to find out why",
                band_names(info.band),
                code_name(info.code)
            )
        } else if info.band & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) as libc::c_long != 0 {
            format!(
                "a signal: fd {} is readable ({}) → recvfrom: data, a FIN, or nothing new",
                info.fd,
                code_name(info.code)
            )
        } else {
            format!(
                "a signal: fd {} has room to send ({}) → send what waits",
                info.fd,
                code_name(info.code)
            )
        };
        tr.end(call, start, Ok(rc), note);
        Some(info)
    }

    /// The listener signalled: accept every waiting connection, arm it, and read it once (data may
    /// have arrived before `O_ASYNC` was set, and no signal will say so). Returns whether the
    /// listener was shut down (the run is over).
    /// The note of an accept a signal announced.
    const SIGNALLED: &str = "accepted without waiting: the signal said it was there";

    fn accept_all(
        srv: &mut Server,
        conns: &mut Vec<Conn>,
        tid: libc::pid_t,
        sig: libc::c_int,
        note: &str,
    ) -> anyhow::Result<bool> {
        loop {
            match srv.accept(false, note) {
                Ok(conn) => {
                    let fd = conn.raw();
                    arm(&mut srv.tr, fd, tid, sig, "data, a FIN, room to send");
                    conns.push(conn);
                    serve_conn(&mut srv.tr, conns, fd);
                }
                Err(Errno::AGAIN) => return Ok(false),
                Err(Errno::CONNABORTED | Errno::INTR) => {}
                Err(Errno::INVAL) => return Ok(true),
                Err(e) => return Err(anyhow::Error::from(e).context("accept4 failed")),
            }
        }
    }

    /// A client socket signalled: stage ② is ours. Read until `EAGAIN` (a signal may stand for many
    /// arrivals, or for none left), echo what came, close when the client is done.
    fn serve_conn(tr: &mut Tracer, conns: &mut Vec<Conn>, fd: i32) {
        let Some(i) = conns.iter().position(|c| c.raw() == fd) else {
            tr.info(format!(
                "fd {fd} is already closed: this signal was queued before we closed it"
            ));
            return;
        };
        let conn = &mut conns[i];
        let mut failed = false;
        // A signal announces a change, not a state. Where the echo backlog stopped the reading
        // (not EAGAIN, not a full send buffer), the bytes still queued in the kernel raise no
        // new signal: once the backlog is out, read again.
        loop {
            let mut backlog_full = true;
            while conn.can_read() {
                match conn.recv(tr) {
                    Recv::Data(_) => {
                        if conn.send(tr) == Send::WouldBlock {
                            // The rest goes out when a POLL_OUT signal says there is room.
                            backlog_full = false;
                            break;
                        }
                    }
                    Recv::Eof | Recv::WouldBlock => {
                        backlog_full = false;
                        break;
                    }
                    Recv::Failed(_) => {
                        failed = true;
                        break;
                    }
                }
            }
            if !failed && conn.wants_write() {
                failed = matches!(conn.send(tr), Send::Failed(_));
            }
            if failed || !backlog_full || !conn.can_read() {
                break;
            }
        }
        if failed || conn.finished() {
            let note = if failed {
                "the connection failed: drop it"
            } else {
                "echoed everything and the client is done"
            };
            conns.remove(i).close(tr, note);
        }
    }

    /// A real-time signal as strace names it: `RT_2` is the kernel's 32 + 2, glibc's `SIGRTMIN`
    /// (glibc keeps the first two real-time signals for itself).
    fn rt_name(sig: libc::c_int) -> String {
        format!("RT_{}", sig - 32)
    }

    /// `si_code` of a `SIGPOLL`-style signal, as siginfo.h names it.
    fn code_name(code: libc::c_int) -> String {
        match code {
            1 => "POLL_IN".into(),
            2 => "POLL_OUT".into(),
            3 => "POLL_MSG".into(),
            4 => "POLL_ERR".into(),
            5 => "POLL_PRI".into(),
            6 => "POLL_HUP".into(),
            0x80 => "SI_KERNEL".into(),
            c => c.to_string(),
        }
    }

    /// `si_band` by name: the `poll` bits of the socket when the signal was sent.
    fn band_names(band: libc::c_long) -> String {
        trace::names::flags(band as u64, trace::names::POLL_BITS)
    }

    fn last_errno() -> Errno {
        Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::INVAL)
    }

    fn cvt(rc: libc::c_int) -> rustix::io::Result<i32> {
        if rc < 0 { Err(last_errno()) } else { Ok(rc) }
    }
}

fn notice(s: &Summary) -> Vec<String> {
    vec![
        format!(
            "{} signals came; {} of them ({:.0}%) led to data: the rest announced a connection, a FIN, or bytes an earlier look had already read — for TCP a signal only says \"look\" (UNP §25.3)",
            s.signals,
            s.signals_with_data,
            100.0 * s.signals_with_data as f64 / s.signals.max(1) as f64
        ),
        format!(
            "free in stage ①: {} units of other work done while the kernel watched the sockets; stage ② was still the server's own recvfrom, {} bytes copied",
            s.work, s.bytes_in
        ),
    ]
}
