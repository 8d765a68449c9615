//! The run's private ftrace instance, `/sys/kernel/tracing/instances/iomodels-PID`: made with
//! `mkdir`, configured through its own files, read through its `trace_pipe`, removed with
//! `rmdir` when dropped. The top-level trace buffer and every other instance are left alone.
//!
//! Nothing here needs a crate: an instance is a directory of text files (see the kernel's
//! `Documentation/trace/ftrace.rst`, "Instances"), so `std::fs` is the whole interface.

use super::parse::Format;
use super::tracepoints::{TRACEPOINTS, Tracepoint};
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Where tracefs is mounted for this process, as a standard install puts it.
const TRACEFS: &str = "/sys/kernel/tracing";

/// The lowest descriptor number the instance's open files move to, so that the server's
/// descriptors are numbered as they are without `--kernel` (its traces stay the same).
const HIGH_FD: i32 = 1000;

/// Why the lane cannot run here: one line, naming what is missing and how to get it.
#[derive(Debug)]
pub struct Refusal(pub String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// One run's instance, enabled but off until its first thread is listed. Its ring buffer is
/// the kernel's default for an instance (1.4 MiB per CPU): the lane reads it every few
/// milliseconds, so that is room for bursts (a nonblocking server's tens of thousands of
/// `EAGAIN`s), not for the whole run.
pub struct Instance {
    dir: PathBuf,
    /// `trace_pipe`, non-blocking: each read takes what the kernel has recorded since the last.
    pipe: Option<File>,
    /// `set_event_pid`, kept open: each write adds a thread id to the filter.
    pids: Option<Mutex<File>>,
    /// `tracing_on`, kept open: written when the first thread is listed, and at the end.
    on: Option<Mutex<File>>,
    started: AtomicBool,
    /// The format of each of [`TRACEPOINTS`] (empty for one this kernel lacks).
    pub formats: Vec<Format>,
    /// Optional tracepoints this kernel lacks.
    pub missing: Vec<&'static str>,
    /// Whether tracefs was mounted for this process alone (a mount namespace of its own).
    pub mounted_here: bool,
}

impl Instance {
    /// Makes and configures the instance: the monotonic clock, every field printed (addresses
    /// unhashed), events of listed threads and their children only, nothing overwritten, the
    /// tracepoints enabled. `quiet_tid` (the thread that prints the trace) is filtered out of
    /// the wake-ups: its own are the trace's channel, not the lesson. `syscalls`: record
    /// `raw_syscalls` too (every system call of the followed threads).
    pub fn create(quiet_tid: i64, syscalls: bool) -> Result<Instance, Refusal> {
        let (root, mounted_here) = tracefs()?;
        sweep(&root);
        let dir = root
            .join("instances")
            .join(format!("iomodels-{}", std::process::id()));
        // A leftover of this same process (a compare run that failed half-way) goes first.
        let _ = remove(&dir);
        std::fs::create_dir(&dir).map_err(|e| refuse_mkdir(&dir, &e))?;
        let mut inst = Instance {
            dir,
            pipe: None,
            pids: None,
            on: None,
            started: AtomicBool::new(false),
            formats: Vec::new(),
            missing: Vec::new(),
            mounted_here,
        };
        inst.configure(quiet_tid, syscalls).map_err(|e| {
            Refusal(crate::t!(
                "err-ftrace-configure",
                dir = inst.dir.display().to_string(),
                why = e
            ))
        })?;
        Ok(inst)
    }

    fn configure(&mut self, quiet_tid: i64, syscalls: bool) -> Result<(), String> {
        let dir = self.dir.clone();
        let put = |file: &str, value: &str| {
            std::fs::write(dir.join(file), value).map_err(|e| format!("{file}: {e}"))
        };
        put("tracing_on", "0")?;
        for (option, value) in [
            ("fields", "1"),
            ("hash-ptr", "0"),
            ("event-fork", "1"),
            ("overwrite", "0"),
        ] {
            put(&format!("options/{option}"), value)?;
        }
        // Switching the clock resets the buffer, which waits out an RCU grace period (tens of
        // milliseconds on a busy machine): meanwhile the tracepoints' formats are read.
        let (clock, found) = std::thread::scope(|s| {
            let clock = s.spawn(|| put("trace_clock", "mono"));
            let found = self.enable(&put, quiet_tid, syscalls);
            (clock.join(), found)
        });
        clock.map_err(|_| "trace_clock: the thread setting it panicked".to_string())??;
        (self.formats, self.missing) = found?;
        self.pipe = Some(high(
            OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(self.dir.join("trace_pipe")),
        )?);
        self.pids = Some(Mutex::new(high(
            OpenOptions::new()
                .write(true)
                .open(self.dir.join("set_event_pid")),
        )?));
        self.on = Some(Mutex::new(high(
            OpenOptions::new()
                .write(true)
                .open(self.dir.join("tracing_on")),
        )?));
        Ok(())
    }

    /// Each of [`TRACEPOINTS`]' format (empty for an optional one this kernel lacks, which
    /// is named in the second list), with the lane's filters set and every one enabled
    /// (`raw_syscalls` only when `syscalls`: a busy server makes many).
    fn enable(
        &self,
        put: &impl Fn(&str, &str) -> Result<(), String>,
        quiet_tid: i64,
        syscalls: bool,
    ) -> Result<(Vec<Format>, Vec<&'static str>), String> {
        let mut formats = Vec::with_capacity(TRACEPOINTS.len());
        let (mut enable, mut missing) = (Vec::new(), Vec::new());
        for tp in TRACEPOINTS {
            if tp.system == "raw_syscalls" && !syscalls {
                formats.push(Format::default());
                continue;
            }
            let at = self.dir.join("events").join(tp.system).join(tp.name);
            match std::fs::read_to_string(at.join("format")) {
                Ok(text) => {
                    formats.push(Format::parse(&text));
                    enable.push(tp.full);
                }
                Err(_) if !tp.required => {
                    formats.push(Format::default());
                    missing.push(tp.full);
                }
                Err(_) => return Err(missing_tracepoint(tp)),
            }
        }
        put(
            "events/sched/sched_wakeup/filter",
            &format!("pid != {quiet_tid}"),
        )?;
        // A nonblocking server asks tens of thousands of times a second; each "not yet" is
        // already a line of the trace (`recvfrom … = -1 EAGAIN`, folded with its count), and
        // formatting them all would cost the run more than the lesson gains.
        put(
            "events/sock/sock_recv_length/filter",
            &format!("ret != -{}", libc::EAGAIN),
        )?;
        // io_uring's SQ thread (`--sqpoll`) polls its ring in a loop, and each turn runs the
        // task work it finds, most often none: tens of thousands of empty runs a second.
        if enable.contains(&"io_uring:io_uring_task_work_run") {
            put(
                "events/io_uring/io_uring_task_work_run/filter",
                "count != 0",
            )?;
        }
        // All at once, `system:name` each (`set_event`, as `trace-cmd record -e` does).
        put("set_event", &enable.join(" "))?;
        Ok((formats, missing))
    }

    /// Adds a thread to the filter (its children join it by themselves: `event-fork`), and
    /// turns recording on the first time: until then the filter is empty, which would let
    /// every task of the machine through.
    pub fn enlist(&self, tid: i64) -> std::io::Result<()> {
        if let Some(pids) = &self.pids {
            let mut f = pids.lock().unwrap_or_else(|p| p.into_inner());
            f.write_all(tid.to_string().as_bytes())?;
        }
        if !self.started.swap(true, Ordering::SeqCst) {
            self.set_on(true)?;
        }
        Ok(())
    }

    fn set_on(&self, on: bool) -> std::io::Result<()> {
        match &self.on {
            Some(f) => f
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .write_all(if on { b"1" } else { b"0" }),
            None => Ok(()),
        }
    }

    /// Stops recording (what is in the buffer can still be read).
    pub fn stop(&self) {
        let _ = self.set_on(false);
    }

    /// Appends what the kernel recorded since the last read, at most `max` bytes.
    pub fn read(&self, out: &mut Vec<u8>, max: usize) -> std::io::Result<()> {
        let Some(mut pipe) = self.pipe.as_ref() else {
            return Ok(());
        };
        let mut chunk = [0u8; 1 << 16];
        let limit = out.len() + max;
        while out.len() < limit {
            match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Events the kernel could not record because the buffer was full, over every CPU.
    pub fn dropped(&self) -> u64 {
        let Ok(cpus) = std::fs::read_dir(self.dir.join("per_cpu")) else {
            return 0;
        };
        cpus.flatten()
            .filter_map(|cpu| std::fs::read_to_string(cpu.path().join("stats")).ok())
            .flat_map(|stats| {
                stats
                    .lines()
                    .filter_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        matches!(k.trim(), "dropped events" | "overrun")
                            .then(|| v.trim().parse::<u64>().ok())
                            .flatten()
                    })
                    .collect::<Vec<_>>()
            })
            .sum()
    }
}

impl Drop for Instance {
    /// Recording off, the files closed (an instance with an open file cannot go), the
    /// directory removed: nothing is left running.
    fn drop(&mut self) {
        self.stop();
        self.pipe = None;
        self.pids = None;
        self.on = None;
        if let Err(e) = remove(&self.dir) {
            crate::say!(
                "{}",
                crate::t!(
                    "warning-ftrace-remove",
                    dir = self.dir.display().to_string(),
                    why = e.to_string()
                )
            );
        }
    }
}

/// `rmdir`, retried briefly while the kernel still holds the instance (a reader closing).
fn remove(dir: &Path) -> std::io::Result<()> {
    let mut tries = 0;
    loop {
        match std::fs::remove_dir(dir) {
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 50 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// Removes instances a killed run left behind (`iomodels-PID` of a process that is gone):
/// `SIGKILL` gives no chance to clean up, so the next `--kernel` run does.
fn sweep(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root.join("instances")) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("iomodels-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            match remove(&e.path()) {
                Ok(()) => crate::say!(
                    "{}",
                    crate::t!(
                        "note-ftrace-swept",
                        dir = e.path().display().to_string(),
                        pid = pid.to_string()
                    )
                ),
                Err(err) => crate::say!(
                    "{}",
                    crate::t!(
                        "warning-ftrace-left",
                        dir = e.path().display().to_string(),
                        pid = pid.to_string(),
                        why = err.to_string()
                    )
                ),
            }
        }
    }
}

/// Moves a freshly opened file to a descriptor at or above [`HIGH_FD`] (below the soft limit).
fn high(file: std::io::Result<File>) -> Result<File, String> {
    let file = file.map_err(|e| e.to_string())?;
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    let min = (HIGH_FD as u64).min(soft.saturating_sub(8)).max(3) as i32;
    let fd = rustix::io::fcntl_dupfd_cloexec(&file, min).map_err(|e| e.to_string())?;
    Ok(File::from(fd))
}

/// Where tracefs is, mounting it for this process alone when it is not mounted and we are root.
fn tracefs() -> Result<(PathBuf, bool), Refusal> {
    if let Some(at) = mounted() {
        return Ok((at, false));
    }
    if !rustix::process::geteuid().is_root() {
        return Err(Refusal(crate::t!("err-tracefs-root", at = TRACEFS)));
    }
    mount_private().map_err(|e| {
        Refusal(crate::t!(
            "err-tracefs-mount",
            at = TRACEFS,
            why = e.to_string()
        ))
    })?;
    Ok((PathBuf::from(TRACEFS), true))
}

/// A tracefs mount this process sees, from `/proc/self/mounts`.
fn mounted() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        let (_, at, fs) = (f.next()?, f.next()?, f.next()?);
        (fs == "tracefs").then(|| PathBuf::from(at.replace("\\040", " ")))
    })
}

/// `unshare(CLONE_NEWNS)`, every mount made private, then `mount -t tracefs nodev
/// /sys/kernel/tracing`: the mount exists in this process's own mount namespace (this thread's
/// and the threads and processes it starts afterwards) and goes with it. No other process sees it.
fn mount_private() -> std::io::Result<()> {
    use rustix::mount::{MountFlags, MountPropagationFlags, mount, mount_change};
    use rustix::thread::{UnshareFlags, unshare_unsafe};
    // SAFETY: only the mount namespace (and with it this thread's filesystem context) is
    // unshared, not the descriptor table (`CLONE_FILES`), so every descriptor stays valid on
    // every thread.
    unsafe { unshare_unsafe(UnshareFlags::NEWNS) }?;
    mount_change(
        "/",
        MountPropagationFlags::REC | MountPropagationFlags::PRIVATE,
    )?;
    mount("nodev", TRACEFS, "tracefs", MountFlags::empty(), None)?;
    Ok(())
}

/// The refusal for an instance that could not be made.
fn refuse_mkdir(dir: &Path, e: &std::io::Error) -> Refusal {
    let parent = dir.parent().unwrap_or(dir).display().to_string();
    let why = e.to_string();
    if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) {
        Refusal(crate::t!("err-ftrace-root", dir = parent, why = why))
    } else {
        Refusal(crate::t!("err-ftrace-mkdir", dir = parent, why = why))
    }
}

fn missing_tracepoint(tp: &Tracepoint) -> String {
    crate::t!("err-tracepoint-missing", tracepoint = tp.full)
}
