//! Many event loops, one port (UNP figure 6.3, once per thread): how nginx, memcached and
//! tokio's runtime use every core.
//!
//! Each of N threads (`--threads`, default one per CPU) runs the epoll model's loop with an
//! epoll instance and connections of its own: a connection, once accepted, belongs to the
//! thread that accepted it. The question is who accepts. Three answers, side by side:
//!
//! - `--share` (the default): one listening socket, registered in every thread's epoll. Each
//!   instance waits on the socket's wait queue, so a connection wakes every waiting thread
//!   (the thundering herd); one accepts, the others' `accept4` answers `EAGAIN`. A woken thread
//!   whose `epoll_wait` finds the queue already empty sleeps on without returning, so the trace
//!   shows only the losers that got as far as `accept4` (`--kernel` shows every wake-up).
//! - `--exclusive`: the same socket registered with `EPOLLEXCLUSIVE` (Linux 4.5), which wakes
//!   "one or more" of the waiting instances, not all.
//! - `--reuseport`: a listener per thread, each bound to the port with `SO_REUSEPORT`; the
//!   kernel gives each connection to one of them by a hash of its addresses and ports, so
//!   each thread has a queue of its own and nobody is woken for another's connection.
//!
//! The harness stops the run by shutting down the first listener. Under `--share` and
//! `--exclusive` that is every thread's (a shut-down socket wakes every waiter); under
//! `--reuseport` the first thread then shuts the others down. A thread that fails says so in
//! the trace and shuts its listener; the run ends with its error (exit 1).
//!
//! See epoll(7), epoll_ctl(2) (`EPOLLEXCLUSIVE`), socket(7) (`SO_REUSEPORT`), accept(2).

use super::{Kind, Model, Serve};
use crate::trace::summary::Summary;

pub const MODEL: Model = Model {
    name: "reactors",
    summary: "an epoll loop per thread: who is woken when a client connects?",
    kind: Kind::Readiness,
    figure: "6.3×N",
    platforms: "Linux",
    serve: SERVE,
    instead: super::here("", "kqueue", "threads"),
    state: "each thread's own map of its connections, in its own epoll's interest list; a connection stays with the thread that accepted it",
    told: "readiness",
    notice,
    examples: &[
        "iomodels reactors --threads 4 --scenario demos/herd.scenario   the herd: all woken",
        "iomodels reactors --exclusive --scenario demos/herd.scenario   EPOLLEXCLUSIVE: one or more",
        "iomodels reactors --reuseport --scenario demos/herd.scenario   SO_REUSEPORT: a queue each",
    ],
};

/// The server loop, where this OS has epoll.
#[cfg(target_os = "linux")]
const SERVE: Option<Serve> = Some(server::serve);
#[cfg(not(target_os = "linux"))]
const SERVE: Option<Serve> = None;

#[cfg(target_os = "linux")]
mod server {
    use crate::models::epoll;
    use crate::server::{Server, Shared};
    use crate::sys;
    use crate::sys::epoll::{Doorbell, Epoll};
    use anyhow::Context;
    use rustix::fd::OwnedFd;
    use std::thread::JoinHandle;

    // ANCHOR: serve
    /// `fcntl(F_DUPFD_CLOEXEC)` the listener for each further thread → `clone3` it → every
    /// thread, this one too, runs the epoll loop on its own epoll → join them.
    #[doc(alias = "EPOLLEXCLUSIVE")]
    #[doc(alias = "SO_REUSEPORT")]
    pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
        // --reuseport: the port's other listeners (made with the first, before any client).
        let group = std::mem::take(&mut srv.group);
        let mut reactors = Vec::new();
        let result = match start(srv, &group, &mut reactors) {
            Ok((ep, bell)) => epoll::server::serve_on(srv, ep, bell),
            Err(e) => Err(e),
        };
        // This thread is done (stopped, or failed): so are the others.
        if result.is_err() && group.is_empty() {
            srv.abort();
        }
        for (k, fd) in (2..).zip(&group) {
            let why = crate::t!("reactors-stop", k = k.to_string());
            sys::shut_down(&mut srv.tr, fd, &why);
        }
        let joined = crate::server::join_all(result, reactors);
        for (k, fd) in (2..).zip(group) {
            sys::close(&mut srv.tr, fd, |_: &rustix::io::Result<()>| {
                crate::t!("reactors-close-listener", k = k.to_string())
            });
        }
        joined
    }

    /// Makes every reactor's epoll instance, this thread's first, then starts reactors 2…N,
    /// each with its own descriptor for the listener it accepts from: the shared one
    /// (`--share`, `--exclusive`) or its own of the group (`--reuseport`). Every descriptor a
    /// thread needs to start is made here, before any thread accepts. Returns this thread's
    /// epoll, and its doorbell.
    ///
    /// `--app chat`: a connection stays with the thread that accepted it, but a line read by
    /// one thread is queued for members of every thread, most of them asleep in `epoll_wait`.
    /// So each thread's epoll also watches a doorbell (an eventfd): the thread that queues
    /// lines for another's member rings it, through the waker the room keeps for each thread
    /// (`Room::on_touch`), and the woken thread sends them.
    fn start(
        srv: &mut Server,
        group: &[OwnedFd],
        reactors: &mut Vec<(usize, JoinHandle<anyhow::Result<()>>)>,
    ) -> anyhow::Result<(Option<Epoll>, Option<Doorbell>)> {
        let shared = srv.shared();
        let chat = srv.room().is_some() && srv.knobs.threads > 1;
        let mut eps = Vec::new();
        let mut bells = Vec::new();
        for k in 1..=srv.knobs.threads {
            let mut ep = Epoll::create(&mut srv.tr)
                .with_context(|| crate::t!("err-failed", call = "epoll_create1"))?;
            if chat {
                bells
                    .push(Some(Doorbell::new(&mut srv.tr, &mut ep, k).with_context(
                        || crate::t!("err-failed", call = "eventfd2"),
                    )?));
            } else {
                bells.push(None);
            }
            eps.push(ep);
        }
        let mut eps = eps.into_iter().zip(bells);
        let own = eps.next();
        let mut fds = Vec::new();
        for k in 2..=srv.knobs.threads {
            let (listener, why) = match group.get(k - 2) {
                Some(own) => (own, crate::msg!("reactors-dup-own")),
                None => (&srv.listener, crate::msg!("reactors-dup-shared")),
            };
            fds.push(
                sys::dup(&mut srv.tr, listener, why)
                    .with_context(|| crate::t!("err-failed", call = "fcntl(F_DUPFD_CLOEXEC)"))?,
            );
        }
        for ((k, fd), (ep, bell)) in (2..).zip(fds).zip(eps) {
            let gloss = move |tid: i64| {
                crate::t!("reactors-start", tid = tid.to_string(), k = k.to_string())
            };
            let thread = srv.start_thread(
                k,
                format_args!("reactor {k}"),
                gloss,
                (shared.clone(), fd, ep, bell),
                move |tr, (shared, fd, ep, bell): (Shared, _, _, _)| {
                    shared.serve(tr, fd, k, |srv| {
                        epoll::server::serve_on(srv, Some(ep), bell)
                    })
                },
            )?;
            reactors.push((k, thread));
        }
        Ok(own.map_or((None, None), |(ep, bell)| (Some(ep), bell)))
    }
    // ANCHOR_END: serve
}

/// The run's accepting, over its threads.
struct Tally {
    accepted: u64,
    wakeups: u64,
    lost: u64,
    /// Connections per thread, in the order the threads were made (their ids).
    per: Vec<u64>,
}

fn tally(s: &Summary) -> Tally {
    let per: Vec<u64> = s.by_thread.values().map(|t| t.accepted).collect();
    Tally {
        accepted: per.iter().sum(),
        wakeups: s.by_thread.values().map(|t| t.wakeups).sum(),
        lost: s.by_thread.values().map(|t| t.lost).sum(),
        per,
    }
}

// Each sentence's wording depends on the mode alone (how many listeners), never on how a
// race went: the numbers tell that.
fn notice(s: &Summary) -> Vec<String> {
    let t = tally(s);
    let per: Vec<String> = t.per.iter().map(u64::to_string).collect();
    let (most, least) = (
        t.per.iter().max().copied().unwrap_or(0),
        t.per.iter().min().copied().unwrap_or(0),
    );
    let listeners = s.calls.get("listen").copied().unwrap_or(0);
    vec![
        crate::t!(
            "reactors-notice-threads",
            threads = t.per.len().to_string(),
            per = per.join(", "),
            all = t.accepted.to_string(),
            most = most.to_string(),
            least = least.to_string()
        ),
        crate::t!(
            "reactors-notice-wakeups",
            wakeups = t.wakeups.to_string(),
            accepted = t.accepted.to_string(),
            ratio = format!("{:.2}", t.wakeups as f64 / t.accepted.max(1) as f64),
            lost = t.lost.to_string()
        ),
        if listeners > 1 {
            crate::t!("reactors-notice-no-herd", listeners = listeners.to_string())
        } else {
            crate::t!("reactors-notice-herd")
        },
    ]
}
