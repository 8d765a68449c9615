//! The kernel lane merged into the trace: each side in time order, spinning repeats folded,
//! the lane capped.
//!
//! A user-side line is sent when its call returns, so it is placed at its end; a kernel event
//! at its own time, before the line of the call it happened inside. The trace's events are
//! held until the instance has been read past their end (the kernel's buffer is read every few
//! milliseconds), and kernel events until the trace has had time to send the lines that
//! precede them: nothing appears more than a few tens of milliseconds late.

use super::Out;
use super::attribute::{Made, Names, Note};
use super::parse::{self, Raw};
use super::tracefs::Instance;
use super::tracepoints::TRACEPOINTS;
use crate::trace::text::thousands;
use crate::trace::{Event, Kind, Stage};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a kernel event waits for the trace's lines before it, counted from the last time
/// the trace's channel was found empty (a line is sent when its call returns, a folded run of
/// spins when the next call does; a busy printer falls behind, and then the lane waits too).
const HOLD_US: u64 = 20_000;
/// Read the instance at most this often.
const READ_EVERY: Duration = Duration::from_millis(5);
/// An event may have been stamped up to this long before a read and be committed after it.
const IN_FLIGHT_US: u64 = 1_000;
/// The most of the kernel's text read at once (its buffers hold a few MiB at most).
const READ_MAX: usize = 8 << 20;
/// The most trace events held back waiting for the kernel's side: past it they go unordered
/// rather than grow without bound.
const HELD_MAX: usize = 20_000;
/// A folded run of repeats is shown at the latest this long after it started, like the
/// trace's spins.
const FOLD_FLUSH_US: u64 = 1_000_000;

/// A trace event waiting for its place: ordered by when it is shown, then by arrival.
struct Held {
    key: u64,
    seq: u64,
    ev: Event,
}

impl PartialEq for Held {
    fn eq(&self, o: &Held) -> bool {
        (self.key, self.seq) == (o.key, o.seq)
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, o: &Held) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Held {
    fn cmp(&self, o: &Held) -> std::cmp::Ordering {
        (self.key, self.seq).cmp(&(o.key, o.seq))
    }
}

/// When a trace event is shown: a call's line at its end (a folded run's at its last call's).
fn key(ev: &Event) -> u64 {
    match ev.kind {
        Kind::Syscall | Kind::Op | Kind::Library => ev.t_us + ev.span_us.unwrap_or(ev.dur_us),
        _ => ev.t_us,
    }
}

/// Times the same event is shown in a run before its repeats are only counted: a thread that
/// sleeps twice between two steps is not spinning; one that does it a hundred times is.
const SHOWN_BEFORE_FOLD: u32 = 2;

/// One kind of event in a run: what makes it the same, times shown, and the line of its
/// repeats so far with the last one's time.
type Seen = (String, u32, Option<(Event, Note, u64)>);

/// One thread's open run of kernel repeats: each distinct event shown a few times, then counted.
#[derive(Default)]
struct Run {
    seen: Vec<Seen>,
    /// When the first repeat came.
    since: Option<u64>,
}

pub struct Merge {
    pub names: Names,
    /// CLOCK_MONOTONIC, in nanoseconds, at the trace's start (its `t_us` 0).
    origin_ns: u64,
    held: BinaryHeap<Reverse<Held>>,
    seq: u64,
    kernel: VecDeque<(u64, Raw)>,
    /// The kernel's events up to here (µs of the trace) have all been read.
    watermark: u64,
    /// When the trace's channel was last found empty: every line sent before has arrived.
    drained: u64,
    last_read: Option<Instant>,
    /// The end of the last read, a line not yet complete.
    carry: Vec<u8>,
    runs: HashMap<i64, Run>,
    cap: u64,
    shown: u64,
    not_shown: u64,
    lost_lines: u64,
}

impl Merge {
    pub fn new(names: Names, origin: Instant, cap: u64) -> Merge {
        Merge {
            names,
            origin_ns: mono_ns(origin),
            held: BinaryHeap::new(),
            seq: 0,
            kernel: VecDeque::new(),
            watermark: 0,
            drained: 0,
            last_read: None,
            carry: Vec::new(),
            runs: HashMap::new(),
            cap,
            shown: 0,
            not_shown: 0,
            lost_lines: 0,
        }
    }

    fn now_us(&self) -> u64 {
        (now_ns().saturating_sub(self.origin_ns)) / 1000
    }

    /// A trace event, as it arrives.
    pub fn user(&mut self, ev: Event) {
        self.names.arrived(&ev);
        self.seq += 1;
        self.held.push(Reverse(Held {
            key: key(&ev),
            seq: self.seq,
            ev,
        }));
    }

    /// Reads the instance if it is time, and shows what has found its place. `drained`: the
    /// trace's channel is empty now.
    pub fn release(&mut self, inst: &Instance, drained: bool, out: &mut dyn Out) {
        if drained {
            self.drained = self.now_us();
        }
        if self.last_read.is_none_or(|t| t.elapsed() >= READ_EVERY) {
            self.read(inst, out);
        }
        self.emit(false, out);
    }

    /// The run is over: recording stops, the rest is read and everything shown; then what
    /// the kernel could not record, and what the cap kept back.
    pub fn finish(&mut self, inst: &Instance, out: &mut dyn Out) {
        inst.stop();
        self.read(inst, out);
        self.watermark = u64::MAX;
        self.emit(true, out);
        let tids: Vec<i64> = self.runs.keys().copied().collect();
        for tid in tids {
            self.close(tid, out);
        }
        let dropped = inst.dropped().max(self.lost_lines);
        if dropped > 0 {
            out.lost(dropped);
            out.show(&self.info(crate::t!("lane-dropped", n = thousands(dropped))));
        }
        if self.not_shown > 0 {
            out.show(&self.info(crate::t!(
                "lane-not-shown",
                n = thousands(self.not_shown),
                cap = thousands(self.cap)
            )));
        }
    }

    /// A remark of the lane's own, now.
    pub fn info(&self, note: String) -> Event {
        let mut ev = Event::new(Kind::Info, "", Stage::Setup);
        ev.t_us = self.now_us();
        ev.actor = Arc::from("kernel");
        ev.note = note;
        ev
    }

    fn read(&mut self, inst: &Instance, out: &mut dyn Out) {
        let before = now_ns();
        self.names.look_for_io_threads();
        self.follow_io_threads(inst, out);
        let mut buf = std::mem::take(&mut self.carry);
        let start = buf.len();
        if let Err(e) = inst.read(&mut buf, READ_MAX) {
            out.show(&self.info(crate::t!("lane-read-failed", why = e.to_string())));
        }
        self.last_read = Some(Instant::now());
        let complete = buf[start..]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| start + i + 1);
        self.carry = buf.split_off(complete);
        let text = String::from_utf8_lossy(&buf);
        for line in text.lines() {
            if let Some(n) = lost(line) {
                self.lost_lines += n;
                out.show(&self.info(crate::t!("lane-lost", n = n.to_string())));
                continue;
            }
            let Some(raw) = parse::line(line, TRACEPOINTS, &inst.formats) else {
                continue;
            };
            let t = (raw.mono_us * 1000).saturating_sub(self.origin_ns) / 1000;
            self.names.learn(&raw, t);
            // io_uring's threads start without a fork event: followed from when they are seen.
            self.follow_io_threads(inst, out);
            // ftrace merges its CPUs in time order; a late commit goes to its place.
            let at = self.kernel.partition_point(|(k, _)| *k <= t);
            self.kernel.insert(at, (t, raw));
        }
        let read_to = before.saturating_sub(self.origin_ns) / 1000;
        self.watermark = self.watermark.max(read_to.saturating_sub(IN_FLIGHT_US));
    }

    /// Adds io_uring's threads seen since the last call to the instance's filter.
    fn follow_io_threads(&mut self, inst: &Instance, out: &mut dyn Out) {
        for tid in self.names.take_unfollowed() {
            if let Err(e) = inst.enlist(tid) {
                out.show(&self.info(crate::t!(
                    "lane-cannot-follow",
                    tid = tid.to_string(),
                    why = e.to_string()
                )));
            }
        }
    }

    /// Shows, in order, each event whose place is known: a kernel event once the trace has
    /// had [`HOLD_US`] to send what came before it, a trace event once the kernel's side has
    /// been read past it. `all`: the run is over, everything goes.
    fn emit(&mut self, all: bool, out: &mut dyn Out) {
        let now = self.now_us();
        let drained = self.drained;
        loop {
            let user = self.held.peek().map(|Reverse(h)| h.key);
            let kernel = self.kernel.front().map(|(t, _)| *t);
            let kernel_first = match (self.held.peek(), self.kernel.front()) {
                // A call's own kernel events come before its line, also when the times,
                // each cut to the microsecond, put the last of them just past its end (but
                // not those of the thread's next call).
                (Some(Reverse(h)), Some((k, raw))) => {
                    *k < h.key
                        || (matches!(h.ev.kind, Kind::Syscall | Kind::Library)
                            && raw.tid == h.ev.tid
                            && *k >= h.ev.t_us
                            && *k <= h.key + crate::trace::story::SLACK_US
                            && !self.names.started_between(raw.tid, h.ev.t_us, *k))
                }
                (None, Some(_)) => true,
                (_, None) => false,
            };
            if kernel_first {
                let k = kernel.unwrap_or(0);
                if !all && drained.saturating_sub(k) < HOLD_US {
                    break;
                }
                let Some((t, raw)) = self.kernel.pop_front() else {
                    break;
                };
                if let Some(m) = self.names.make(&raw, t) {
                    self.fold(m, out);
                }
            } else if let Some(u) = user {
                if !all && self.watermark < u && self.held.len() < HELD_MAX {
                    break;
                }
                let Some(Reverse(h)) = self.held.pop() else {
                    break;
                };
                self.names.shown(&h.ev);
                // A call of the thread's own ends its open run of kernel repeats (a folded
                // run of spins comes at the spinning's end).
                if matches!(
                    h.ev.kind,
                    Kind::Syscall | Kind::Op | Kind::Library | Kind::Wait
                ) {
                    self.close(h.ev.tid, out);
                }
                out.show(&h.ev);
            } else {
                break;
            }
        }
        // Runs that have gone on for a while are shown without waiting for their end.
        let due: Vec<i64> = self
            .runs
            .iter()
            .filter(|(_, r)| {
                r.since
                    .is_some_and(|s| now.saturating_sub(s) > FOLD_FLUSH_US)
            })
            .map(|(t, _)| *t)
            .collect();
        for tid in due {
            self.close(tid, out);
        }
    }

    /// Each kind of event in a thread's run is shown [`SHOWN_BEFORE_FOLD`] times; its further
    /// repeats are counted, and shown as one line when the run ends. A call of the thread's
    /// own ends its run; an event that cannot fold (data arriving, a copy, a signal) ends
    /// every thread's, so that what follows it — the wake-up it causes — is shown at its time.
    fn fold(&mut self, m: Made, out: &mut dyn Out) {
        if !m.foldable {
            let mut tids: Vec<i64> = self.runs.keys().copied().collect();
            tids.sort_unstable();
            for tid in tids {
                self.close(tid, out);
            }
            self.line(m.ev, m.note, out);
            return;
        }
        let t = m.ev.t_us;
        let run = self.runs.entry(m.subject).or_default();
        let seen = match run.seen.iter().position(|(sig, _, _)| *sig == m.sig) {
            Some(i) => &mut run.seen[i],
            None => {
                run.seen.push((m.sig, 0, None));
                run.seen.last_mut().expect("just pushed")
            }
        };
        if seen.1 < SHOWN_BEFORE_FOLD {
            seen.1 += 1;
            self.line(m.ev, m.note, out);
            return;
        }
        match &mut seen.2 {
            Some((ev, _, last)) => {
                ev.count += 1;
                *last = t;
            }
            None => seen.2 = Some((m.ev, m.note, t)),
        }
        run.since.get_or_insert(t);
    }

    /// Ends a thread's run: one line for each kind of event that repeated, with its count.
    fn close(&mut self, tid: i64, out: &mut dyn Out) {
        let Some(run) = self.runs.remove(&tid) else {
            return;
        };
        for (_, _, rep) in run.seen {
            if let Some((mut ev, note, last)) = rep {
                if ev.count > 1 {
                    ev.span_us = Some(last - ev.t_us);
                }
                let note = move || crate::t!("lane-same-again", note = note());
                self.line(ev, Box::new(note), out);
            }
        }
    }

    /// Shows a kernel line, its gloss made only now, or past the cap only counts it.
    fn line(&mut self, mut ev: Event, note: Note, out: &mut dyn Out) {
        if self.shown < self.cap {
            self.shown += 1;
            ev.note = note();
            out.show(&ev);
        } else {
            self.not_shown += ev.count;
            out.count(&ev);
        }
    }
}

/// ftrace's own line for a lost stretch: `CPU:1 [LOST 12 EVENTS]`.
fn lost(line: &str) -> Option<u64> {
    let rest = line.split_once("[LOST ")?.1;
    rest.split_once(" EVENTS]")?.0.trim().parse().ok()
}

fn now_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// The CLOCK_MONOTONIC reading (ns) of an `Instant`, which on Linux *is* a CLOCK_MONOTONIC
/// reading, but opaque: from an `Instant` and a clock reading taken side by side (bracketed by
/// two readings, so the error is half their gap: tens of nanoseconds, below the microsecond
/// ftrace prints).
fn mono_ns(at: Instant) -> u64 {
    let before = now_ns();
    let now = Instant::now();
    let after = now_ns();
    let mid = before + (after - before) / 2;
    mid.saturating_sub(now.saturating_duration_since(at).as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_lines_are_counted() {
        assert_eq!(lost("CPU:1 [LOST 12 EVENTS]"), Some(12));
        assert_eq!(lost("server-1 [000] ....."), None);
    }

    #[test]
    fn an_instant_reads_as_the_monotonic_clock() {
        let at = Instant::now();
        let direct = now_ns();
        let via = mono_ns(at);
        // Both within the few microseconds between the two readings.
        assert!(
            via <= direct + 1_000_000 && direct <= via + 1_000_000,
            "{via} vs {direct}"
        );
    }

    #[test]
    fn a_call_is_placed_at_its_end_a_remark_at_its_time() {
        let mut ev = Event::new(Kind::Syscall, "recvfrom", Stage::DataReadyCopy);
        ev.t_us = 100;
        ev.dur_us = 200;
        assert_eq!(key(&ev), 300);
        ev.span_us = Some(500);
        assert_eq!(key(&ev), 600);
        let mut w = Event::new(Kind::Wait, "recvfrom", Stage::DataReadyCopy);
        w.t_us = 100;
        assert_eq!(key(&w), 100);
    }
}

#[cfg(test)]
mod folding {
    use super::*;

    #[derive(Default)]
    struct Seen {
        shown: Vec<Event>,
        counted: u64,
    }

    impl Out for Seen {
        fn show(&mut self, ev: &Event) {
            self.shown.push(ev.clone());
        }
        fn count(&mut self, ev: &Event) {
            self.counted += ev.count;
        }
        fn lost(&mut self, _: u64) {}
    }

    fn made(t: u64, call: &'static str, foldable: bool) -> Made {
        let mut ev = Event::new(Kind::Kernel, call, Stage::DataReady);
        ev.t_us = t;
        ev.tid = 7;
        Made {
            ev,
            subject: 7,
            foldable,
            sig: call.to_string(),
            note: Box::new(String::new),
        }
    }

    fn merge(cap: u64) -> Merge {
        Merge::new(
            Names::new(1, 2, false, crate::kernel::Scope::All),
            Instant::now(),
            cap,
        )
    }

    #[test]
    fn repeats_are_shown_twice_then_counted_until_something_else_happens() {
        let mut m = merge(100);
        let mut out = Seen::default();
        for t in 0..10 {
            m.fold(made(t * 10, "sched_switch", true), &mut out);
        }
        m.fold(made(200, "sock_recv_length", false), &mut out);
        let lines: Vec<(&str, u64, u64, Option<u64>)> = out
            .shown
            .iter()
            .map(|e| (e.call, e.t_us, e.count, e.span_us))
            .collect();
        assert_eq!(
            lines,
            vec![
                ("sched_switch", 0, 1, None),
                ("sched_switch", 10, 1, None),
                ("sched_switch", 20, 8, Some(70)),
                ("sock_recv_length", 200, 1, None),
            ]
        );
        assert!(out.shown[2].note.starts_with("the same again"));
    }

    #[test]
    fn past_the_cap_lines_are_counted_not_shown() {
        let mut m = merge(2);
        let mut out = Seen::default();
        for t in 0..5 {
            m.fold(made(t, "sk_data_ready", false), &mut out);
        }
        assert_eq!((out.shown.len(), out.counted, m.not_shown), (2, 3, 3));
    }
}
