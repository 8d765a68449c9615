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
        return Err(super::Refused(crate::t!(
            "threads-pool-linux-only",
            os = std::env::consts::OS
        ))
        .into());
    }
    let mut workers = Vec::new();
    // The next thread's number (`server/N`); a chat member's reader takes two.
    let mut n = 2;
    let accept = crate::t!("threads-accept");
    while let Some(conn) = next(srv, &accept)? {
        // A thread of its own for this client (`clone3`); this one goes back to accept.
        let started = if conn.mailbox().is_some() {
            let k = n;
            n += 2;
            srv.spawn(k, conn, move |tr, conn| chat::member(tr, conn, k + 1))
        } else {
            n += 1;
            srv.spawn(n - 1, conn, worker)
        };
        if let Some(worker) = started {
            workers.push(worker);
        }
    }
    srv.tr.info(crate::msg!("threads-joining"));
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
            Err(e) => {
                return Err(
                    anyhow::Error::from(e).context(crate::t!("err-failed", call = "accept4"))
                );
            }
        }
    }
}

/// One client's whole life, on its own thread: recv → send → … → close (and the thread's CPU
/// time, which every server thread records last: see `Server::spawn`).
fn worker(tr: &mut Tracer, mut conn: Conn) {
    conn.echo_blocking(tr);
    conn.close(tr, crate::t!("threads-client-done"));
}
// ANCHOR_END: serve

/// `--app chat`: a member's lines come from the other members' threads, at any time, while its
/// own thread sleeps in `recvfrom`. So each member has two threads: the reader, which reads
/// what it says (the room queues it in the others' mailboxes), and a writer, which sleeps on
/// the member's mailbox (a condition variable) and sends what the room queues there with
/// blocking `sendto`s. The reader owns the descriptor: it closes it once the writer has ended.
mod chat {
    use crate::chat::{Mailbox, Waited};
    use crate::echo::{Conn, Recv};
    use crate::sys;
    use crate::trace::{Call, Stage, Tracer, escape};
    use rustix::fd::{AsRawFd, BorrowedFd, RawFd};
    use rustix::io::Errno;
    use std::sync::Arc;
    use std::time::Duration;

    /// How long a writer's blocked `sendto` waits for room before it looks whether the member
    /// was dropped meanwhile (`SO_SNDTIMEO`); and how often an idle writer wakes.
    const TICK: Duration = Duration::from_millis(50);

    /// The reader: starts the writer (thread `writer_n`), reads until the member leaves (or is
    /// dropped: the writer then shuts our reading side down), lets the writer send what is
    /// left, and closes.
    pub fn member(tr: &mut Tracer, mut conn: Conn, writer_n: usize) {
        let (fd, mail) = (conn.raw(), conn.mailbox().expect("a chat member"));
        let gloss = |tid: i64| {
            crate::t!(
                "threads-writer-start",
                tid = tid.to_string(),
                fd = fd.to_string()
            )
        };
        let started = sys_start(tr, writer_n, conn.fd.as_raw_fd(), gloss, mail.clone());
        let Ok(writer) = started else {
            tr.info(|| crate::t!("threads-writer-failed", fd = fd.to_string()));
            return conn.close(tr, crate::t!("threads-writer-none"));
        };
        while conn.can_read() && matches!(conn.recv_blocking(tr), Recv::Data(_)) {}
        // It left (or failed, or was dropped): the writer sends what is queued, then ends.
        mail.finish();
        let _ = writer.join();
        conn.close(tr, crate::t!("threads-member-done"));
    }

    /// `clone3` the writer of descriptor `fd`.
    fn sys_start(
        tr: &mut Tracer,
        n: usize,
        raw: RawFd,
        gloss: impl FnOnce(i64) -> String,
        mail: Arc<Mailbox>,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        crate::server::start_thread(
            tr,
            n,
            format_args!("writer for fd {raw}"),
            gloss,
            mail,
            move |mut tr, mail| {
                writer(&mut tr, raw, &mail);
                sys::cpu_time(&mut tr);
            },
        )
    }

    /// The writer: sleeps on the mailbox until lines come, sends them, and ends when the
    /// member is gone. A member dropped (or a send that failed) leaves the reader asleep in
    /// `recvfrom`: `shutdown(SHUT_RD)` wakes it.
    fn writer(tr: &mut Tracer, raw: RawFd, mail: &Mailbox) {
        // SAFETY: the reader owns the descriptor and closes it only after joining this thread.
        let sock = unsafe { BorrowedFd::borrow_raw(raw) };
        let fd = sys::raw(&sock);
        let _ = tr.call(
            Call::new("setsockopt", Stage::Setup)
                .fd(fd)
                .args(format_args!(
                    "SOL_SOCKET, SO_SNDTIMEO, {{tv_sec=0, tv_usec={}}}",
                    TICK.as_micros()
                )),
            || {
                socket2::SockRef::from(&sock)
                    .set_write_timeout(Some(TICK))
                    .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::INVAL))
            },
            crate::msg!("threads-sndtimeo"),
        );
        tr.info(crate::msg!("threads-writer-sleeps"));
        let mut failed = false;
        while !failed {
            match mail.wait(TICK) {
                // Nothing yet: nothing else to look at (the reader ends us).
                None => {}
                Some(Waited::Bytes(bytes)) => failed = !send_all(tr, sock, mail, &bytes),
                Some(Waited::Over) => break,
            }
        }
        if failed || mail.dropped() {
            let _ = tr.call(
                Call::new("shutdown", Stage::Teardown)
                    .fd(fd)
                    .args("SHUT_RD"),
                || rustix::net::shutdown(sock, rustix::net::Shutdown::Read),
                crate::msg!("threads-wake-reader"),
            );
        }
    }

    /// Blocking `sendto`s until `bytes` are all in the socket: `false` if the connection failed
    /// or the member was dropped meanwhile.
    fn send_all(tr: &mut Tracer, sock: BorrowedFd, mail: &Mailbox, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            if mail.dropped() {
                return false;
            }
            let call = Call::new(sys::SEND, Stage::CopyToKernel)
                .fd(sys::raw(&sock))
                .args(bytes.len())
                .blocking(true);
            let start = tr.enter(&call);
            let r = rustix::net::send(sock, bytes, sys::SEND_FLAGS);
            if tr.enabled() {
                let (all, ms) = (bytes.len().to_string(), TICK.as_millis().to_string());
                let note = match r {
                    Ok(n) if n == bytes.len() => {
                        crate::t!("room-deliver", n = n.to_string(), shown = escape(bytes, 32))
                    }
                    Ok(n) => crate::t!("threads-sent-part", n = n.to_string(), all = all),
                    Err(Errno::AGAIN) => crate::t!("threads-no-room", all = all, ms = ms),
                    Err(e) => {
                        crate::t!("echo-failed", why = std::io::Error::from(e).to_string())
                    }
                };
                tr.end(call, start, r, note);
            }
            match r {
                Ok(n) => {
                    mail.sent(n);
                    bytes = &bytes[n..];
                }
                Err(Errno::AGAIN | Errno::INTR) => {}
                Err(_) => return false,
            }
        }
        true
    }
}

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
        let why = crate::msg!("threads-pool-dup");
        let started = sys::dup(&mut srv.tr, &srv.listener, why)
            .with_context(|| crate::t!("err-failed", call = "fcntl(F_DUPFD_CLOEXEC)"))
            .and_then(|fd| {
                let gloss = |tid: i64| crate::t!("threads-pool-start", tid = tid.to_string());
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
    srv.tr
        .info(|| crate::t!("threads-pool-waits", n = threads.len().to_string()));
    crate::server::join_all(result, threads)
}

/// A pool thread: accept a client, serve it to the end, accept the next.
#[cfg(target_os = "linux")]
fn pooled(srv: &mut Server) -> anyhow::Result<()> {
    let note = crate::t!("threads-pool-free");
    while let Some(mut conn) = next(srv, &note)? {
        conn.echo_blocking(&mut srv.tr);
        conn.close(&mut srv.tr, crate::t!("threads-pool-client-done"));
    }
    Ok(())
}
// ANCHOR_END: pool

fn notice(s: &Summary) -> Vec<String> {
    // Fewer threads made than clients kept: a pool served them in turn (`--pool`).
    let made = s.calls.get(sys::SPAWN).copied().unwrap_or(0);
    let shared = made + s.refused < s.accepted;
    let mut v = vec![
        crate::t!(
            "threads-notice-threads",
            threads = s.threads.to_string(),
            clients = s.accepted.to_string(),
            open = s.max_open.to_string()
        ),
        {
            let ms = format!(
                "{:.1}",
                s.longest_wait().map_or(0, |w| w.wait_us) as f64 / 1e3
            );
            if shared {
                crate::t!("threads-notice-wait-pool", ms = ms)
            } else {
                crate::t!("threads-notice-wait-own", ms = ms)
            }
        },
    ];
    if let Some(q) = s.longest_queued() {
        let ms = format!("{:.1}", q.wait_us as f64 / 1e3);
        // With a thread per client every wait is a few µs and which one is longest is chance:
        // only the pool's wait is worth a client's name.
        v.push(if shared {
            crate::t!(
                "threads-notice-queued-pool",
                ms = ms,
                client = q.client.to_string()
            )
        } else {
            crate::t!("threads-notice-queued-own", ms = ms)
        });
    }
    v
}
