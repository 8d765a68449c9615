//! The kernel lane (`--kernel`): the kernel's own tracepoints for this run's threads, merged
//! into the trace beside the system calls, on the trace's clock.
//!
//! The trace shows what the process asked and when each call returned; the lane shows what the
//! kernel did meanwhile: data arriving on a socket (`sock:sk_data_ready`, the end of stage ①),
//! the copy into the process (`sock:sock_recv_length`, stage ②, on the thread that ran it),
//! TCP handshakes and closes (`sock:inet_sock_set_state`), threads put to sleep, woken and
//! run (`sched:sched_switch`, `sched:sched_wakeup`), signals raised (`signal:signal_generate`)
//! and io_uring's requests (`io_uring:*`). How: a private ftrace instance (`tracefs.rs`), its
//! lines parsed (`parse.rs`), named after the trace's clients and descriptors
//! (`attribute.rs`), and merged in time order, folded and capped (`merge.rs`). DESIGN.md,
//! "The kernel lane", says why it is built this way.

#[cfg(target_os = "linux")]
mod attribute;
#[cfg(target_os = "linux")]
mod merge;
#[cfg(target_os = "linux")]
mod parse;
#[cfg(target_os = "linux")]
mod tracefs;
#[cfg(target_os = "linux")]
mod tracepoints;

use crate::trace::Event;
#[cfg(not(target_os = "linux"))]
use crate::trace::Recorder;

/// Where the lane's merged events go: shown (and counted by the summary), or counted only.
/// (Elsewhere than on Linux only `show` is called: there is no lane.)
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub trait Out {
    fn show(&mut self, ev: &Event);
    /// Past the lane's cap: the summary still counts it.
    fn count(&mut self, ev: &Event);
    /// Events the kernel could not record.
    fn lost(&mut self, n: u64);
}

/// What a run tells the lane about itself (read on Linux only: elsewhere there is no lane).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub struct Want {
    /// `--serve`: the clients are other processes, whose side the lane does not see.
    pub serve: bool,
    /// `--idle N`: the crowd's helper process is followed too.
    pub idle: usize,
    /// Kernel lines shown at most (the rest are counted).
    pub cap: u64,
    /// Whose scheduling the lane shows.
    pub scope: Scope,
    /// The model's library starts threads of its own (glibc's POSIX AIO): their system calls
    /// are recorded (`raw_syscalls`), with the library's on the server's threads.
    pub library_threads: bool,
}

/// `--kernel=THREADS`: whose scheduler events (wake-ups, context switches, thread starts) the
/// lane shows. Every other tracepoint is shown whichever thread it ran on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    Server,
    All,
}

#[cfg(target_os = "linux")]
pub use linux::Lane;

#[cfg(target_os = "linux")]
mod linux {
    use super::merge::Merge;
    use super::tracefs::Instance;
    use super::{Out, Scope, Want, attribute::Names};
    use crate::trace::{Event, Recorder};
    use anyhow::{Result, anyhow};
    use std::sync::mpsc::{Sender, channel};
    use std::thread::JoinHandle;

    /// Work for the starter thread: start some of the run's threads.
    type Job = Box<dyn FnOnce() + Send>;

    /// The thread the instance follows first, kept for the whole run: it starts the run's
    /// threads, so that they are followed from birth (`event-fork`) after one write to
    /// `set_event_pid`. (Every later write replaces the kernel's pid list and waits for an RCU
    /// grace period first: tens of milliseconds each.)
    struct Starter {
        jobs: Option<Sender<Job>>,
        thread: Option<JoinHandle<()>>,
    }

    impl Drop for Starter {
        fn drop(&mut self) {
            drop(self.jobs.take());
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    /// One run's kernel lane: its ftrace instance (removed when the lane is dropped) and the
    /// merge of its events into the trace.
    pub struct Lane {
        /// Declared before the instance: it ends first.
        starter: Starter,
        inst: Instance,
        want: Want,
        /// The starter thread (followed only to start others: its own events are not shown).
        starter_tid: i64,
        /// The thread that prints the trace (this one); not followed.
        printer: i64,
        merge: Option<Merge>,
    }

    impl Lane {
        /// Makes the run's ftrace instance and starts recording for its starter thread, the
        /// one the run's threads will be started from. Refuses in one line when this machine
        /// cannot: not root, no tracefs, no instance, missing tracepoints.
        pub fn start(want: Want) -> Result<Lane> {
            let printer = i64::from(rustix::thread::gettid().as_raw_nonzero().get());
            let inst = Instance::create(printer, want.library_threads)?;
            let (jobs, todo) = channel::<Job>();
            let (tid_tx, tid_rx) = channel();
            let thread = std::thread::Builder::new()
                .name("kernel lane".into())
                .spawn(move || {
                    let _ = tid_tx.send(i64::from(rustix::thread::gettid().as_raw_nonzero().get()));
                    for job in todo {
                        job();
                    }
                })?;
            let starter = Starter {
                jobs: Some(jobs),
                thread: Some(thread),
            };
            let tid = tid_rx
                .recv()
                .map_err(|_| anyhow!(crate::t!("err-kernel-starter-died")))?;
            inst.enlist(tid)
                .map_err(|e| anyhow!(crate::t!("err-kernel-follow", why = e.to_string())))?;
            Ok(Lane {
                starter,
                inst,
                want,
                starter_tid: tid,
                printer,
                merge: None,
            })
        }

        /// Runs `f` on the starter thread: the threads it starts (and theirs) are followed,
        /// the caller is not.
        pub fn listed<T: Send + 'static>(
            &self,
            f: impl FnOnce() -> T + Send + 'static,
        ) -> Result<T> {
            let (done, result) = channel();
            let job: Job = Box::new(move || {
                let _ = done.send(f());
            });
            self.starter
                .jobs
                .as_ref()
                .and_then(|j| j.send(job).ok())
                .ok_or_else(|| anyhow!(crate::t!("err-kernel-starter-gone")))?;
            result
                .recv()
                .map_err(|_| anyhow!(crate::t!("err-kernel-starter-panicked")))
        }

        /// The trace's clock and the server's port are known: the merge begins, with the
        /// lane's opening remarks (what it follows, and what it cannot see).
        pub fn begin(&mut self, rec: &Recorder, port: u16) {
            let mut names = Names::new(
                self.printer,
                self.starter_tid,
                self.want.serve,
                self.want.scope,
            );
            names.server_port(port);
            let mut merge = Merge::new(names, rec.start(), self.want.cap);
            let mut say = vec![crate::t!(
                "lane-intro",
                pid = std::process::id().to_string()
            )];
            say.push(match self.want.scope {
                Scope::Server => crate::t!("lane-left-out-server"),
                Scope::All => crate::t!("lane-left-out-all"),
            });
            if self.want.library_threads {
                say.push(match self.want.scope {
                    Scope::Server => crate::t!("lane-raw-syscalls-server"),
                    Scope::All => crate::t!("lane-raw-syscalls-all"),
                });
            }
            if self.inst.mounted_here {
                say.push(crate::t!("lane-tracefs-mounted"));
            }
            if !self.inst.missing.is_empty() {
                say.push(crate::t!(
                    "lane-missing",
                    missing = self.inst.missing.join(", ")
                ));
            }
            if self.want.serve {
                say.push(crate::t!("lane-serve"));
            }
            if self.want.idle > 0 {
                say.push(crate::t!("lane-crowd"));
            }
            for note in say {
                let ev = merge.info(note);
                merge.user(ev);
            }
            self.merge = Some(merge);
        }

        /// A trace event, as it arrives from the run's threads.
        pub fn user(&mut self, ev: Event) {
            if let Some(m) = &mut self.merge {
                m.user(ev);
            }
        }

        /// Reads the kernel's side if it is time, and shows what has found its place.
        /// `drained`: the trace's channel is empty now (every line sent so far has come).
        pub fn release(&mut self, drained: bool, out: &mut dyn Out) {
            if let Some(m) = &mut self.merge {
                m.release(&self.inst, drained, out);
            }
        }

        /// The run is over: everything left is shown, and what the lane could not record.
        pub fn finish(&mut self, out: &mut dyn Out) {
            if let Some(m) = &mut self.merge {
                m.finish(&self.inst, out);
            }
        }
    }
}

/// Off Linux there is no lane: `--kernel` is refused before any run.
#[cfg(not(target_os = "linux"))]
pub enum Lane {}

#[cfg(not(target_os = "linux"))]
impl Lane {
    pub fn start(_: Want) -> anyhow::Result<Lane> {
        anyhow::bail!(crate::t!("err-kernel-linux", os = std::env::consts::OS))
    }

    pub fn listed<T: Send + 'static>(
        &self,
        _: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        match *self {}
    }

    pub fn begin(&mut self, _: &Recorder, _: u16) {
        match *self {}
    }

    pub fn user(&mut self, _: Event) {
        match *self {}
    }

    pub fn release(&mut self, _: bool, _: &mut dyn Out) {
        match *self {}
    }

    pub fn finish(&mut self, _: &mut dyn Out) {
        match *self {}
    }
}
