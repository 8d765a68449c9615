//! The idle crowd of `--idle N`: connections that never send, for a readiness server to carry.
//!
//! Their client ends live in a helper process of ours (`iomodels crowd ADDR N`, hidden), as
//! they would on a separate client machine: the server's process holds only its own ends, so
//! `--idle 10000` fits a 20,000-descriptor limit, and `select`'s FD_SETSIZE wall falls where
//! the crowd alone puts it. The helper opens the crowd at the speed the server accepts: the
//! harness tells it, line by line on its stdin, how many connections the server has admitted
//! so far, and it never leaves more than the listen backlog waiting (one more would have its
//! SYN dropped and retried a second later). When its stdin closes, it exits, and the crowd
//! hangs up.

use crate::server::BACKLOG;
use anyhow::Result;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long the crowd waits for the server to accept one more connection before it decides
/// that the server is not accepting.
const ACCEPT_PATIENCE: Duration = Duration::from_secs(3);

/// The soft RLIMIT_NOFILE that one side of `--idle n` needs: an end of each connection, and
/// 256 more for the listener, the scenario's clients and stdio.
#[cfg(unix)]
fn descriptors_needed(idle: usize) -> u64 {
    idle as u64 + 256
}

/// Makes room for one side of `--idle N`: raises the soft RLIMIT_NOFILE when needed, or
/// explains in one line why it cannot.
#[cfg(unix)]
pub fn raise_nofile(idle: usize) -> Result<()> {
    use anyhow::Context;
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let need = descriptors_needed(idle);
    let lim = getrlimit(Resource::Nofile);
    if lim.current.is_some_and(|c| c >= need) {
        return Ok(());
    }
    if lim.maximum.is_some_and(|m| m < need) {
        anyhow::bail!(crate::t!(
            "err-idle-hard-limit",
            idle = idle.to_string(),
            need = need.to_string(),
            hard = lim.maximum.unwrap_or(0).to_string()
        ));
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(need),
            maximum: lim.maximum,
        },
    )
    .with_context(|| crate::t!("err-idle-soft-limit", need = need.to_string()))
}

/// Windows has no descriptor limit to raise: sockets are handles.
#[cfg(windows)]
pub fn raise_nofile(_idle: usize) -> Result<()> {
    Ok(())
}

/// Opens `n` connections to `addr`, never more than [`BACKLOG`] ahead of what the server has
/// `admitted` (a count that only grows). Fails if the server stops accepting (a blocking server
/// busy with its first connection leaves the rest in the queue).
fn open_paced(
    n: usize,
    addr: SocketAddr,
    admitted: impl Fn() -> usize,
) -> Result<Vec<TcpStream>, String> {
    let before = admitted();
    let mut crowd = Vec::with_capacity(n);
    for i in 0..n {
        let mut accepted = admitted().saturating_sub(before);
        let mut since = Instant::now();
        while i.saturating_sub(accepted) >= BACKLOG as usize {
            if since.elapsed() > ACCEPT_PATIENCE {
                return Err(crate::t!(
                    "err-idle-not-accepting",
                    i = (i + 1).to_string(),
                    n = n.to_string(),
                    accepted = accepted.to_string(),
                    backlog = BACKLOG.to_string(),
                    secs = ACCEPT_PATIENCE.as_secs().to_string()
                ));
            }
            thread::sleep(Duration::from_micros(100));
            let now = admitted().saturating_sub(before);
            if now != accepted {
                (accepted, since) = (now, Instant::now());
            }
        }
        let stream = TcpStream::connect_timeout(&addr, ACCEPT_PATIENCE)
            .map_err(|e| format!("idle connection #{} of {n}: connect failed ({e})", i + 1))?;
        crowd.push(stream);
    }
    Ok(crowd)
}

/// The harness's side: the helper process holding the crowd. Dropping it closes the helper's
/// stdin, and the helper exits: the crowd hangs up.
pub struct Crowd {
    helper: Child,
    /// Held open until the crowd may go.
    stdin: Option<ChildStdin>,
}

impl Crowd {
    /// Starts the helper and waits until the whole crowd is open (or the helper says why not),
    /// telling it meanwhile how many connections the server has `admitted` (its count of
    /// connections taken from the accept queue). Once the crowd is open, nobody needs the count.
    pub fn open(n: usize, addr: SocketAddr, admitted: Arc<AtomicUsize>) -> Result<Crowd, String> {
        let exe = std::env::current_exe()
            .map_err(|e| format!("cannot find this program to start the idle crowd: {e}"))?;
        let mut helper = Command::new(exe)
            .args(["crowd", &addr.to_string(), &n.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the idle crowd's helper process: {e}"))?;
        let (stdin, stdout) = (helper.stdin.take(), helper.stdout.take());
        let opened = Arc::new(AtomicBool::new(false));
        let feeder = stdin.map(|stdin| {
            let opened = opened.clone();
            thread::spawn(move || feed(stdin, &admitted, &opened))
        });
        let mut word = String::new();
        if let Some(out) = stdout {
            let _ = BufReader::new(out).read_line(&mut word);
        }
        opened.store(true, Ordering::SeqCst);
        let stdin = feeder.and_then(|f| f.join().ok().flatten());
        let crowd = Crowd { helper, stdin };
        match word.trim_end().split_once(' ') {
            Some(("open", _)) => Ok(crowd),
            Some(("error:", why)) => Err(why.to_string()),
            _ => Err(crate::t!("err-crowd-silent")),
        }
    }

    /// The helper's process id, for the trace.
    pub fn pid(&self) -> u32 {
        self.helper.id()
    }
}

impl Drop for Crowd {
    fn drop(&mut self) {
        drop(self.stdin.take());
        // Its stdin is closed: the helper exits at once. Bounded all the same.
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.helper.try_wait(), Ok(None)) {
            if Instant::now() > deadline {
                let _ = self.helper.kill();
                let _ = self.helper.wait();
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Writes the server's admitted count to the helper whenever it changes, until the crowd is
/// `opened`; then hands the helper's stdin back (None if the helper went away).
fn feed(mut to: ChildStdin, admitted: &AtomicUsize, opened: &AtomicBool) -> Option<ChildStdin> {
    let mut told = None;
    while !opened.load(Ordering::SeqCst) {
        let now = admitted.load(Ordering::Relaxed);
        if told != Some(now) {
            writeln!(to, "{now}").and_then(|_| to.flush()).ok()?;
            told = Some(now);
        }
        thread::sleep(Duration::from_micros(200));
    }
    Some(to)
}

/// The helper's side (`iomodels crowd ADDR N`): opens the crowd, paced by the counts on stdin,
/// says `open N` (or `error: …`) on stdout, and holds the connections until stdin closes.
pub fn hold(addr: SocketAddr, n: usize) -> Result<i32> {
    let say = |line: String| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}").and_then(|_| out.flush());
    };
    if let Err(e) = raise_nofile(n) {
        say(format!("error: {e:#}"));
        return Ok(1);
    }
    let admitted = Arc::new(AtomicUsize::new(usize::MAX));
    let (gone_tx, gone) = std::sync::mpsc::channel::<()>();
    {
        let admitted = admitted.clone();
        thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                match line.ok().and_then(|l| l.trim().parse().ok()) {
                    Some(n) => admitted.store(n, Ordering::Relaxed),
                    None => break,
                }
            }
            let _ = gone_tx.send(());
        });
    }
    // The first count says where the server stands before the crowd.
    let start = Instant::now();
    while admitted.load(Ordering::Relaxed) == usize::MAX {
        if start.elapsed() > ACCEPT_PATIENCE {
            say("error: the harness never said how many connections the server holds".into());
            return Ok(1);
        }
        thread::sleep(Duration::from_micros(200));
    }
    match open_paced(n, addr, || admitted.load(Ordering::Relaxed)) {
        Ok(crowd) => {
            say(format!("open {}", crowd.len()));
            let _ = gone.recv();
            Ok(0)
        }
        Err(e) => {
            say(format!("error: {e}"));
            Ok(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn the_crowd_keeps_at_most_the_backlog_waiting_on_a_server_that_does_not_accept() {
        raise_nofile(300).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let err = open_paced(300, listener.local_addr().unwrap(), || 0).unwrap_err();
        assert!(
            err.starts_with(
                "idle connection #129 of 300: the server has accepted 0 and left 128 waiting for 3s: \
                 it is not accepting"
            ),
            "{err}"
        );
    }

    #[test]
    fn the_crowd_opens_as_the_server_accepts() {
        let n = 400;
        raise_nofile(2 * n).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let server = thread::spawn(move || {
            (0..n)
                .map(|_| {
                    let end = listener.accept().unwrap().0;
                    count.fetch_add(1, Ordering::Relaxed);
                    end
                })
                .collect::<Vec<_>>()
        });
        let crowd = open_paced(n, addr, || accepted.load(Ordering::Relaxed)).unwrap();
        let ends = server.join().unwrap();
        assert_eq!((crowd.len(), ends.len()), (n, n));
    }

    #[cfg(unix)]
    #[test]
    fn ten_thousand_idle_connections_fit_a_twenty_thousand_descriptor_limit() {
        // Each process holds one end of each connection (the server its own, the helper the
        // clients'); both ends in one process needed 20,256.
        assert!(descriptors_needed(10_000) <= 20_000);
        assert!(descriptors_needed(10_000) > 10_000);
    }
}
