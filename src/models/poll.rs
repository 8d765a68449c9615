//! I/O multiplexing with `poll(2)` (UNP figure 6.3, §6.10): `select` without the bitmap.
//!
//! Stage ① happens inside `poll`: the thread sleeps until an entry of its `pollfd` array is
//! ready, and the kernel writes what happened into that entry's `revents`. Stage ② is the
//! process's own `recvfrom`, which finds the data already there. The process is told by
//! *readiness*, per array entry.
//!
//! Unlike an `fd_set`, the array has one entry per descriptor watched, whatever its number: no
//! FD_SETSIZE wall. And since the kernel writes only each entry's `revents`, the array survives
//! the call: the process keeps it between calls and writes an entry only when a client comes or
//! goes or its interest changes, where `select` rebuilds its sets every time. But the cost is
//! still linear: the whole array is copied into the kernel and checked on every call, and the
//! process walks the whole array again to find the few entries with `revents` set.
//!
//! See poll(2), UNP §6.10 and §16.6 (a nonblocking listener).

use super::{Kind, Model};
use crate::echo::Conn;
use crate::server::{Server, accept_never_waits};
use crate::sys::poll::{self, POLLERR, POLLHUP, POLLIN, POLLOUT, pollfd};
use crate::sys::set_nonblocking;
use crate::trace::summary::Summary;
use anyhow::Context;
use rustix::io::Errno;

pub const MODEL: Model = Model {
    name: "poll",
    summary: "poll(2) sleeps on an array of pollfd; the process walks it for revents",
    kind: Kind::Readiness,
    figure: "6.3",
    platforms: "Linux, macOS, BSD, Windows (WSAPoll)",
    serve: Some(serve),
    instead: "",
    state: "a list of connections and a pollfd array kept beside it, one entry each",
    told: "readiness",
    notice,
    examples: &[
        "iomodels poll --idle 1000              a pollfd array the kernel scans on every wake-up",
        "iomodels poll --scenario demos/slow-reader.scenario    POLLOUT once the peer reads again",
    ],
};

// ANCHOR: serve
/// Loop: bring the `pollfd` array up to date (an entry per connection, kept between calls) →
/// `poll(fds, nfds, -1)` sleeps until an entry is ready → walk the array → accept, read, write.
#[doc(alias = "pollfd")]
#[doc(alias = "POLLIN")]
#[doc(alias = "POLLOUT")]
pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
    let lfd = srv.lfd();
    set_nonblocking(&mut srv.tr, &srv.listener, accept_never_waits("poll"));
    let mut conns: Vec<Conn> = Vec::new();
    // The array lives as long as the server: entry 0 is the listener, entry i+1 is conns[i].
    // The kernel writes only `revents` (every entry's, on every call), never `events`, so an
    // entry is written by us only when it is added or its interest changes.
    let mut fds = vec![pollfd(lfd, POLLIN)];
    let mut rewritten = 1;
    let accepted = crate::t!("poll-accept");
    loop {
        // 1. Ask for POLLIN only while we want to read (backpressure), POLLOUT only while an
        //    echo is waiting to go out; touch only the entries whose wish changed.
        for (c, p) in conns.iter().zip(&mut fds[1..]) {
            let mut events = 0;
            if c.can_read() {
                events |= POLLIN;
            }
            if c.wants_write() {
                events |= POLLOUT;
            }
            if p.events != events {
                p.events = events;
                rewritten += 1;
            }
        }

        // 2. Stage ①: sleep until some entry is ready. The kernel checks every entry.
        match poll::wait(&mut srv.tr, &mut fds, rewritten) {
            Err(Errno::INTR) => continue,
            r => r.with_context(|| crate::t!("err-failed", call = "poll"))?,
        };
        rewritten = 0;

        // 3. The listener: a client is waiting (or the harness shut it down: POLLIN too). A new
        //    client gets an entry at the end, watched from the next poll on.
        if fds[0].revents != 0 {
            let over = srv.accept_waiting(&accepted, |_, conn| {
                fds.push(pollfd(conn.raw(), POLLIN));
                conns.push(conn);
                rewritten += 1;
                Ok(())
            })?;
            if over {
                break;
            }
        }

        // 4. Walk the connections' entries (a new client's has no `revents` yet): stage ② where
        //    POLLIN (or a hang-up/error) came back, the echo where POLLOUT did. A closed
        //    connection's entry goes with it: the last entry takes its place, as the last
        //    connection takes its place in `conns`.
        let mut i = 0;
        while i < conns.len() {
            let revents = fds[i + 1].revents;
            let conn = &mut conns[i];
            let readable = revents & (POLLIN | POLLHUP | POLLERR) != 0 && !conn.eof;
            match conn.serve_ready(&mut srv.tr, readable, revents != 0) {
                Some(why) => {
                    conns.swap_remove(i).close(&mut srv.tr, why);
                    fds.swap_remove(i + 1);
                    rewritten += 1;
                }
                None => i += 1,
            }
            // A chat: what it said goes to the other members now, a sendto each, POLLOUT or
            // not (a full send buffer answers EAGAIN, and the rest waits for POLLOUT).
            super::fan_out(srv, &mut conns, &mut i, |j| {
                fds.remove(j + 1);
                rewritten += 1;
            });
        }
    }
    for conn in conns {
        conn.close(&mut srv.tr, crate::t!("models-run-over"));
    }
    Ok(())
}
// ANCHOR_END: serve

fn notice(s: &Summary) -> Vec<String> {
    let per_wakeup = |n: u64| format!("{:.1}", n as f64 / s.wakeups.max(1) as f64);
    vec![
        crate::t!(
            "poll-notice-wakeups",
            wakeups = s.wakeups.to_string(),
            watched = per_wakeup(s.watched),
            ready = per_wakeup(s.ready),
            max = s.max_fd.to_string()
        ),
        crate::t!(
            "poll-notice-kept",
            rewritten = s.rewritten.to_string(),
            all = s.watched.to_string()
        ),
        crate::t!(
            "poll-notice-slept",
            calls = s.syscalls.to_string(),
            cpu = format!("{:.1}", s.cpu_us as f64 / 1e3),
            run = format!("{:.1}", s.run_us as f64 / 1e3)
        ),
    ]
}
