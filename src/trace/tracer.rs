//! How events are recorded: a [`Recorder`] per run, a [`Tracer`] per thread that times each
//! [`Call`], folds runs of spins, and makes the gloss only when something records.

use super::errno;
use super::event::{Event, Kind, Stage};
use std::cell::Cell;
use std::fmt::Display;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Instant;

/// Where events go. Cloned into every thread that records; a disabled recorder records nothing
/// (used by `--no-trace` and the benchmark, so the code measured is the code taught).
#[derive(Clone)]
pub struct Recorder {
    tx: Option<SyncSender<Event>>,
    start: Instant,
}

impl Recorder {
    /// Events waiting to be rendered, at most: a recording thread that gets this far ahead of
    /// the renderer (a paused terminal, a flood of clients) waits for it, so the trace never
    /// drops an event and never grows without bound.
    pub const BACKLOG: usize = 4096;

    pub fn new() -> (Recorder, Receiver<Event>) {
        let (tx, rx) = sync_channel(Self::BACKLOG);
        let rec = Recorder {
            tx: Some(tx),
            start: Instant::now(),
        };
        (rec, rx)
    }

    pub fn disabled() -> Recorder {
        Recorder {
            tx: None,
            start: Instant::now(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.tx.is_some()
    }

    /// The instant the trace's times count from (`t_us` 0): the kernel lane's clock origin.
    #[cfg(target_os = "linux")]
    pub fn start(&self) -> Instant {
        self.start
    }

    pub fn micros(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.start).as_micros() as u64
    }

    /// Sends an event as it is (client lanes and remarks; server calls go through a [`Tracer`]).
    pub fn send(&self, ev: Event) {
        if let Some(tx) = &self.tx {
            // The receiver outlives every recorder, except after Ctrl-C, when nobody reads any more.
            let _ = tx.send(ev);
        }
    }

    /// A per-thread tracer. `id` asks the OS for this thread's id (`crate::sys::thread_id`):
    /// `gettid` is a real call of this thread, so it is recorded too, with the call's name and
    /// gloss that `id` gives.
    pub fn thread(&self, actor: &str, id: impl FnOnce() -> ThreadId) -> Tracer {
        TRACING.set(self.enabled());
        let mut t = Tracer {
            rec: self.clone(),
            tid: 0,
            actor: Arc::from(actor),
            spins: Vec::new(),
        };
        let start = t.begin();
        let (name, tid, note) = id();
        t.tid = tid;
        t.end(
            Call::new(name, Stage::Setup),
            start,
            Ok(tid),
            note.to_string(),
        );
        t
    }

    pub fn info(&self, actor: &str, note: impl Into<String>) {
        if self.enabled() {
            let mut ev = Event::new(Kind::Info, "", Stage::Setup);
            ev.t_us = self.micros(Instant::now());
            ev.actor = Arc::from(actor);
            ev.note = note.into();
            self.send(ev);
        }
    }
}

thread_local! {
    /// Whether this thread's tracer records. When it does not (`--no-trace`, the benchmark),
    /// [`Call::args`] skips formatting, so the disabled path allocates nothing per call.
    static TRACING: Cell<bool> = const { Cell::new(true) };
}

/// Describes a call about to be made: its name as strace prints it, its descriptor, its stage.
pub struct Call {
    pub name: &'static str,
    pub fd: Option<i64>,
    pub args: String,
    pub stage: Stage,
    pub blocks: bool,
    pub kind: Kind,
    /// The library whose function this is (`library` calls only).
    pub by: Option<&'static str>,
}

impl Call {
    pub fn new(name: &'static str, stage: Stage) -> Call {
        Call {
            name,
            fd: None,
            args: String::new(),
            stage,
            blocks: false,
            kind: Kind::Syscall,
            by: None,
        }
    }

    pub fn fd(mut self, fd: impl Into<i64>) -> Call {
        self.fd = Some(fd.into());
        self
    }

    /// The arguments that matter, as the OS spells them. Formatted only when this thread's
    /// tracer records: pass the value itself (`want`, `format_args!(…)`), not a `String`, so
    /// that an untraced run pays nothing for it.
    pub fn args(mut self, args: impl Display) -> Call {
        if TRACING.get() {
            self.args = args.to_string();
        }
        self
    }

    /// Not a system call but an operation the kernel runs for us (an SQE queued, a CQE reaped):
    /// recorded as an `op` event, which the strace cross-check ignores. (Completion models
    /// only: io_uring on Linux, IOCP on Windows.)
    #[cfg(any(target_os = "linux", windows))]
    pub fn op(mut self) -> Call {
        self.kind = Kind::Op;
        self
    }

    /// Not a system call but a function of the C library `by` that makes its own (glibc's
    /// POSIX AIO): recorded as a `library` event, which the strace cross-check does not look
    /// for, and its "… blocks" line too says whose it is.
    #[cfg(target_os = "linux")]
    pub fn library(mut self, by: &'static str) -> Call {
        self.kind = Kind::Library;
        self.by = Some(by);
        self
    }

    /// The call may put the thread to sleep: a "… blocks" line is shown when it starts.
    pub fn blocking(mut self, blocks: bool) -> Call {
        self.blocks = blocks;
        self
    }
}

/// The moment a call began, returned by [`Tracer::begin`]; `None` when nothing is recorded,
/// so that an untraced run does not read the clock.
#[derive(Clone, Copy)]
pub struct Started(Option<Instant>);

/// A thread's view of the recorder: timestamps calls and folds spins into runs.
pub struct Tracer {
    rec: Recorder,
    tid: i64,
    actor: Arc<str>,
    /// The open run of spinning calls, one entry per distinct call, in first-seen order.
    spins: Vec<(Event, u64)>,
}

/// A run of spins is shown at the latest this long after it started, so `--serve` stays live.
const SPIN_FLUSH_US: u64 = 1_000_000;

impl Tracer {
    pub fn enabled(&self) -> bool {
        self.rec.enabled()
    }

    pub fn tid(&self) -> i64 {
        self.tid
    }

    pub fn recorder(&self) -> &Recorder {
        &self.rec
    }

    pub fn begin(&self) -> Started {
        Started(self.enabled().then(Instant::now))
    }

    /// Announces a call that may block (shown as "… blocks" if it does), and returns its start.
    pub fn enter(&mut self, call: &Call) -> Started {
        let start = self.begin();
        if call.blocks && self.enabled() {
            self.flush_spins();
            let mut ev = self.event(call, start);
            ev.kind = Kind::Wait;
            ev.note = crate::t!("sys-blocks");
            self.rec.send(ev);
        }
        start
    }

    /// Records a finished call with its result and the gloss to show beside it.
    pub fn end<T: Ret>(
        &mut self,
        call: Call,
        start: Started,
        result: Result<T, rustix::io::Errno>,
        note: impl Into<String>,
    ) {
        self.end_with(call, start, result, |_| (), note);
    }

    /// Like [`Tracer::end`], with a hook to fill extra fields (port, cpu) of the event.
    pub fn end_with<T: Ret>(
        &mut self,
        call: Call,
        start: Started,
        result: Result<T, rustix::io::Errno>,
        extra: impl FnOnce(&mut Event),
        note: impl Into<String>,
    ) {
        if !self.enabled() {
            return;
        }
        let end = Instant::now();
        let mut ev = self.event(&call, start);
        ev.dur_us = start
            .0
            .map_or(0, |s| end.saturating_duration_since(s).as_micros() as u64);
        match result {
            Ok(v) => ev.ret = Some(v.ret()),
            Err(e) => ev.errno = Some(errno::name(e)),
        }
        ev.note = note.into();
        extra(&mut ev);
        self.push(ev);
    }

    /// Makes one call and records it: `call` names it, `make` makes it, and `gloss` says what
    /// its result means — a fixed sentence, or a closure over the result that runs only when
    /// the trace records (an untraced run builds no string). This is what a traced wrapper in
    /// `crate::sys` is made of, so that each system call in a model reads as one line.
    pub fn call<T: Ret>(
        &mut self,
        call: Call,
        make: impl FnOnce() -> Result<T, rustix::io::Errno>,
        gloss: impl Gloss<T>,
    ) -> Result<T, rustix::io::Errno> {
        self.call_with(call, make, |_, _| (), gloss)
    }

    /// Like [`Tracer::call`], with `extra` filling the event's fields that depend on the result
    /// (`watched`, `port`, `cpu_us`); it too runs only when the trace records.
    pub fn call_with<T: Ret>(
        &mut self,
        call: Call,
        make: impl FnOnce() -> Result<T, rustix::io::Errno>,
        extra: impl FnOnce(&Result<T, rustix::io::Errno>, &mut Event),
        gloss: impl Gloss<T>,
    ) -> Result<T, rustix::io::Errno> {
        let start = self.enter(&call);
        let r = make();
        self.record(call, start, &r, extra, gloss);
        r
    }

    /// Records a call made since `start` (see [`Tracer::enter`]), from its result by reference.
    pub fn record<T: Ret>(
        &mut self,
        call: Call,
        start: Started,
        result: &Result<T, rustix::io::Errno>,
        extra: impl FnOnce(&Result<T, rustix::io::Errno>, &mut Event),
        gloss: impl Gloss<T>,
    ) {
        if !self.enabled() {
            return;
        }
        let shown = match result {
            Ok(v) => Ok(v.ret()),
            Err(e) => Err(*e),
        };
        self.end_with(
            call,
            start,
            shown,
            |ev| extra(result, ev),
            gloss.say(result),
        );
    }

    /// One unit of "other work": what a server that is not blocked can do while it waits.
    pub fn work(&mut self, units: &mut u64) {
        *units += 1;
        std::hint::black_box(units.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        if self.enabled() {
            let now = self.begin();
            let mut ev = self.event(&Call::new("work", Stage::Work), now);
            ev.kind = Kind::Info;
            // Thousands of these in a run: the message is looked up once.
            static NOTE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            ev.note = NOTE.get_or_init(|| crate::t!("trace-work")).clone();
            self.push(ev);
        }
    }

    /// A remark from this thread that is not a system call.
    pub fn info(&mut self, note: impl Remark) {
        self.info_with(note, |_| ());
    }

    /// Like [`Tracer::info`], with `extra` filling more of the event (JSON `fields`).
    pub fn info_with(&mut self, note: impl Remark, extra: impl FnOnce(&mut Event)) {
        if self.enabled() {
            self.flush_spins();
            let now = self.begin();
            let mut ev = self.event(&Call::new("", Stage::Setup), now);
            ev.kind = Kind::Info;
            ev.note = note.say();
            extra(&mut ev);
            self.rec.send(ev);
        }
    }

    fn event(&self, call: &Call, start: Started) -> Event {
        let mut ev = Event::new(call.kind, call.name, call.stage);
        ev.t_us = start.0.map_or(0, |s| self.rec.micros(s));
        ev.tid = self.tid;
        ev.actor = self.actor.clone();
        ev.fd = call.fd;
        ev.args = call.args.clone();
        ev.by = call.by;
        ev
    }

    fn push(&mut self, ev: Event) {
        if !ev.spins() {
            self.flush_spins();
            self.rec.send(ev);
            return;
        }
        let end = ev.t_us + ev.dur_us;
        match self.spins.iter_mut().find(|(run, _)| run.same_call(&ev)) {
            Some((run, last_end)) => {
                run.count += 1;
                run.dur_us += ev.dur_us;
                *last_end = end;
            }
            None => self.spins.push((ev, end)),
        }
        if self
            .spins
            .first()
            .is_some_and(|(first, _)| end - first.t_us > SPIN_FLUSH_US)
        {
            self.flush_spins();
        }
    }

    /// Emits the open run of spins, each distinct call as one line with its count.
    pub fn flush_spins(&mut self) {
        for (mut ev, last_end) in self.spins.drain(..) {
            if ev.count > 1 {
                ev.span_us = Some(last_end - ev.t_us);
            }
            self.rec.send(ev);
        }
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        self.flush_spins();
    }
}

/// What a traced call says beside its result: a fixed sentence (`&str`), or a closure that
/// chooses or builds one from the result. The closure runs only when the trace records.
pub trait Gloss<T> {
    fn say(self, result: &Result<T, rustix::io::Errno>) -> String;
}

impl<T> Gloss<T> for &str {
    fn say(self, _: &Result<T, rustix::io::Errno>) -> String {
        self.to_string()
    }
}

/// A gloss made already (a message looked up in this run's language).
impl<T> Gloss<T> for String {
    fn say(self, _: &Result<T, rustix::io::Errno>) -> String {
        self
    }
}

impl<T> Gloss<T> for &String {
    fn say(self, _: &Result<T, rustix::io::Errno>) -> String {
        self.clone()
    }
}

impl<T, F: FnOnce(&Result<T, rustix::io::Errno>) -> String> Gloss<T> for F {
    fn say(self, result: &Result<T, rustix::io::Errno>) -> String {
        self(result)
    }
}

/// A thread's id, and the call that gave it with its gloss (`("gettid", 1234, "…")`).
pub type ThreadId = (&'static str, i64, crate::lang::Msg);

/// A remark that is not a call ([`Tracer::info`]): a fixed sentence, or a closure that builds
/// one, run only when the trace records.
pub trait Remark {
    fn say(self) -> String;
}

impl Remark for &str {
    fn say(self) -> String {
        self.to_string()
    }
}

impl<F: FnOnce() -> String> Remark for F {
    fn say(self) -> String {
        self()
    }
}

/// How a call's successful result is shown as the raw return value (`ret`).
pub trait Ret {
    fn ret(&self) -> i64;
}

impl Ret for () {
    fn ret(&self) -> i64 {
        0
    }
}

impl Ret for usize {
    fn ret(&self) -> i64 {
        *self as i64
    }
}

impl Ret for u64 {
    fn ret(&self) -> i64 {
        *self as i64
    }
}

impl Ret for i64 {
    fn ret(&self) -> i64 {
        *self
    }
}

impl Ret for i32 {
    fn ret(&self) -> i64 {
        *self as i64
    }
}

impl Ret for u32 {
    fn ret(&self) -> i64 {
        *self as i64
    }
}

/// `getsockname` and friends return 0; the address is shown in the gloss.
impl Ret for rustix::net::SocketAddrAny {
    fn ret(&self) -> i64 {
        0
    }
}

impl<T> Ret for (rustix::fd::OwnedFd, T) {
    fn ret(&self) -> i64 {
        self.0.ret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread id for tests, as if `gettid` had answered 1.
    fn test_id() -> ThreadId {
        ("gettid", 1, crate::msg!("sys-gettid"))
    }

    fn spin(t: &mut Tracer, fd: i64) {
        let c = Call::new("recvfrom", Stage::CopyToUser).fd(fd);
        let s = t.begin();
        t.end::<usize>(c, s, Err(rustix::io::Errno::AGAIN), "");
    }

    #[test]
    fn interleaved_spins_fold_per_call_and_flush_before_a_real_result() {
        let (rec, rx) = Recorder::new();
        let mut t = rec.thread("server", test_id);
        for _ in 0..5 {
            spin(&mut t, 5);
            spin(&mut t, 6);
        }
        spin(&mut t, 5);
        let s = t.begin();
        t.end(
            Call::new("recvfrom", Stage::CopyToUser).fd(5),
            s,
            Ok(6usize),
            "",
        );
        drop(t);
        let evs: Vec<Event> = rx.try_iter().collect();
        let lines: Vec<(Option<i64>, Option<&str>, u64)> = evs
            .iter()
            .skip(1)
            .map(|e| (e.fd, e.errno, e.count))
            .collect();
        assert_eq!(
            lines,
            vec![
                (Some(5), Some("EAGAIN"), 6),
                (Some(6), Some("EAGAIN"), 5),
                (Some(5), None, 1)
            ]
        );
        assert!(evs[1].span_us.is_some());
    }

    /// An `EAGAIN` from `recvfrom(fd)` at `t_us` that took `dur_us`, pushed as if just made:
    /// the folding sees these times and no clock.
    fn spin_at(t: &mut Tracer, fd: i64, t_us: u64, dur_us: u64) {
        let mut ev = t.event(
            &Call::new("recvfrom", Stage::DataReady).fd(fd),
            Started(None),
        );
        ev.t_us = t_us;
        ev.dur_us = dur_us;
        ev.errno = Some("EAGAIN");
        t.push(ev);
    }

    #[test]
    fn a_run_counts_its_calls_sums_their_time_and_spans_first_start_to_last_end() {
        let (rec, rx) = Recorder::new();
        let mut t = rec.thread("server", test_id);
        spin_at(&mut t, 5, 100, 10);
        spin_at(&mut t, 6, 150, 5);
        spin_at(&mut t, 5, 300, 20);
        t.flush_spins();
        let evs: Vec<Event> = rx.try_iter().skip(1).collect();
        let runs: Vec<_> = evs
            .iter()
            .map(|e| (e.fd, e.t_us, e.count, e.dur_us, e.span_us))
            .collect();
        assert_eq!(
            runs,
            vec![
                (Some(5), 100, 2, 30, Some(220)),
                // A single call is no run: no span.
                (Some(6), 150, 1, 5, None),
            ]
        );
    }

    #[test]
    fn a_run_is_flushed_once_it_lasts_past_a_second() {
        let (rec, rx) = Recorder::new();
        let mut t = rec.thread("server", test_id);
        let gettid = rx.try_iter().count();
        assert_eq!(gettid, 1);
        spin_at(&mut t, 5, 0, 1);
        spin_at(&mut t, 5, 999_999, 1);
        assert_eq!(rx.try_iter().count(), 0, "1 s exactly: the run stays open");
        spin_at(&mut t, 5, 1_000_000, 1);
        let flushed: Vec<Event> = rx.try_iter().collect();
        assert_eq!(
            flushed.len(),
            1,
            "past 1 s: shown without waiting for a real result"
        );
        assert_eq!((flushed[0].count, flushed[0].span_us), (3, Some(1_000_001)));
        // The next spin opens a new run.
        spin_at(&mut t, 5, 1_000_010, 1);
        drop(t);
        let rest: Vec<_> = rx.try_iter().map(|e| (e.t_us, e.count)).collect();
        assert_eq!(rest, vec![(1_000_010, 1)]);
    }

    #[test]
    fn units_of_work_and_timed_out_waits_fold_like_spins() {
        let (rec, rx) = Recorder::new();
        let mut t = rec.thread("server", test_id);
        let mut units = 0;
        for _ in 0..4 {
            t.work(&mut units);
            // io_uring's empty wait (`ETIME`, a name not every OS's Errno has).
            let mut ev = t.event(&Call::new("io_uring_enter", Stage::Completion), t.begin());
            ev.errno = Some("ETIME");
            t.push(ev);
        }
        assert_eq!(units, 4);
        let s = t.begin();
        t.end(
            Call::new("io_uring_enter", Stage::Completion),
            s,
            Ok(1usize),
            "",
        );
        drop(t);
        let lines: Vec<_> = rx
            .try_iter()
            .skip(1)
            .map(|e| (e.call, e.errno, e.count))
            .collect();
        assert_eq!(
            lines,
            vec![
                ("work", None, 4),
                ("io_uring_enter", Some("ETIME"), 4),
                ("io_uring_enter", None, 1)
            ]
        );
    }

    #[test]
    fn a_blocking_call_shows_the_spins_before_it_first() {
        let (rec, rx) = Recorder::new();
        let mut t = rec.thread("server", test_id);
        spin(&mut t, 5);
        spin(&mut t, 5);
        let call = Call::new("epoll_pwait", Stage::DataReady).blocking(true);
        let s = t.enter(&call);
        t.end(call, s, Ok(1usize), "");
        drop(t);
        let lines: Vec<_> = rx
            .try_iter()
            .skip(1)
            .map(|e| (e.kind, e.call, e.count))
            .collect();
        assert_eq!(
            lines,
            vec![
                (Kind::Syscall, "recvfrom", 2),
                (Kind::Wait, "epoll_pwait", 1),
                (Kind::Syscall, "epoll_pwait", 1)
            ]
        );
    }

    #[test]
    fn a_disabled_tracer_reads_no_clock_and_formats_no_arguments() {
        let rec = Recorder::disabled();
        let t = rec.thread("server", test_id);
        assert!(t.begin().0.is_none());
        assert!(
            Call::new("recvfrom", Stage::CopyToUser)
                .args(64)
                .args
                .is_empty()
        );
        // A recording tracer on the same thread formats again.
        let (rec, _rx) = Recorder::new();
        let t = rec.thread("server", test_id);
        assert!(t.begin().0.is_some());
        assert_eq!(Call::new("recvfrom", Stage::CopyToUser).args(64).args, "64");
    }
}
