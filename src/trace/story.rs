//! One read told by the kernel lane: when a client's bytes arrived in the kernel, when the
//! thread that copied them was woken and ran, where the copy ran, and what the kernel did in
//! between (a signal raised, io_uring task work queued). Figure 6.6's decomposition and the
//! lane's "what to notice" are both read from here, so the two cannot disagree.
//!
//! Every time here is a tracepoint's or a traced call's; which event is "the" arrival or "the"
//! wake-up of a read is chosen by time (the last arrival on that socket before the copy, the
//! first wake-up of the copying thread after it), and the lessons say so.

use super::summary::Peers;
use super::{Event, Kind};
use serde::Serialize;
use serde_json::Value;

/// How far past a call's end (as the trace has it) a kernel event on its thread still counts
/// as inside it: both sides' times are cut to the microsecond, the call's start and length
/// separately, and the copy is the last thing a recv does.
pub const SLACK_US: u64 = 3;

/// One client's message, from its send to the kernel's copy of it into the server's buffer.
#[derive(Clone, Debug, Serialize)]
pub struct Read {
    pub client: String,
    /// The client's `send` (µs on the trace's clock).
    pub sent_us: u64,
    /// `sock:sk_data_ready` on the server's socket for it: stage ① is over.
    pub arrived_us: u64,
    /// `sched:sched_wakeup` of the copying thread after the arrival, if it was asleep.
    pub woken_us: Option<u64>,
    /// `sched:sched_switch` to the copying thread after the arrival, if it was off the CPU
    /// and the kernel recorded the switch (measured here: after a wake-up on an idle CPU the
    /// kernel sometimes emits none, even to an unfiltered instance).
    pub running_us: Option<u64>,
    /// `signal:signal_generate` after the arrival (signal-driven I/O).
    pub signal_us: Option<u64>,
    /// `io_uring:io_uring_task_add` after the arrival: the retry queued for the ring's thread.
    pub task_add_us: Option<u64>,
    /// Where the copy path began: the start of the call the copy ran inside, or the thread's
    /// running again inside it when it had slept there (its wake-up, when no switch was
    /// recorded).
    pub path_us: u64,
    /// `sock:sock_recv_length`: the copy is done.
    pub copied_us: u64,
    pub bytes: i64,
    /// The thread the copy ran on, and whose it is (`server`, `server/2`).
    pub tid: i64,
    pub on: String,
    /// The traced call the copy ran inside (`recvfrom`, `io_uring_enter`).
    pub inside: Option<&'static str>,
    /// The end of the copying thread's last "not yet" (`EAGAIN`) on this socket before the
    /// arrival: the data came between that answer and the call that copied it.
    pub last_eagain_us: Option<u64>,
    /// The copying thread's call when the data arrived: where it was while the bytes waited
    /// (`recvfrom(5=A)` on another client's socket, `epoll_pwait(4)`).
    pub busy_in: Option<String>,
}

impl Read {
    /// From the arrival to the copy's end: how long the bytes sat in the kernel.
    pub fn queued_us(&self) -> u64 {
        self.copied_us.saturating_sub(self.arrived_us)
    }

    /// From the arrival to the kernel's waking the thread (`None`: it was not asleep).
    pub fn wake_us(&self) -> Option<u64> {
        self.woken_us.map(|w| w.saturating_sub(self.arrived_us))
    }

    /// The copy path: from where it began to `sock_recv_length`.
    pub fn copy_us(&self) -> u64 {
        self.copied_us.saturating_sub(self.path_us)
    }
}

fn field(ev: &Event, name: &str) -> Option<i64> {
    ev.fields.as_ref()?.get(name).and_then(Value::as_i64)
}

fn kernel<'a>(ev: &'a Event, tracepoint: &str) -> Option<&'a Event> {
    (ev.kind == Kind::Kernel && ev.call == tracepoint).then_some(ev)
}

/// A server-side copy of a client's bytes (not an end of stream, not a client's own read).
fn server_copy(ev: &Event) -> bool {
    kernel(ev, "sock_recv_length").is_some()
        && ev.end == Some("server")
        && ev.client.is_some()
        && ev.ret.is_some_and(|n| n > 0)
}

/// Every client message the lane saw copied into the server, in time order: each server-side
/// `sock_recv_length` with what led to it. `events` in any order.
pub fn reads(events: &[Event]) -> Vec<Read> {
    let mut by_time: Vec<&Event> = events.iter().collect();
    by_time.sort_by_key(|e| e.t_us);
    let mut out = Vec::new();
    // Each client's copies so far: the n-th copy of a client follows its n-th send or later.
    let mut last_copy: std::collections::HashMap<&str, u64> = Default::default();
    // Each call's descriptor named as it was at that moment (a closed number is reused).
    let mut peers = Peers::default();
    let named: Vec<Option<String>> = by_time
        .iter()
        .map(|ev| {
            peers.observe(ev);
            let name = (ev.kind == Kind::Syscall)
                .then(|| peers.client_of(ev).map(str::to_string))
                .flatten();
            if ev.closes() {
                peers.closed(ev);
            }
            name
        })
        .collect();
    for (i, ev) in by_time.iter().enumerate() {
        if !server_copy(ev) {
            continue;
        }
        let client = ev.client.as_deref().unwrap_or_default();
        let after = last_copy.insert(client, ev.t_us).unwrap_or(0);
        if let Some(r) = read(&by_time[..=i], &named, ev, client, after) {
            out.push(r);
        }
    }
    out
}

/// The story of the copy `copy` (the last of `before`; `named[i]`: the client behind
/// `before[i]`'s descriptor then), whose previous copy for the same client ended at `after`.
fn read(
    before: &[&Event],
    named: &[Option<String>],
    copy: &Event,
    client: &str,
    after: u64,
) -> Option<Read> {
    let is_client = |e: &&&Event| e.client.as_deref() == Some(client);
    let sent_us = before
        .iter()
        .filter(|e| e.kind == Kind::Client && e.call == "send" && e.t_us >= after)
        .find(is_client)?
        .t_us;
    let arrived_us = before
        .iter()
        .rev()
        .filter_map(|e| kernel(e, "sk_data_ready"))
        .find(|e| e.end == Some("server") && e.client.as_deref() == Some(client))
        .map(|e| e.t_us)
        .filter(|t| *t >= sent_us)?;
    let since = |e: &&&Event| e.t_us >= arrived_us;
    let tid = copy.tid;
    let first = |tracepoint: &str, pid_field: Option<&str>| {
        before
            .iter()
            .filter(since)
            .filter_map(|e| kernel(e, tracepoint))
            .find(|e| pid_field.is_none_or(|f| field(e, f) == Some(tid)))
            .map(|e| e.t_us)
    };
    // The thread's call when the data came: a wake-up counts for this read only if the
    // thread was waiting for it (a wait for readiness or completions, or a recv on this very
    // socket), not serving another client.
    let busy = before.iter().rposition(|e| {
        e.kind == Kind::Syscall
            && e.tid == tid
            && e.t_us <= arrived_us
            && arrived_us <= e.t_us + e.span_us.unwrap_or(e.dur_us)
    });
    let waiting_for_it =
        busy.is_none_or(|i| named[i].is_none() || named[i].as_deref() == Some(client));
    let busy_in = busy.map(|i| {
        let b = before[i];
        match (b.fd, &named[i]) {
            (Some(fd), Some(c)) => format!("{}({fd}={c})", b.call),
            (Some(fd), None) => format!("{}({fd})", b.call),
            (None, _) => b.call.to_string(),
        }
    });
    // Off the CPU when the data came (its last switch before it was out): when it ran again.
    let off_cpu = before
        .iter()
        .rev()
        .filter(|e| e.t_us < arrived_us)
        .filter_map(|e| kernel(e, "sched_switch"))
        .find_map(|e| {
            if field(e, "prev_pid") == Some(tid) {
                Some(true)
            } else {
                (field(e, "next_pid") == Some(tid)).then_some(false)
            }
        })
        .unwrap_or(false);
    let off_cpu = off_cpu && waiting_for_it;
    let switched_in = first("sched_switch", Some("next_pid")).filter(|_| off_cpu);
    let woken_us = first("sched_wakeup", Some("pid"))
        .filter(|w| off_cpu && switched_in.is_none_or(|r| *w <= r));
    // A switch-in counts only if nothing shows the thread running before it: an event of its
    // own (a tracepoint on it, a call of its returning) means the kernel did not record the
    // switch that let it run, and a later one is another story.
    let alive = woken_us.and_then(|w| {
        before
            .iter()
            .filter(|e| e.tid == tid && matches!(e.kind, Kind::Kernel | Kind::Syscall))
            .filter_map(|e| {
                let end = e.t_us + e.dur_us;
                if e.t_us >= w {
                    Some(e.t_us)
                } else {
                    (e.kind == Kind::Syscall && end >= w).then_some(end)
                }
            })
            .min()
    });
    let running_us = switched_in.filter(|r| alive.is_none_or(|a| *r <= a));
    let back = running_us.or(woken_us);
    // Where one call ended and the next began within the slack, the copy is the first's: it
    // is the last thing a recv does.
    let call = before
        .iter()
        .filter(|e| {
            e.kind == Kind::Syscall
                && e.tid == tid
                && e.count == 1
                && e.t_us <= copy.t_us
                && copy.t_us <= e.t_us + e.dur_us + SLACK_US
        })
        .min_by_key(|e| e.t_us);
    let path_us = match (call, back) {
        (Some(c), Some(r)) => c.t_us.max(r),
        (Some(c), None) => c.t_us,
        (None, r) => r.unwrap_or(arrived_us),
    };
    let last_eagain_us = before
        .iter()
        .filter(|e| {
            e.kind == Kind::Syscall
                && e.tid == tid
                && e.fd == copy.fd
                && e.would_block()
                && e.t_us <= arrived_us
        })
        .map(|e| e.t_us + e.span_us.unwrap_or(e.dur_us))
        .max()
        .filter(|t| *t >= sent_us);
    Some(Read {
        client: client.to_string(),
        sent_us,
        arrived_us,
        woken_us,
        running_us,
        signal_us: first("signal_generate", None),
        task_add_us: first("io_uring_task_add", None),
        path_us,
        copied_us: copy.t_us,
        bytes: copy.ret.unwrap_or(0),
        tid,
        on: copy.on.as_deref().unwrap_or("server").to_string(),
        inside: copy.inside,
        last_eagain_us,
        busy_in,
    })
}

/// The kernel lane's "what to notice": the lessons its events show, drawn from this run's
/// numbers. Nothing when the lane did not run or saw no copy.
pub fn lessons(events: &[Event], counts: &std::collections::BTreeMap<&str, u64>) -> Vec<String> {
    use super::text::{ms, took};
    let reads = reads(events);
    let Some(first) = reads.first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(h) = handshake(events) {
        out.push(h);
    }
    // The bytes that waited longest in the kernel, and where the thread was meanwhile.
    let longest = reads.iter().max_by_key(|r| r.queued_us()).unwrap_or(first);
    let where_ = |r: &Read| {
        r.busy_in
            .as_ref()
            .map(|call| crate::t!("story-busy-in", call = call))
            .unwrap_or_default()
    };
    out.push(crate::t!(
        "story-longest",
        client = &longest.client,
        bytes = longest.bytes.to_string(),
        at = ms(longest.arrived_us),
        queued = took(longest.queued_us()),
        // A library's thread (the lane's `on`: "glibc helper") or one of the server's own.
        who = match longest.on.as_str() {
            "io_uring thread" => crate::t!("story-who-uring"),
            on => match on.strip_suffix(" helper") {
                Some(lib) => crate::t!("story-who-helper", lib = lib),
                None => crate::t!("story-who-server"),
            },
        },
        inside = longest
            .inside
            .map_or_else(|| crate::t!("story-inside-unknown"), str::to_string),
        busy = if longest.queued_us() >= 1_000 {
            where_(longest)
        } else {
            String::new()
        }
    ));
    let mut wakes: Vec<u64> = reads.iter().filter_map(Read::wake_us).collect();
    if !wakes.is_empty() {
        wakes.sort_unstable();
        out.push(crate::t!(
            "story-woken",
            n = wakes.len().to_string(),
            total = reads.len().to_string(),
            took = took(wakes[wakes.len() / 2])
        ));
    }
    if let Some(r) = reads.iter().find(|r| r.last_eagain_us.is_some()) {
        let eagain = r.last_eagain_us.unwrap_or(r.arrived_us);
        out.push(crate::t!(
            "story-eagain",
            client = &r.client,
            after = took(r.arrived_us.saturating_sub(eagain)),
            copied = took(r.copied_us.saturating_sub(r.arrived_us))
        ));
    }
    if let Some(r) = reads.iter().find(|r| r.signal_us.is_some()) {
        out.push(crate::t!(
            "story-signal",
            took = took(r.signal_us.unwrap_or(r.arrived_us) - r.arrived_us),
            client = &r.client
        ));
    }
    let in_enter = reads
        .iter()
        .filter(|r| r.inside == Some("io_uring_enter"))
        .count();
    if in_enter > 0 {
        let count = |tp: &str| counts.get(tp).copied().unwrap_or(0);
        out.push(crate::t!(
            "story-uring",
            armed = count("io_uring_poll_arm").to_string(),
            added = count("io_uring_task_add").to_string(),
            inside = in_enter.to_string(),
            copies = reads.len().to_string()
        ));
    }
    out
}

/// The first client's handshake, finished in the kernel before the server accepted it.
fn handshake(events: &[Event]) -> Option<String> {
    use super::text::{ms, took};
    const TCP_ESTABLISHED: i64 = 1;
    const TCP_SYN_RECV: i64 = 3;
    let done = events
        .iter()
        .filter_map(|e| kernel(e, "inet_sock_set_state"))
        .find(|e| {
            field(e, "oldstate") == Some(TCP_SYN_RECV)
                && field(e, "newstate") == Some(TCP_ESTABLISHED)
        })?;
    let port = u16::try_from(field(done, "dport")?).ok()?;
    let accept = events.iter().find(|e| {
        matches!(e.kind, Kind::Syscall | Kind::Op) && e.port == Some(port) && e.ret.is_some()
    })?;
    let accepted = accept.t_us + accept.dur_us;
    Some(crate::t!(
        "story-handshake",
        client = done
            .client
            .clone()
            .unwrap_or_else(|| crate::t!("story-first-client")),
        at = ms(done.t_us),
        call = accept.call,
        later = took(accepted.saturating_sub(done.t_us))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Stage;

    /// The first of `client`'s messages the lane saw copied.
    fn first_read(events: &[Event], client: &str) -> Option<Read> {
        reads(events).into_iter().find(|r| r.client == client)
    }
    use serde_json::json;
    use std::sync::Arc;

    const SERVER: i64 = 100;

    fn syscall(t: u64, dur: u64, call: &'static str, fd: Option<i64>) -> Event {
        let mut ev = Event::new(Kind::Syscall, call, Stage::DataReady);
        (ev.t_us, ev.dur_us, ev.tid, ev.fd) = (t, dur, SERVER, fd);
        ev.actor = Arc::from("server");
        ev
    }

    fn accept(t: u64, fd: i64, port: u16) -> Event {
        let mut ev = syscall(t, 1, "accept4", Some(3));
        (ev.ret, ev.port) = (Some(fd), Some(port));
        ev
    }

    fn client(t: u64, name: &str, call: &'static str, port: Option<u16>) -> Event {
        let mut ev = Event::new(Kind::Client, call, Stage::Client);
        (ev.t_us, ev.client, ev.port) = (t, Some(name.into()), port);
        ev
    }

    fn kernel(t: u64, tid: i64, tp: &'static str, client: Option<&str>, fields: Value) -> Event {
        let mut ev = Event::new(Kind::Kernel, tp, Stage::DataReady);
        (ev.t_us, ev.tid, ev.end) = (t, tid, Some("server"));
        ev.client = client.map(str::to_string);
        ev.fields = fields.as_object().cloned();
        ev
    }

    /// `sched_switch` from `prev` to `next`, recorded on thread `on`.
    fn switch(t: u64, on: i64, prev: i64, next: i64) -> Event {
        let fields = json!({"prev_pid": prev, "next_pid": next});
        kernel(t, on, "sched_switch", None, fields)
    }

    fn copy(t: u64, name: &str, fd: i64) -> Event {
        let mut ev = kernel(t, SERVER, "sock_recv_length", Some(name), json!({}));
        (ev.ret, ev.fd, ev.inside) = (Some(6), Some(fd), Some("recvfrom"));
        ev.on = Some(Arc::from("server"));
        ev
    }

    /// A sleeps in epoll_pwait; A's data arrives, the thread is woken, runs, and reads it.
    fn epoll_run() -> Vec<Event> {
        vec![
            client(0, "A", "connect", Some(5000)),
            accept(10, 5, 5000),
            switch(20, SERVER, SERVER, 0),
            client(1_000, "A", "send", None),
            kernel(1_050, 7, "sk_data_ready", Some("A"), json!({})),
            kernel(1_060, 0, "sched_wakeup", None, json!({"pid": SERVER})),
            switch(1_080, 0, 0, SERVER),
            syscall(15, 1_075, "epoll_pwait", Some(4)),
            syscall(1_100, 12, "recvfrom", Some(5)),
            copy(1_110, "A", 5),
        ]
    }

    #[test]
    fn a_read_is_split_at_the_arrival_the_wake_up_and_the_copy() {
        let r = first_read(&epoll_run(), "A").expect("A's read");
        assert_eq!((r.sent_us, r.arrived_us), (1_000, 1_050));
        assert_eq!((r.woken_us, r.running_us), (Some(1_060), Some(1_080)));
        assert_eq!((r.path_us, r.copied_us, r.copy_us()), (1_100, 1_110, 10));
        assert_eq!(r.wake_us(), Some(10));
        assert_eq!(r.busy_in.as_deref(), Some("epoll_pwait(4)"));
        assert_eq!(r.inside, Some("recvfrom"));
    }

    #[test]
    fn a_wake_up_while_serving_another_client_is_not_this_reads() {
        // Blocking: B's bytes arrive while the thread sleeps in recvfrom on A's socket; the
        // wake-up that follows is A's data, not B's.
        let events = vec![
            client(0, "A", "connect", Some(5000)),
            client(1, "B", "connect", Some(5001)),
            accept(10, 5, 5000),
            switch(20, SERVER, SERVER, 0),
            client(100, "B", "send", None),
            kernel(110, 8, "sk_data_ready", Some("B"), json!({})),
            kernel(500, 0, "sched_wakeup", None, json!({"pid": SERVER})),
            syscall(15, 495, "recvfrom", Some(5)),
            accept(600, 6, 5001),
            syscall(610, 5, "recvfrom", Some(6)),
            copy(614, "B", 6),
        ];
        let r = first_read(&events, "B").expect("B's read");
        assert_eq!(r.queued_us(), 504);
        assert_eq!((r.woken_us, r.running_us), (None, None));
        assert_eq!(r.busy_in.as_deref(), Some("recvfrom(5=A)"));
        assert_eq!(r.path_us, 610);
    }

    #[test]
    fn no_copy_seen_means_no_lessons() {
        let mut events = epoll_run();
        events.pop();
        assert!(reads(&events).is_empty());
        assert!(lessons(&events, &Default::default()).is_empty());
    }

    #[test]
    fn the_lessons_name_the_wait_in_the_kernel_and_the_wake_up() {
        let lessons = lessons(&epoll_run(), &Default::default());
        assert!(
            lessons.iter().any(
                |l| l.starts_with("A's 6 bytes arrived in the kernel at 1.1 ms")
                    && l.contains("sat there 60 µs")
            ),
            "{lessons:?}"
        );
        assert!(
            lessons.iter().any(|l| l.starts_with("1 of 1 messages")
                && l.contains("woke it (sched_wakeup) 10 µs after")),
            "{lessons:?}"
        );
    }
}
