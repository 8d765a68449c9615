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
    use crate::sys::sigio::Signals;
    use crate::trace::Tracer;
    use rustix::io::Errno;

    // ANCHOR: serve
    /// Block the signals, hand every socket to this thread, then: take a signal if one is pending,
    /// look at the socket it names (accept, or recv and echo), and otherwise do other work.
    #[doc(alias = "O_ASYNC")]
    #[doc(alias = "F_SETSIG")]
    #[doc(alias = "F_SETOWN_EX")]
    #[doc(alias = "sigtimedwait")]
    #[doc(alias = "SIGIO")]
    pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
        let sigs = Signals::block(&mut srv.tr);
        let lfd = srv.lfd();
        arm(&mut srv.tr, &sigs, lfd, crate::msg!("sigio-news-listener"));
        let mut conns: Vec<Conn> = Vec::new();
        // A signal announces a change, not a state: a client that connected before O_ASYNC was set
        // raised none, and would wait for ever. So look once, now that we are armed.
        let early = crate::t!("sigio-early");
        let mut over = accept_all(srv, &mut conns, &sigs, &early)?;
        let signalled = crate::t!("sigio-signalled");
        while !over && !srv.stopping() {
            // Stage ①: the kernel watches the sockets; we only ask whether it has signalled.
            let Ok(info) = sigs.wait(&mut srv.tr, lfd) else {
                srv.tr.work(&mut srv.work);
                continue;
            };
            if info.overflowed() {
                // The real-time queue overflowed: the kernel could not say which socket. Look at all.
                over = accept_all(srv, &mut conns, &sigs, &signalled)?;
                let fds: Vec<i32> = conns.iter().map(Conn::raw).collect();
                for fd in fds {
                    serve_conn(&mut srv.tr, &mut conns, fd);
                }
            } else if info.fd == lfd {
                over = accept_all(srv, &mut conns, &sigs, &signalled)?;
            } else {
                serve_conn(&mut srv.tr, &mut conns, info.fd);
            }
            // A chat: what a client said goes to the other members now, a sendto each. No
            // signal would say so: a signal tells of a change in a socket, and nothing changed
            // in theirs (a full send buffer answers EAGAIN; room freeing up raises POLL_OUT).
            crate::models::fan_out(srv, &mut conns, &mut 0, |_| ());
        }
        for conn in conns {
            conn.close(&mut srv.tr, crate::t!("models-run-over"));
        }
        Ok(())
    }
    // ANCHOR_END: serve

    /// Three `fcntl`s: signals for `fd` go to this thread, as the real-time signal with `si_fd`
    /// and `si_band` filled, and the socket turns `O_ASYNC` (and `O_NONBLOCK`: a stale signal
    /// must not block us). `news` says what its signals will announce.
    fn arm(tr: &mut Tracer, sigs: &Signals, fd: i32, news: crate::lang::Msg) {
        let _ = sigs.set_owner(tr, fd);
        let _ = sigs.set_sig(tr, fd);
        let _ = sigs.set_async(tr, fd, news);
    }

    /// The listener signalled: accept every waiting connection, arm it, and read it once (data may
    /// have arrived before `O_ASYNC` was set, and no signal will say so). Returns whether the
    /// listener was shut down (the run is over).
    fn accept_all(
        srv: &mut Server,
        conns: &mut Vec<Conn>,
        sigs: &Signals,
        note: &str,
    ) -> anyhow::Result<bool> {
        loop {
            match srv.accept(false, note) {
                Ok(conn) => {
                    let fd = conn.raw();
                    arm(&mut srv.tr, sigs, fd, crate::msg!("sigio-news-client"));
                    conns.push(conn);
                    serve_conn(&mut srv.tr, conns, fd);
                }
                Err(Errno::AGAIN) => return Ok(false),
                Err(Errno::CONNABORTED | Errno::INTR) => {}
                Err(Errno::INVAL) => return Ok(true),
                Err(e) => {
                    return Err(
                        anyhow::Error::from(e).context(crate::t!("err-failed", call = "accept4"))
                    );
                }
            }
        }
    }

    /// A client socket signalled: stage ② is ours. Read until `EAGAIN` (a signal may stand for many
    /// arrivals, or for none left), echo what came, close when the client is done.
    fn serve_conn(tr: &mut Tracer, conns: &mut Vec<Conn>, fd: i32) {
        let Some(i) = conns.iter().position(|c| c.raw() == fd) else {
            tr.info(|| crate::t!("sigio-closed-already", fd = fd.to_string()));
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
                        // (A chat member's lines go to the others: nothing to send it back.)
                        if conn.wants_write() && conn.send(tr) == Send::WouldBlock {
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
                crate::t!("models-conn-failed")
            } else {
                crate::t!("models-conn-done")
            };
            conns.remove(i).close(tr, &note);
        }
    }
}

fn notice(s: &Summary) -> Vec<String> {
    vec![
        crate::t!(
            "sigio-notice-signals",
            signals = s.signals.to_string(),
            data = s.signals_with_data.to_string(),
            pct = format!(
                "{:.0}",
                100.0 * s.signals_with_data as f64 / s.signals.max(1) as f64
            )
        ),
        crate::t!(
            "sigio-notice-free",
            work = s.work.to_string(),
            bytes = s.bytes_in.to_string()
        ),
    ]
}
