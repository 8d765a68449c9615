//! Thread per connection (UNP figure 6.1, once per thread): blocking I/O, many times over.
//!
//! The main thread sleeps in `accept4`; each new connection gets its own thread (`clone3`), which
//! sleeps in its own `recvfrom`. Stage ① and ② are still one blocking call, but the kernel's
//! scheduler now juggles the clients: whichever thread's data arrives runs. Each connection's
//! state (its buffer, where it is in the echo) lives on its thread's stack.
//!
//! See clone(2), pthread_create(3), accept(2), recv(2).

use super::{Kind, Model};
use crate::echo::Conn;
use crate::server::Server;
#[cfg(target_os = "linux")]
use crate::server::Shared;
use crate::sys;
use crate::trace::Tracer;
use crate::trace::summary::Summary;
#[cfg(target_os = "linux")]
use anyhow::Context;
use rustix::io::Errno;

pub const MODEL: Model = Model {
    name: "threads",
    summary: "a thread per client, each blocked in its own recv",
    kind: Kind::Threads,
    figure: "6.1×N",
    platforms: "Linux, macOS, BSD, Windows",
    serve: Some(serve),
    instead: "",
    state: "each connection's state lives on its own thread's stack; the kernel schedules them",
    told: "the call returning",
    notice,
    examples: &[
        "iomodels threads --scenario demos/crowd.scenario    a thread per client, all asleep at once",
        "iomodels threads --format json                      each call with the tid of its thread",
        "iomodels threads --pool 2 --scenario demos/pool.scenario   C and D wait to be accepted",
    ],
};

// ANCHOR: serve
/// `accept4` → `clone3` a worker for the client → back to `accept4`.
#[doc(alias = "clone3")]
#[doc(alias = "pthread_create")]
pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
    if srv.knobs.pool > 0 {
        #[cfg(target_os = "linux")]
        return pool(srv);
        // Elsewhere a blocked accept wakes only for a connection, one thread at a time: the
        // harness has no way to end a pool.
        #[cfg(not(target_os = "linux"))]
        return Err(super::Refused(format!(
            "--pool needs Linux, where shutting the listener down wakes every thread blocked in accept; on {} only a connection wakes one. Run `iomodels threads` here instead",
            std::env::consts::OS
        ))
        .into());
    }
    let mut workers = Vec::new();
    while let Some(conn) = next(srv, "sleep until a client has connected")? {
        // A thread of its own for this client (`clone3`); this one goes back to accept.
        if let Some(worker) = srv.spawn(workers.len() + 2, conn, worker) {
            workers.push(worker);
        }
    }
    srv.tr
        .info("the listener is shut: waiting for the worker threads to finish");
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}

/// The next client from a blocking `accept4`; `None` once the listener is shut (`EINVAL`).
fn next(srv: &mut Server, note: &str) -> anyhow::Result<Option<Conn>> {
    loop {
        match srv.accept(true, note) {
            Ok(conn) => return Ok(Some(conn)),
            Err(Errno::INVAL) => return Ok(None),
            Err(Errno::CONNABORTED | Errno::INTR) => continue,
            Err(e) => return Err(anyhow::Error::from(e).context("accept4 failed")),
        }
    }
}

/// One client's whole life, on its own thread: recv → send → … → close (and the thread's CPU
/// time, which every server thread records last: see `Server::spawn`).
fn worker(tr: &mut Tracer, mut conn: Conn) {
    conn.echo_blocking(tr);
    conn.close(tr, "this client is done; its thread ends");
}
// ANCHOR_END: serve

// ANCHOR: pool
/// `--pool N`, the prethreaded server (UNP §30.7): N threads made before any client comes,
/// each blocked in `accept4` on the one listener; the kernel hands each connection to one of
/// them, which serves it to the end and goes back to accept. No thread is made per client,
/// but with N clients being served client N+1 waits in the listen queue. This thread only
/// waits for the pool to end (the harness's shutdown wakes every accept4 with `EINVAL`).
#[cfg(target_os = "linux")]
fn pool(srv: &mut Server) -> anyhow::Result<()> {
    let shared = srv.shared();
    let mut threads = Vec::new();
    let mut result = Ok(());
    for k in 2..srv.knobs.pool + 2 {
        let why = "the same listening socket under another number, for the next thread of the pool";
        let started = sys::dup(&mut srv.tr, &srv.listener, why)
            .context("fcntl(F_DUPFD_CLOEXEC) failed")
            .and_then(|fd| {
                let gloss = |tid| {
                    format!("a new thread ({tid}) will accept and serve clients, one at a time")
                };
                let body = move |tr, (shared, fd): (Shared, _)| shared.serve(tr, fd, k, pooled);
                Ok(srv.start_thread(
                    k,
                    format_args!("pool thread {k}"),
                    gloss,
                    (shared.clone(), fd),
                    body,
                )?)
            });
        match started {
            Ok(t) => threads.push((k, t)),
            Err(e) => {
                // The threads made so far are blocked in accept4: shut the listener to end them.
                srv.abort();
                result = Err(e);
                break;
            }
        }
    }
    srv.tr.info(|| {
        format!(
            "{} threads wait in accept4; this one waits for them to end",
            threads.len()
        )
    });
    crate::server::join_all(result, threads)
}

/// A pool thread: accept a client, serve it to the end, accept the next.
#[cfg(target_os = "linux")]
fn pooled(srv: &mut Server) -> anyhow::Result<()> {
    let note = "this thread was free: the kernel handed it the next connection";
    while let Some(mut conn) = next(srv, note)? {
        conn.echo_blocking(&mut srv.tr);
        conn.close(
            &mut srv.tr,
            "this client is done; the thread goes back to accept4",
        );
    }
    Ok(())
}
// ANCHOR_END: pool

fn notice(s: &Summary) -> Vec<String> {
    // Fewer threads made than clients kept: a pool served them in turn (`--pool`).
    let made = s.calls.get(sys::SPAWN).copied().unwrap_or(0);
    let shared = made + s.refused < s.accepted;
    let mut v = vec![
        format!(
            "{} server threads for {} clients; the most served at once: {}",
            s.threads, s.accepted, s.max_open
        ),
        format!(
            "the longest any client's bytes waited before a recv took them: {:.1} ms — {}",
            s.longest_wait().map_or(0, |w| w.wait_us) as f64 / 1e3,
            if shared {
                "a client waits until a thread of the pool is free to read it"
            } else {
                "every client has a thread of its own to wait in"
            }
        ),
    ];
    if let Some(q) = s.longest_queued() {
        let ms = q.wait_us as f64 / 1e3;
        // With a thread per client every wait is a few µs and which one is longest is chance:
        // only the pool's wait is worth a client's name.
        v.push(if shared {
            format!(
                "the longest a client waited to be accepted (from its connect to the accept4 that took it): {ms:.1} ms, client {} — every thread of the pool was busy with a client, so the next waited in the listen queue",
                q.client
            )
        } else {
            format!(
                "every client was accepted within {ms:.1} ms of its connect — with a thread per client the accept loop is never busy for long"
            )
        });
    }
    v
}
