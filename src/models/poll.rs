//! I/O multiplexing with `poll(2)` (UNP figure 6.3, §6.10): `select` without the bitmap.
//!
//! Stage ① happens inside `poll`: the thread sleeps until an entry of its `pollfd` array is
//! ready, and the kernel writes what happened into that entry's `revents`. Stage ② is the
//! process's own `recvfrom`, which finds the data already there. The process is told by
//! *readiness*, per array entry.
//!
//! Unlike an `fd_set`, the array has one entry per descriptor watched, whatever its number: no
//! FD_SETSIZE wall. But the cost is still linear: the whole array is copied into the kernel and
//! checked on every call, and the process walks the whole array again to find the few entries
//! with `revents` set.
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
    state: "a list of connections and a pollfd array rebuilt from it before every poll",
    told: "readiness",
    notice,
    examples: &[
        "iomodels poll --idle 1000              a pollfd array the kernel scans on every wake-up",
        "iomodels poll --scenario demos/slow-reader.scenario    POLLOUT once the peer reads again",
    ],
};

// ANCHOR: serve
/// Loop: build the `pollfd` array (the listener, then one entry per connection) →
/// `poll(fds, nfds, -1)` sleeps until an entry is ready → walk the array → accept, read, write.
#[doc(alias = "pollfd")]
#[doc(alias = "POLLIN")]
#[doc(alias = "POLLOUT")]
pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
    let lfd = srv.lfd();
    set_nonblocking(&mut srv.tr, &srv.listener, accept_never_waits("poll"));
    let mut conns: Vec<Conn> = Vec::new();
    loop {
        // 1. The array: entry 0 is the listener, entry i+1 is conns[i]. Ask for POLLIN only while
        //    we want to read (backpressure), POLLOUT only while an echo is waiting to go out.
        let mut fds = Vec::with_capacity(conns.len() + 1);
        fds.push(pollfd(lfd, POLLIN));
        for c in &conns {
            let mut events = 0;
            if c.can_read() {
                events |= POLLIN;
            }
            if c.wants_write() {
                events |= POLLOUT;
            }
            fds.push(pollfd(c.raw(), events));
        }

        // 2. Stage ①: sleep until some entry is ready. The kernel checks every entry.
        match poll::wait(&mut srv.tr, &mut fds) {
            Err(Errno::INTR) => continue,
            r => r.context("poll failed")?,
        };

        // 3. The listener: a client is waiting (or the harness shut it down: POLLIN too).
        if fds[0].revents != 0 {
            // Not in this round's array: new clients are watched from the next poll on.
            let over = srv.accept_waiting(
                "poll said the listener is readable: a client is waiting",
                |_, conn| {
                    conns.push(conn);
                    Ok(())
                },
            )?;
            if over {
                break;
            }
        }

        // 4. Walk the rest of the array: stage ② where POLLIN (or a hang-up/error) came back,
        //    the echo where POLLOUT did.
        let mut keep = Vec::with_capacity(conns.len());
        for (i, mut conn) in conns.drain(..).enumerate() {
            let revents = fds.get(i + 1).map_or(0, |p| p.revents);
            let readable = revents & (POLLIN | POLLHUP | POLLERR) != 0 && !conn.eof;
            match conn.serve_ready(&mut srv.tr, readable, revents != 0) {
                Some(why) => conn.close(&mut srv.tr, why),
                None => keep.push(conn),
            }
        }
        conns = keep;
    }
    for conn in conns {
        conn.close(&mut srv.tr, "the run is over");
    }
    Ok(())
}
// ANCHOR_END: serve

fn notice(s: &Summary) -> Vec<String> {
    vec![
        format!(
            "{} wakeups; each handed the kernel an array of {:.1} pollfd entries on average and walked it to find {:.1} ready — no FD_SETSIZE wall (highest descriptor {}), but still a linear scan",
            s.wakeups,
            s.watched as f64 / s.wakeups.max(1) as f64,
            s.ready as f64 / s.wakeups.max(1) as f64,
            s.max_fd
        ),
        format!(
            "{} system calls, {:.1} ms of server CPU in a {:.1} ms run: the thread slept in poll while nothing was ready",
            s.syscalls,
            s.cpu_us as f64 / 1e3,
            s.run_us as f64 / 1e3
        ),
    ]
}
