//! A server under test, as a child process: a model (`iomodels MODEL --serve --no-trace`) or a
//! peer program that speaks the same start-up line. Its CPU time and memory come from `/proc`.

use crate::chat::App;
use crate::t;
use anyhow::{Context, Result, anyhow, bail};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What to start.
#[derive(Clone, Debug)]
pub enum Target {
    /// A model of this binary, by name, with its mode's flags if any (`reactors --reuseport
    /// --threads 2`).
    Model(String),
    /// A peer server: `NAME=PROGRAM`, started as `PROGRAM --port 0`; it must print
    /// `serving on IP:PORT …` as its first line on stderr, like `--serve` does.
    Peer { name: String, program: String },
}

impl Target {
    pub fn name(&self) -> &str {
        match self {
            Target::Model(m) => m,
            Target::Peer { name, .. } => name,
        }
    }
}

/// A running server child.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// What the child has written to stderr after its first line (shown if it fails).
    stderr: Arc<Mutex<String>>,
}

impl Server {
    pub fn start(target: &Target) -> Result<Server> {
        Server::start_app(target, App::Echo)
    }

    /// A server of `app` (a peer's is its own: an echo).
    pub fn start_app(target: &Target, app: App) -> Result<Server> {
        let mut cmd = match target {
            Target::Model(m) => {
                let exe = std::env::current_exe().with_context(|| t!("bench-err-exe"))?;
                // The child speaks this run's language: its errors end up in ours.
                let lang = clap::ValueEnum::to_possible_value(&crate::lang::current())
                    .expect("every language has a name");
                let mut c = Command::new(exe);
                c.args(m.split_whitespace())
                    .args(["--app", app.name()])
                    .args(["--serve", "--no-trace", "--port", "0"])
                    .args(["--lang", lang.get_name()]);
                c
            }
            Target::Peer { program, .. } => {
                let mut c = Command::new(program);
                c.args(["--port", "0"]);
                c
            }
        };
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .env("NO_COLOR", "1")
            .spawn()
            .with_context(|| t!("bench-err-start", name = target.name()))?;
        let mut err = BufReader::new(child.stderr.take().expect("stderr is piped"));
        let mut first = String::new();
        let _ = err.read_line(&mut first);
        // A protocol line, English in every language (`--serve`'s announcement): parsed here.
        let addr = first
            .strip_prefix("serving on ")
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse::<SocketAddr>().ok());
        let Some(addr) = addr else {
            let mut rest = String::new();
            let _ = err.read_to_string(&mut rest);
            let _ = child.kill();
            let _ = child.wait();
            bail!(t!(
                "bench-err-not-started",
                name = target.name(),
                said = format!("{first}{rest}").trim()
            ));
        };
        // Keep draining stderr so that a chatty child never blocks on a full pipe.
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while err.read_line(&mut line).is_ok_and(|n| n > 0) {
                if let Ok(mut s) = sink.lock()
                    && s.len() < 8192
                {
                    s.push_str(&line);
                }
                line.clear();
            }
        });
        Ok(Server {
            child,
            addr,
            stderr,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the child is still running; if not, why it stopped.
    pub fn check(&mut self) -> Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => Err(anyhow!(t!(
                "bench-err-exited",
                status = status.to_string(),
                said = self
                    .stderr
                    .lock()
                    .map(|s| s.trim().to_string())
                    .unwrap_or_default()
            ))),
        }
    }

    /// User + system CPU time the child has used so far, all its threads together.
    pub fn cpu(&self) -> Result<Duration> {
        cpu_of(self.pid())
    }

    /// CPU time each thread of the child has used so far, by thread id: the scheduler's
    /// `se.sum_exec_runtime` from `/proc/PID/task/TID/sched` (nanoseconds, user and system
    /// together; kernels with `CONFIG_SCHED_DEBUG`), else `utime + stime` from its `stat`
    /// (clock ticks: 10 ms at the usual 100 Hz). A thread that has ended is not listed.
    pub fn thread_cpu(&self) -> BTreeMap<u32, Duration> {
        let dir = format!("/proc/{}/task", self.pid());
        let Ok(tasks) = std::fs::read_dir(&dir) else {
            return BTreeMap::new();
        };
        tasks
            .filter_map(|t| {
                let tid: u32 = t.ok()?.file_name().to_str()?.parse().ok()?;
                let cpu = sched_cpu(&format!("{dir}/{tid}/sched"))
                    .or_else(|| stat_cpu(&format!("{dir}/{tid}/stat")).ok())?;
                Some((tid, cpu))
            })
            .collect()
    }

    /// A line of `/proc/PID/status`, in kB (`VmHWM`: peak resident memory; `VmRSS`: now).
    pub fn status_kb(&self, field: &str) -> Option<u64> {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
    }

    /// How many descriptors the child has open (to wait until it has accepted everyone).
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).map_or(0, |d| d.count())
    }

    /// Ctrl-C, as a person would stop it; killed if it does not stop within 5 s.
    pub fn stop(mut self) -> Result<()> {
        let pid = rustix::process::Pid::from_raw(self.pid() as i32).expect("a child has a pid");
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        bail!(t!("bench-err-not-stopped"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A bench that fails half-way must not leave servers behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `utime + stime` from `/proc/PID/stat` (fields 14 and 15, in clock ticks).
pub fn cpu_of(pid: u32) -> Result<Duration> {
    stat_cpu(&format!("/proc/{pid}/stat"))
}

/// `se.sum_exec_runtime` (milliseconds, with six decimals) from a `sched` file of `/proc`.
fn sched_cpu(path: &str) -> Option<Duration> {
    let text = std::fs::read_to_string(path).ok()?;
    let ms: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("se.sum_exec_runtime"))?
        .trim_start_matches([' ', ':'])
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs_f64(ms / 1e3))
}

/// `utime + stime` from a `stat` file of `/proc` (a process's or one of its threads').
fn stat_cpu(path: &str) -> Result<Duration> {
    let stat = std::fs::read_to_string(path).with_context(|| t!("bench-err-read", file = path))?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let rest = &stat[stat.rfind(')').with_context(|| t!("bench-err-proc-stat"))? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>()? + f[12].parse::<u64>()?;
    let hz = rustix::param::clock_ticks_per_second();
    Ok(Duration::from_nanos(ticks * 1_000_000_000 / hz))
}

/// Raises this process's soft descriptor limit to the hard one (children inherit it), and says
/// clearly when even the hard limit is below what is needed.
pub fn raise_fd_limit(needed: u64) -> Result<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut lim = getrlimit(Resource::Nofile);
    let hard = lim.maximum.unwrap_or(u64::MAX);
    if lim.current != Some(hard) {
        lim.current = Some(hard);
        setrlimit(Resource::Nofile, lim).with_context(|| t!("bench-err-raise-limit"))?;
    }
    if hard < needed {
        bail!(t!(
            "bench-err-hard-limit",
            needed = needed.to_string(),
            hard = hard.to_string()
        ));
    }
    Ok(hard)
}
