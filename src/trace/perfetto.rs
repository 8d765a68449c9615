//! `--format perfetto`: the run as Chrome's Trace Event JSON (its "JSON Object Format"), which
//! ui.perfetto.dev and chrome://tracing open. A process per model, a named thread per lane
//! (server threads first), every call a complete event (`X`) with its stage as category,
//! client actions as instants, and a flow arrow from each client send to the call that took
//! its bytes.

use super::timeline::{Lane, LaneKind, Timeline};
use serde::Serialize;
use serde_json::{Value, json};
use std::io::Write;

/// One trace event; the field names are the format's.
#[derive(Serialize)]
struct TraceEvent {
    name: String,
    ph: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cat: Option<&'static str>,
    ts: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    dur: Option<u64>,
    pid: usize,
    tid: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    /// An instant's scope (`t`: its thread).
    #[serde(skip_serializing_if = "Option::is_none")]
    s: Option<&'static str>,
    /// A flow end's binding point (`e`: the enclosing slice).
    #[serde(skip_serializing_if = "Option::is_none")]
    bp: Option<&'static str>,
    #[serde(skip_serializing_if = "Value::is_null")]
    args: Value,
}

impl TraceEvent {
    fn new(name: impl Into<String>, ph: &'static str, pid: usize, tid: usize) -> TraceEvent {
        TraceEvent {
            name: name.into(),
            ph,
            cat: None,
            ts: 0,
            dur: None,
            pid,
            tid,
            id: None,
            s: None,
            bp: None,
            args: Value::Null,
        }
    }
}

#[derive(Serialize)]
struct Document {
    #[serde(rename = "traceEvents")]
    trace_events: Vec<TraceEvent>,
    #[serde(rename = "displayTimeUnit")]
    display_time_unit: &'static str,
}

/// A thread's name on its track: which lane, and the OS thread behind a server's.
fn thread_name(lane: &Lane) -> String {
    match (lane.kind, lane.tid) {
        (LaneKind::Server, Some(tid)) => format!("{} (tid {tid})", lane.name),
        _ => lane.name.clone(),
    }
}

/// A box or a round trip, for the nesting check of its track.
struct Slice {
    tid: usize,
    ts: u64,
    end: u64,
    event: TraceEvent,
}

/// Emits a track's slices: complete events where they nest, async begin/end pairs where one
/// would cross another's end (the interleaved calls of a folded spin run span the same time).
fn nest(mut slices: Vec<Slice>, out: &mut Vec<TraceEvent>, next_id: &mut usize) {
    // Longest first at a shared start, so that the shorter one nests inside.
    slices.sort_by_key(|s| (s.tid, s.ts, std::cmp::Reverse(s.end)));
    let mut open: Vec<(usize, u64)> = Vec::new();
    for mut s in slices {
        open.retain(|&(tid, end)| tid == s.tid && end > s.ts);
        if open.last().is_none_or(|&(_, end)| s.end <= end) {
            open.push((s.tid, s.end));
            out.push(s.event);
            continue;
        }
        *next_id += 1;
        s.event.ph = "b";
        s.event.id = Some(*next_id);
        s.event.dur = None;
        let mut end = TraceEvent::new(s.event.name.clone(), "e", s.event.pid, s.tid);
        (end.cat, end.id, end.ts) = (s.event.cat, s.event.id, s.end);
        out.push(s.event);
        out.push(end);
    }
}

/// Writes the timelines (one process each) as one trace document.
pub fn write(out: &mut impl Write, timelines: &[Timeline]) -> std::io::Result<()> {
    let mut events = Vec::new();
    let mut next_id = 0;
    for (p, t) in timelines.iter().enumerate() {
        let pid = p + 1;
        let mut meta = |name: &str, tid: usize, args: Value| {
            let mut ev = TraceEvent::new(name, "M", pid, tid);
            ev.args = args;
            events.push(ev);
        };
        meta("process_name", 0, json!({ "name": t.model }));
        meta("process_sort_index", 0, json!({ "sort_index": p }));
        for (i, lane) in t.lanes.iter().enumerate() {
            meta("thread_name", i + 1, json!({ "name": thread_name(lane) }));
            meta("thread_sort_index", i + 1, json!({ "sort_index": i }));
        }
        let mut slices: Vec<Slice> = t
            .calls
            .iter()
            .map(|c| {
                let name = match c.count {
                    1 => c.call.clone(),
                    n => format!("{} ×{n}", c.call),
                };
                let mut ev = TraceEvent::new(name, "X", pid, c.lane + 1);
                (ev.cat, ev.ts, ev.dur) = (Some(c.stage.name()), c.t_us, Some(c.len_us));
                // A folded run's slice spans first start to last end (`span_us`, as in the
                // JSON trace); the time inside its calls is less.
                ev.args = json!({
                    "call": c.call, "args": c.args, "fd": c.fd, "result": c.ret,
                    "errno": c.errno, "gloss": c.note, "count": c.count,
                    "span_us": (c.count > 1).then_some(c.len_us), "inside_us": c.dur_us,
                });
                Slice {
                    tid: c.lane + 1,
                    ts: c.t_us,
                    end: c.end_us(),
                    event: ev,
                }
            })
            .collect();
        slices.extend(t.trips.iter().map(|r| {
            let mut ev = TraceEvent::new("message", "X", pid, r.lane + 1);
            (ev.cat, ev.ts, ev.dur) = (Some("client"), r.t_us, Some(r.len_us));
            ev.args = json!({ "gloss": r.note });
            Slice {
                tid: r.lane + 1,
                ts: r.t_us,
                end: r.t_us + r.len_us,
                event: ev,
            }
        }));
        nest(slices, &mut events, &mut next_id);
        for m in &t.marks {
            let name = if m.call.is_empty() { &m.note } else { &m.call };
            let mut ev = TraceEvent::new(name.clone(), "i", pid, m.lane + 1);
            (ev.cat, ev.ts, ev.s) = (Some(m.stage.name()), m.t_us, Some("t"));
            ev.args =
                json!({ "gloss": m.note, "step": m.step, "count": m.count, "span_us": m.span_us });
            events.push(ev);
        }
        // From the send (inside its message's slice) to the call that took it.
        for l in &t.links {
            next_id += 1;
            let (send, call) = (&t.marks[l.send], &t.calls[l.call]);
            let mut s = TraceEvent::new("copied by", "s", pid, send.lane + 1);
            (s.cat, s.id, s.ts) = (Some("copy"), Some(next_id), send.t_us);
            s.args = json!({ "how": l.how });
            let mut f = TraceEvent::new("copied by", "f", pid, call.lane + 1);
            (f.cat, f.id, f.ts, f.bp) = (Some("copy"), Some(next_id), l.at_us, Some("e"));
            events.push(s);
            events.push(f);
        }
    }
    let doc = Document {
        trace_events: events,
        display_time_unit: "ms",
    };
    serde_json::to_writer(&mut *out, &doc)?;
    writeln!(out)
}
