//! A run laid out on one time axis, for the renderers that draw it (`--format perfetto`,
//! `--html`): a lane per server thread, per client and for the kernel; every call a box at
//! its recorded time and length; client actions and remarks as marks; each client send
//! linked to the server call that took its bytes (the summary's own matching, so the
//! timelines and the numbers cannot disagree).

use super::story::{Read, SLACK_US, reads};
use super::summary::{Peers, Summary};
use super::{Event, Kind, Stage};
use serde::Serialize;
use std::collections::HashMap;

/// How far a call may seem to overlap the next on its thread from rounding alone (µs).
const ROUNDING_US: u64 = 1;

/// Whose lane it is: server threads come first, then the clients, the kernel, the harness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LaneKind {
    Server,
    Client,
    Kernel,
    Harness,
}

#[derive(Debug, Serialize)]
pub struct Lane {
    /// `server`, `server/2`, `client A`, `kernel`, `harness`.
    pub name: String,
    pub kind: LaneKind,
    /// The OS thread id of a server thread.
    pub tid: Option<i64>,
}

/// One box: a call (a collapsed run of identical calls: `count` > 1), or a run of other work.
#[derive(Debug, Serialize)]
pub struct Call {
    pub lane: usize,
    /// Row within the lane: overlapping boxes (a folded run of interleaved spins) stack.
    pub row: usize,
    pub t_us: u64,
    /// Its drawn length: the call's own, or first start to last end of a collapsed run.
    pub len_us: u64,
    /// Time spent inside the call(s) (the sum over a collapsed run).
    pub dur_us: u64,
    pub count: u64,
    pub kind: Kind,
    pub stage: Stage,
    /// The call as people read it (`⟨recv⟩` for an operation, `glibc aio_read`).
    pub call: String,
    pub args: String,
    /// The descriptor, named after its client when it is a connection (`5=A`).
    pub fd: Option<String>,
    pub ret: Option<i64>,
    pub errno: Option<&'static str>,
    pub note: String,
}

impl Call {
    pub fn end_us(&self) -> u64 {
        self.t_us + self.len_us
    }
}

/// An instant: a client's action, a remark, a kernel tracepoint.
#[derive(Debug, Serialize)]
pub struct Mark {
    pub lane: usize,
    pub t_us: u64,
    pub call: String,
    pub stage: Stage,
    pub note: String,
    /// A scripted step this acts out (client actions).
    pub step: Option<usize>,
    /// A folded kernel line: how many events, over how long.
    pub count: u64,
    pub span_us: Option<u64>,
}

/// A client message from its send until its echo came back (both client events, paired in
/// the client's own order: its n-th echo checks its n-th send). None in a chat.
#[derive(Debug, Serialize)]
pub struct Trip {
    pub lane: usize,
    /// The send's mark.
    pub send: usize,
    pub t_us: u64,
    pub len_us: u64,
    pub note: String,
}

/// A client's send and the server call that took its bytes.
#[derive(Debug, Serialize)]
pub struct Link {
    /// The send's mark and the copying call.
    pub send: usize,
    pub call: usize,
    /// Where the arrow ends: the call's start, or the send itself when the call was already
    /// waiting then (a blocking recv), never past the call's end.
    pub at_us: u64,
    /// How the two were matched, for the hover text: by the descriptor's client and order
    /// (what user space can know), and, with the kernel lane, what the kernel saw.
    pub how: String,
}

#[derive(Debug, Serialize)]
pub struct Timeline {
    pub model: String,
    pub title: String,
    /// The end of the last event (µs since the run started).
    pub end_us: u64,
    pub lanes: Vec<Lane>,
    pub calls: Vec<Call>,
    pub marks: Vec<Mark>,
    pub trips: Vec<Trip>,
    pub links: Vec<Link>,
}

/// The lane an event belongs on.
fn lane_of(ev: &Event) -> (LaneKind, String) {
    match ev.kind {
        // The lane's own remarks (what it leaves out, what was lost) too.
        _ if ev.kind == Kind::Kernel || ev.actor.as_ref() == "kernel" => {
            (LaneKind::Kernel, "kernel".into())
        }
        Kind::Client => (LaneKind::Client, ev.actor.to_string()),
        _ if ev.actor.as_ref() == "harness" => (LaneKind::Harness, "harness".into()),
        _ if ev.actor.starts_with("client") => (LaneKind::Client, ev.actor.to_string()),
        _ => (LaneKind::Server, ev.actor.to_string()),
    }
}

/// An event drawn as a box: a call of the server's, or a run of its other work.
fn is_box(ev: &Event) -> bool {
    matches!(ev.kind, Kind::Syscall | Kind::Op | Kind::Library)
        || (ev.kind == Kind::Info && ev.stage == Stage::Work)
}

impl Timeline {
    /// Lays out a run's events (in the order they arrived) with the summary that counted them.
    pub fn new(model: &str, title: &str, events: &[Event], summary: &Summary) -> Timeline {
        let mut lanes: Vec<(LaneKind, String, Option<i64>)> = Vec::new();
        for ev in events.iter().filter(|e| e.kind != Kind::Wait) {
            let (kind, name) = lane_of(ev);
            if !lanes.iter().any(|(k, n, _)| *k == kind && *n == name) {
                let tid = (kind == LaneKind::Server && ev.tid != 0).then_some(ev.tid);
                lanes.push((kind, name, tid));
            }
        }
        // Server threads in the order they appeared, clients by name.
        lanes.sort_by(|a, b| match (a.0, b.0) {
            (LaneKind::Server, LaneKind::Server) => std::cmp::Ordering::Equal,
            (x, y) if x == y => a.1.cmp(&b.1),
            (x, y) => x.cmp(&y),
        });
        let index = |ev: &Event| {
            let (kind, name) = lane_of(ev);
            lanes
                .iter()
                .position(|(k, n, _)| *k == kind && *n == name)
                .expect("every event's lane was made")
        };
        let mut t = Timeline {
            model: model.to_string(),
            title: title.to_string(),
            end_us: 0,
            lanes: Vec::new(),
            calls: Vec::new(),
            marks: Vec::new(),
            trips: Vec::new(),
            links: Vec::new(),
        };
        let mut peers = Peers::default();
        // Each copying call, by its thread and start, and each client's sends, by time.
        let mut call_at: HashMap<(i64, u64), usize> = HashMap::new();
        let mut sends: HashMap<(String, u64), usize> = HashMap::new();
        for ev in events {
            peers.observe(ev);
            let fd = peers.fd_label(ev);
            if ev.closes() {
                peers.closed(ev);
            }
            let len = ev.span_us.unwrap_or(ev.dur_us);
            t.end_us = t.end_us.max(ev.t_us + len);
            // A "… blocks" announcement is the same call as the line that ends it: drawn once.
            if ev.kind == Kind::Wait {
                continue;
            }
            let lane = index(ev);
            if is_box(ev) {
                call_at.insert((ev.tid, ev.t_us), t.calls.len());
                t.calls.push(Call {
                    lane,
                    row: 0,
                    t_us: ev.t_us,
                    len_us: len,
                    dur_us: ev.dur_us,
                    count: ev.count,
                    kind: ev.kind,
                    stage: ev.stage,
                    call: ev.named(),
                    args: ev.args.clone(),
                    fd,
                    ret: ev.ret,
                    errno: ev.errno,
                    note: ev.note.clone(),
                });
                continue;
            }
            if ev.kind == Kind::Client
                && ev.call == "send"
                && let Some(c) = &ev.client
            {
                sends.insert((c.clone(), ev.t_us), t.marks.len());
            }
            t.marks.push(Mark {
                lane,
                t_us: ev.t_us,
                call: match ev.kind {
                    Kind::Kernel => ev.tracepoint.unwrap_or(ev.call).to_string(),
                    _ => ev.call.to_string(),
                },
                stage: ev.stage,
                note: ev.note.clone(),
                step: ev.step,
                count: ev.count,
                span_us: ev.span_us,
            });
        }
        t.lanes = lanes
            .into_iter()
            .map(|(kind, name, tid)| Lane { name, kind, tid })
            .collect();
        t.settle_rounding();
        t.stack_rows();
        // A chat member's checks are of lines the others said, not echoes of its own sends:
        // there is no round trip to draw (its sends still link to the calls that took them).
        if !summary.chat() {
            t.trips(events, &sends);
        }
        let story = (!summary.story.is_empty()).then(|| reads(&summary.story));
        for w in &summary.waits {
            let Some(&call) = w.copied_by.and_then(|at| call_at.get(&at)) else {
                continue;
            };
            for sent in &w.sent_us {
                let Some(&send) = sends.get(&(w.client.clone(), *sent)) else {
                    continue;
                };
                let how = t.how(call, story.as_deref(), &w.client, *sent);
                let c = &t.calls[call];
                let at_us = (*sent).clamp(c.t_us, c.end_us().saturating_sub(1).max(c.t_us));
                t.links.push(Link {
                    send,
                    call,
                    at_us,
                    how,
                });
            }
        }
        t
    }

    /// A call's start and length are each cut to the microsecond, so a call can seem to begin
    /// up to [`ROUNDING_US`] before the one before it on its thread ended: that one's drawn
    /// length ends where the next begins (its time inside, `dur_us`, stays as recorded), so
    /// that calls in sequence stay in sequence.
    fn settle_rounding(&mut self) {
        let mut order: Vec<usize> = (0..self.calls.len()).collect();
        order.sort_by_key(|&i| (self.calls[i].lane, self.calls[i].t_us));
        for pair in order.windows(2) {
            let (a, b) = (&self.calls[pair[0]], &self.calls[pair[1]]);
            let crosses = a.lane == b.lane && b.t_us < a.end_us() && a.end_us() < b.end_us();
            if crosses && a.end_us() - b.t_us <= ROUNDING_US {
                self.calls[pair[0]].len_us = b.t_us - a.t_us;
            }
        }
    }

    /// Puts each box on the first row of its lane where it overlaps nothing.
    fn stack_rows(&mut self) {
        let mut order: Vec<usize> = (0..self.calls.len()).collect();
        order.sort_by_key(|&i| (self.calls[i].lane, self.calls[i].t_us));
        // Per lane, each row's end so far.
        let mut ends: HashMap<usize, Vec<u64>> = HashMap::new();
        for i in order {
            let c = &mut self.calls[i];
            let rows = ends.entry(c.lane).or_default();
            let row = match rows.iter().position(|&end| end <= c.t_us) {
                Some(r) => r,
                None => {
                    rows.push(0);
                    rows.len() - 1
                }
            };
            rows[row] = c.t_us + c.len_us;
            c.row = row;
        }
    }

    /// Each client's messages, send to echo: its n-th echo is the check of its n-th send.
    fn trips(&mut self, events: &[Event], sends: &HashMap<(String, u64), usize>) {
        let mut pending: HashMap<&str, std::collections::VecDeque<usize>> = HashMap::new();
        let mut by_time: Vec<&Event> = events.iter().filter(|e| e.kind == Kind::Client).collect();
        by_time.sort_by_key(|e| e.t_us);
        for ev in by_time {
            let Some(c) = ev.client.as_deref() else {
                continue;
            };
            match (ev.call, ev.ok) {
                ("send", _) => {
                    if let Some(&m) = sends.get(&(c.to_string(), ev.t_us)) {
                        pending.entry(c).or_default().push_back(m);
                    }
                }
                ("echo", Some(true)) => {
                    if let Some(m) = pending.get_mut(c).and_then(|q| q.pop_front()) {
                        let send = &self.marks[m];
                        self.trips.push(Trip {
                            lane: send.lane,
                            send: m,
                            t_us: send.t_us,
                            len_us: ev.t_us.saturating_sub(send.t_us),
                            note: format!("{} → {}", send.note, ev.note),
                        });
                    }
                }
                _ => {}
            }
        }
    }

    /// How a send was matched to the call that took it, in words.
    fn how(&self, call: usize, story: Option<&[Read]>, client: &str, sent: u64) -> String {
        let c = &self.calls[call];
        let inferred = crate::t!("report-how-inferred", client = client);
        let Some(reads) = story else {
            return inferred;
        };
        let seen = reads.iter().find(|r| {
            r.client == client
                && r.sent_us == sent
                && self.lanes[c.lane].tid == Some(r.tid)
                && c.t_us <= r.copied_us
                && r.copied_us <= c.end_us() + SLACK_US
        });
        match seen {
            Some(r) => crate::t!(
                "report-how-measured",
                arrived = r.arrived_us.to_string(),
                copied = r.copied_us.to_string()
            ),
            None => crate::t!("report-how-no-copy", inferred = inferred),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn server(t: u64, dur: u64, kind: Kind, call: &'static str, stage: Stage) -> Event {
        let mut ev = Event::new(kind, call, stage);
        (ev.t_us, ev.dur_us, ev.tid) = (t, dur, 7);
        ev.actor = Arc::from("server");
        ev
    }

    fn client(t: u64, call: &'static str, port: Option<u16>) -> Event {
        let mut ev = Event::new(Kind::Client, call, Stage::Client);
        (ev.t_us, ev.port, ev.client) = (t, port, Some("A".into()));
        ev.actor = Arc::from("client A");
        ev.bytes = Some(6);
        ev
    }

    /// A blocking read of A's message: announced, then returned; then the echo.
    fn run() -> Vec<Event> {
        let mut accept = server(0, 10, Kind::Syscall, "accept4", Stage::DataReady);
        (accept.ret, accept.port) = (Some(5), Some(4000));
        let mut recv = server(10, 100, Kind::Syscall, "recvfrom", Stage::DataReadyCopy);
        (recv.fd, recv.ret) = (Some(5), Some(6));
        let mut send = server(109, 5, Kind::Syscall, "sendto", Stage::CopyToKernel);
        (send.fd, send.ret) = (Some(5), Some(6));
        let mut echo = client(120, "echo", None);
        echo.ok = Some(true);
        let mut wait = recv.clone();
        (wait.kind, wait.dur_us, wait.ret) = (Kind::Wait, 0, None);
        let mut remark = Event::new(Kind::Info, "", Stage::Setup);
        remark.actor = Arc::from("kernel");
        vec![
            client(0, "connect", Some(4000)),
            accept,
            wait,
            client(50, "send", None),
            recv,
            send,
            echo,
            remark,
        ]
    }

    fn timeline(events: &[Event]) -> Timeline {
        let mut summary = Summary::default();
        events.iter().for_each(|e| summary.add(e));
        Timeline::new("blocking", "", events, &summary)
    }

    #[test]
    fn a_wait_and_its_return_are_one_box_and_each_send_links_to_its_copy() {
        let t = timeline(&run());
        let names: Vec<&str> = t.lanes.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["server", "client A", "kernel"]);
        let calls: Vec<&str> = t.calls.iter().map(|c| c.call.as_str()).collect();
        assert_eq!(calls, ["accept4", "recvfrom", "sendto"]);
        assert_eq!(t.calls[1].fd.as_deref(), Some("5=A"));
        assert_eq!(t.links.len(), 1);
        let (send, copy) = (&t.marks[t.links[0].send], &t.calls[t.links[0].call]);
        assert_eq!((send.call.as_str(), send.t_us), ("send", 50));
        assert_eq!((copy.call.as_str(), copy.t_us), ("recvfrom", 10));
        // The recv was already waiting when A sent: the arrow ends at the send's time.
        assert_eq!(t.links[0].at_us, 50);
        assert!(t.links[0].how.starts_with("inferred"), "{}", t.links[0].how);
        assert_eq!((t.trips[0].t_us, t.trips[0].len_us), (50, 70));
    }

    #[test]
    fn a_one_microsecond_overlap_is_rounding_and_stays_in_sequence() {
        let t = timeline(&run());
        // recvfrom [10, 110] and sendto from 109: recvfrom is drawn to 109, inside 100 µs.
        let recv = &t.calls[1];
        assert_eq!((recv.len_us, recv.dur_us), (99, 100));
        assert!(t.calls.iter().all(|c| c.row == 0));
    }
}
