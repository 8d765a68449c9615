//! I/O multiplexing with Linux `epoll(7)` (UNP figure 6.3): the kernel keeps the interest list.
//!
//! Stage ① happens inside `epoll_wait` (issued as `epoll_pwait`): the thread sleeps until a
//! registered descriptor is ready. Unlike `select` and `poll`, the interest list lives in the
//! kernel — registered once with `epoll_ctl(ADD)`, changed with `MOD`, removed with `DEL` — and
//! the wait hands back *only the ready descriptors*: no array to copy in, nothing to scan. Stage
//! ② is still the process's own `recvfrom`. The process is told by *readiness*, one event each.
//!
//! Level-triggered (the default) reports a descriptor for as long as it is ready, so this server
//! reads once per event. With `--edge` (`EPOLLET`) a descriptor is reported only when it
//! *becomes* ready, so the server must drain it — read, read, read until `EAGAIN` — or it may
//! never hear about the rest. Interest follows the echo: `EPOLLOUT` only while a connection has
//! unsent bytes, and no `EPOLLIN` while its echo backlog is full (backpressure).
//!
//! See epoll(7) (level- and edge-triggered), epoll_create1(2), epoll_ctl(2), epoll_wait(2).

use super::{Kind, Model, Serve};
use crate::trace::summary::Summary;

pub const MODEL: Model = Model {
    name: "epoll",
    summary: "epoll: the kernel keeps the interest list and hands back only the ready ones",
    kind: Kind::Readiness,
    figure: "6.3",
    platforms: "Linux",
    serve: SERVE,
    instead: super::here("", "kqueue", "poll"),
    state: "a map from descriptor to connection; the interest list itself lives in the kernel",
    told: "readiness",
    notice,
    examples: &[
        "iomodels epoll --edge                  edge-triggered: each ready socket drained to EAGAIN",
        "iomodels epoll --idle 1000             1000 idle connections cost epoll nothing per wake-up",
        "iomodels epoll --max-fds 9 --scenario demos/emfile.scenario",
    ],
};

/// The server loop, where this OS has epoll.
#[cfg(target_os = "linux")]
const SERVE: Option<Serve> = Some(server::serve);
#[cfg(not(target_os = "linux"))]
const SERVE: Option<Serve> = None;

#[cfg(target_os = "linux")]
pub(crate) mod server {
    use crate::echo::{Conn, Recv, Send};
    use crate::server::Server;
    use crate::sys::epoll::{Doorbell, Epoll, EventFlags, MAX_EVENTS};
    use crate::sys::set_nonblocking;
    use crate::trace::Tracer;
    use anyhow::Context;
    use rustix::io::Errno;
    use std::collections::BTreeMap;

    /// A connection and what the kernel's interest list holds for it.
    struct Watched {
        conn: Conn,
        /// The flags registered with `epoll_ctl`, so that we MOD only on a change.
        interest: EventFlags,
        /// Edge-triggered only: we stopped reading before `EAGAIN` (backpressure), so data may be
        /// waiting that no new edge will announce.
        more: bool,
    }

    // ANCHOR: serve
    /// `epoll_create1` → `epoll_ctl(ADD, listener)` → loop: `epoll_wait` sleeps until something is
    /// ready → handle exactly the descriptors it returned → `epoll_ctl(MOD)` where interest changed.
    #[doc(alias = "epoll_create1")]
    #[doc(alias = "epoll_ctl")]
    #[doc(alias = "epoll_wait")]
    #[doc(alias = "EPOLLET")]
    pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
        serve_on(srv, None, None)
    }

    /// [`serve`] on an epoll instance made beforehand, if given (`reactors` makes every
    /// thread's before any thread accepts, so that a busy thread's connections cannot take the
    /// last descriptor another thread's `epoll_create1` needs), and with a doorbell in it, if
    /// given (`reactors --app chat`: other threads ring it when they queue lines for this
    /// thread's members).
    pub fn serve_on(
        srv: &mut Server,
        ep: Option<Epoll>,
        bell: Option<Doorbell>,
    ) -> anyhow::Result<()> {
        let edge = srv.knobs.edge;
        let et = if edge {
            EventFlags::ET
        } else {
            EventFlags::empty()
        };
        let lfd = srv.lfd();
        set_nonblocking(
            &mut srv.tr,
            &srv.listener,
            crate::msg!("epoll-listener-nonblocking"),
        );
        let mut ep = match ep {
            Some(ep) => ep,
            None => Epoll::create(&mut srv.tr)
                .with_context(|| crate::t!("err-failed", call = "epoll_create1"))?,
        };
        // reactors --exclusive: the listener every thread shares, with EPOLLEXCLUSIVE.
        let (only, why) = if srv.knobs.exclusive {
            (
                EventFlags::EXCLUSIVE,
                crate::msg!("epoll-listener-exclusive"),
            )
        } else {
            (EventFlags::empty(), crate::msg!("epoll-listener"))
        };
        ep.add(&mut srv.tr, &srv.listener, EventFlags::IN | et | only, why)?;
        ep.mark_listener(&srv.listener);
        if let (Some(bell), Some(room)) = (&bell, srv.room()) {
            room.on_touch(srv.tr.tid(), bell.ring());
        }

        let mut conns: BTreeMap<i32, Watched> = BTreeMap::new();
        let mut ready = Vec::with_capacity(MAX_EVENTS);
        'serve: loop {
            // Stage ①: sleep until a registered descriptor is ready; only those come back.
            match ep.wait(&mut srv.tr, &mut ready) {
                Err(Errno::INTR) => continue,
                r => r.with_context(|| crate::t!("err-failed", call = "epoll_wait"))?,
            };

            for &(fd, flags) in &ready {
                // The listener: accept one client (level) or every waiting client (edge).
                if fd == lfd {
                    let note = if edge {
                        crate::t!("epoll-accept-edge")
                    } else {
                        crate::t!("epoll-accept-level")
                    };
                    let over = srv.accept_waiting(&note, |srv, conn| {
                        let interest = EventFlags::IN | EventFlags::RDHUP | et;
                        let why = crate::msg!("epoll-watch-client");
                        ep.add(&mut srv.tr, &conn.fd, interest, why)?;
                        let more = false;
                        conns.insert(
                            conn.raw(),
                            Watched {
                                conn,
                                interest,
                                more,
                            },
                        );
                        Ok(())
                    })?;
                    if over {
                        break 'serve;
                    }
                    continue;
                }

                // The doorbell: another thread queued lines for our members (sent below).
                if let Some(bell) = bell.as_ref().filter(|b| b.raw() == fd) {
                    bell.answer(&mut srv.tr);
                    continue;
                }

                // A client: stage ② where it is readable, the echo where it is writable.
                let Some(w) = conns.get_mut(&fd) else {
                    continue;
                };
                let readable = flags.intersects(
                    EventFlags::IN | EventFlags::RDHUP | EventFlags::HUP | EventFlags::ERR,
                );
                let writable = flags.contains(EventFlags::OUT);
                let failed = if edge {
                    drain(&mut srv.tr, w, readable)
                } else {
                    once(&mut srv.tr, w, readable, writable)
                };
                settle(&mut srv.tr, &mut ep, &mut conns, fd, failed, et)?;
            }
            // A chat: what one client said is queued for the others. Send it now, one sendto
            // per member (the fan-out); where it does not all fit, interest gains EPOLLOUT.
            for fd in srv.touched() {
                let Some(w) = conns.get_mut(&fd) else {
                    continue;
                };
                let failed = !w.conn.dropped()
                    && w.conn.wants_write()
                    && !w.interest.contains(EventFlags::OUT)
                    && matches!(w.conn.send(&mut srv.tr), Send::Failed(_));
                settle(&mut srv.tr, &mut ep, &mut conns, fd, failed, et)?;
            }
        }
        for (_, w) in conns {
            w.conn.close(&mut srv.tr, crate::t!("epoll-run-over"));
        }
        if let Some(bell) = bell {
            bell.close(&mut srv.tr);
        }
        ep.close(&mut srv.tr);
        Ok(())
    }
    // ANCHOR_END: serve

    /// After serving connection `fd`: close it if it failed or is done, else make the
    /// kernel's interest follow what it needs now.
    fn settle(
        tr: &mut Tracer,
        ep: &mut Epoll,
        conns: &mut BTreeMap<i32, Watched>,
        fd: i32,
        failed: bool,
        et: EventFlags,
    ) -> anyhow::Result<()> {
        let Some(w) = conns.get_mut(&fd) else {
            return Ok(());
        };
        if failed || w.conn.finished() {
            let w = conns.remove(&fd).expect("still there");
            let _ = ep.delete(tr, &w.conn.fd);
            w.conn.close(tr, closing(failed));
            return Ok(());
        }
        // Interest follows the echo: EPOLLOUT only with bytes to send, EPOLLIN only with room.
        let want = interest(&w.conn, et);
        if want != w.interest {
            ep.modify(tr, &w.conn.fd, want, change(want))?;
            w.interest = want;
        }
        Ok(())
    }

    // ANCHOR: levels
    /// Level-triggered: one `recvfrom` per readable event, one `sendto` per chance to echo. What is
    /// left is reported again by the next `epoll_wait`. Returns whether the connection failed.
    fn once(tr: &mut Tracer, w: &mut Watched, readable: bool, writable: bool) -> bool {
        let mut got = false;
        if readable && w.conn.can_read() {
            match w.conn.recv(tr) {
                Recv::Failed(_) => return true,
                Recv::Data(_) => got = true,
                _ => {}
            }
        }
        if w.conn.wants_write() && (writable || got) {
            return matches!(w.conn.send(tr), Send::Failed(_));
        }
        false
    }

    /// Edge-triggered: read until `EAGAIN` (or until the backlog is full), send until `EAGAIN`, and
    /// go round again while sending made room for data we left behind. Returns whether it failed.
    fn drain(tr: &mut Tracer, w: &mut Watched, readable: bool) -> bool {
        if readable {
            w.more = true;
        }
        loop {
            while w.more && w.conn.can_read() {
                match w.conn.recv(tr) {
                    Recv::Data(_) => {}
                    Recv::Eof | Recv::WouldBlock => w.more = false,
                    Recv::Failed(_) => return true,
                }
            }
            while w.conn.wants_write() {
                let before = w.conn.pending();
                match w.conn.send(tr) {
                    Send::Done => {}
                    Send::WouldBlock if w.conn.pending() < before => {} // partial: try again
                    Send::WouldBlock => break, // EAGAIN: the next EPOLLOUT edge will tell us
                    Send::Failed(_) => return true,
                }
            }
            if !(w.more && w.conn.can_read()) {
                return false;
            }
        }
    }
    // ANCHOR_END: levels

    /// What to ask the kernel for, from the connection's state.
    fn interest(conn: &Conn, et: EventFlags) -> EventFlags {
        let mut f = et;
        if conn.can_read() {
            f |= EventFlags::IN | EventFlags::RDHUP;
        }
        if conn.wants_write() {
            f |= EventFlags::OUT;
        }
        f
    }

    /// Why interest changed to `want`: the gloss of its `epoll_ctl(MOD)`.
    fn change(want: EventFlags) -> crate::lang::Msg {
        match (
            want.contains(EventFlags::IN),
            want.contains(EventFlags::OUT),
        ) {
            (true, true) => crate::msg!("epoll-change-both"),
            (true, false) => crate::msg!("epoll-change-in"),
            (false, true) => crate::msg!("epoll-change-out"),
            (false, false) => crate::msg!("epoll-change-none"),
        }
    }

    /// Why a connection is closed mid-run.
    fn closing(failed: bool) -> String {
        if failed {
            crate::t!("models-conn-failed")
        } else {
            crate::t!("models-conn-done")
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::echo::tests::pair;
        use crate::limits::Budget;
        use crate::trace::Recorder;
        use std::io::Write;

        const READ: EventFlags = EventFlags::IN.union(EventFlags::RDHUP);

        #[test]
        fn interest_follows_the_echo() {
            let mut tr = Recorder::disabled().thread("server", crate::sys::thread_id);
            let budget = Budget::new(16, 1 << 20);
            let (mut conn, mut cli) = pair(4, 4, &budget);
            assert_eq!(
                interest(&conn, EventFlags::empty()),
                READ,
                "reading, nothing to send"
            );
            assert_eq!(
                interest(&conn, EventFlags::ET),
                READ | EventFlags::ET,
                "edge-triggered"
            );
            cli.write_all(b"ab").unwrap();
            assert_eq!(conn.recv(&mut tr), Recv::Data(2));
            assert_eq!(
                interest(&conn, EventFlags::empty()),
                READ | EventFlags::OUT,
                "unsent bytes: writability too"
            );
            cli.write_all(b"cd").unwrap();
            assert_eq!(conn.recv(&mut tr), Recv::Data(2));
            assert_eq!(
                interest(&conn, EventFlags::ET),
                EventFlags::OUT | EventFlags::ET,
                "backlog full: no EPOLLIN until the echo drains"
            );
            assert_eq!(conn.send(&mut tr), Send::Done);
            cli.shutdown(std::net::Shutdown::Write).unwrap();
            assert_eq!(conn.recv(&mut tr), Recv::Eof);
            assert_eq!(
                interest(&conn, EventFlags::empty()),
                EventFlags::empty(),
                "after EOF with everything echoed: nothing to wait for"
            );
        }
    }
}

fn notice(s: &Summary) -> Vec<String> {
    let ctl = s.calls.get("epoll_ctl").copied().unwrap_or(0);
    vec![
        crate::t!(
            "epoll-notice-wakeups",
            wakeups = s.wakeups.to_string(),
            ready = format!("{:.1}", s.ready as f64 / s.wakeups.max(1) as f64),
            max = s.max_fd.to_string()
        ),
        crate::t!(
            "epoll-notice-ctl",
            ctl = ctl.to_string(),
            calls = s.syscalls.to_string(),
            cpu = format!("{:.1}", s.cpu_us as f64 / 1e3),
            run = format!("{:.1}", s.run_us as f64 / 1e3)
        ),
    ]
}
