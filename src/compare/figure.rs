//! Figure 6.6 measured: one read followed through both stages, per model, drawn to scale.

use super::Column;
use super::columns::{is_server, known_clients};
use super::table::{heading, styled};
use crate::trace::story::Read;
use crate::trace::text::{cols, fit, pad, took, wrap};
use crate::trace::{Event, Kind, Stage};
use colored::Colorize;
use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

/// What the process was doing during one stage of the followed read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Blocked,
    Spinning,
    Free,
    /// Running the copy in kernel mode (stage ②, on the thread the copy ran on).
    Copying,
}

impl State {
    /// The state as the figure's line says it.
    fn word(self) -> String {
        match self {
            State::Blocked => crate::t!("fig-blocked"),
            State::Spinning => crate::t!("fig-spinning"),
            State::Free => crate::t!("fig-free"),
            State::Copying => crate::t!("fig-copying"),
        }
    }
}

/// What told a row's model that stage ① was over, in this run's language.
fn told(r: &FigRow) -> String {
    crate::lang::registry(r.model, "told", r.told)
}

/// What a row's ② number is a time of: only the kernel lane sees the copy itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measured {
    /// The length of the call that only copied (a recv after readiness).
    Recv,
    /// One blocking call did both stages: from the client's send to the call's return
    /// (delivery, wake-up and copy together).
    SendToReturn,
    /// A completion: from the client's send to our reading the completion.
    SendToCompletion,
    /// The kernel lane's copy path: from the call's start, or the thread's running again
    /// inside it, to `sock_recv_length`.
    CopyPath,
}

impl Measured {
    /// The call names and arrows read the same in every language; "copy path" is words.
    fn label(self) -> String {
        match self {
            Measured::Recv => "recv".into(),
            Measured::SendToReturn => "send→return".into(),
            Measured::SendToCompletion => "send→CQE".into(),
            Measured::CopyPath => crate::t!("fig-copy-path"),
        }
    }
}

/// One row of figure 6.6: the followed read under one model, as measured.
#[derive(Serialize)]
pub struct FigRow {
    pub model: &'static str,
    /// From when the server began waiting for this data until it arrived (with the kernel
    /// lane: `sk_data_ready`), or else until the client sent it (one call, a completion), or
    /// the process was told (µs).
    pub stage1_us: u64,
    pub stage1: State,
    /// Stage ②, as `stage2_measures` says (µs).
    pub stage2_us: u64,
    pub stage2: State,
    pub stage2_measures: Measured,
    /// Stage ① and ② were one call (a blocking recv).
    pub one_call: bool,
    pub told: &'static str,
    /// `--kernel`: the read as the kernel lane saw it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<Read>,
}

/// Total length of the union of intervals.
fn union_len(mut iv: Vec<(u64, u64)>) -> u64 {
    iv.sort();
    let mut total = 0;
    let mut cur: Option<(u64, u64)> = None;
    for (a, b) in iv {
        match cur {
            Some((ca, cb)) if a <= cb => cur = Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                total += cb - ca;
                cur = Some((a, b));
            }
            None => cur = Some((a, b)),
        }
    }
    total + cur.map_or(0, |(a, b)| b - a)
}

fn clip(iv: (u64, u64), win: (u64, u64)) -> Option<(u64, u64)> {
    let (a, b) = (iv.0.max(win.0), iv.1.min(win.1));
    (a < b).then_some((a, b))
}

fn interval(ev: &Event) -> (u64, u64) {
    (ev.t_us, ev.t_us + ev.span_us.unwrap_or(ev.dur_us))
}

/// A would-block answer from a socket: the process asked and the kernel said "not yet".
fn spin(ev: &Event) -> bool {
    ev.kind == Kind::Syscall && ev.would_block() && ev.fd.is_some()
}

fn waiting(ev: &Event) -> bool {
    // A library's wait too (POSIX AIO's aio_suspend sleeps in a futex inside glibc).
    matches!(ev.kind, Kind::Syscall | Kind::Library)
        && matches!(ev.stage, Stage::DataReady | Stage::DataReadyCopy)
        && !ev.would_block()
}

/// How the process spent a window of time on one thread: (blocked, spinning, free) in µs.
pub(super) fn states(events: &[Event], tid: Option<i64>, win: (u64, u64)) -> (u64, u64, u64) {
    let on = |ev: &&Event| is_server(ev) || ev.stage == Stage::Work;
    let mine = |ev: &&Event| tid.is_none_or(|t| ev.tid == t);
    let pick = |f: fn(&Event) -> bool| -> Vec<(u64, u64)> {
        events
            .iter()
            .filter(on)
            .filter(mine)
            .filter(|e| f(e))
            .filter_map(|e| clip(interval(e), win))
            .collect()
    };
    let blocked = union_len(pick(waiting));
    let spins = pick(spin);
    let spinning = union_len(spins.clone());
    let mut free = pick(|e| e.stage == Stage::Work);
    free.extend(spins);
    let free = union_len(free) - spinning;
    (blocked, spinning, free)
}

/// The message the figure follows: a client's first, or (a chat) the one after its name.
pub(super) struct Followed<'a> {
    pub client: &'a str,
    /// The client's sends before it.
    pub skip: usize,
    /// Their bytes: the message starts at this byte of what the server reads from the client.
    pub offset: i64,
}

/// Figure 6.6 for one model: follow a client's message from the moment the server began
/// waiting for it to the moment the bytes were in the server's buffer.
pub(super) fn fig_row(c: &Column, followed: &Followed) -> Option<FigRow> {
    if c.error.is_some() {
        return None;
    }
    let client = followed.client;
    let mut peers = known_clients(&c.events);
    let mut last_touch: Option<u64> = None;
    let mut fd_of_client: Option<i64> = None;
    let mut sent_at: Option<u64> = None;
    let (mut sends, mut read) = (0, 0);
    for ev in &c.events {
        peers.observe(ev);
        if ev.kind == Kind::Client && ev.client.as_deref() == Some(client) && ev.call == "send" {
            if sends == followed.skip {
                sent_at = Some(ev.t_us);
            }
            sends += 1;
        }
        if !is_server(ev) {
            continue;
        }
        if let Some(port) = ev.port
            && let Some(fd) = ev.ret
            && peers.client_at(port) == Some(client)
        {
            fd_of_client = Some(fd);
        }
        let Some(fd) = fd_of_client else { continue };
        let copied = ev.ret.is_some_and(|n| n > 0)
            && ev.fd == Some(fd)
            && (matches!(ev.stage, Stage::CopyToUser | Stage::DataReadyCopy)
                || ev.received_by_kernel()
                || ev.received_by_library());
        // The read that brought the message's first byte; those before it only touch.
        if copied {
            read += ev.ret.unwrap_or(0);
            if read > followed.offset {
                let start = last_touch.unwrap_or(ev.t_us);
                return Some(measure(c, client, ev, start, sent_at.unwrap_or(ev.t_us)));
            }
        }
        // The server's last act on this connection before the read: accepting it, setting it
        // up, the previous echo. Not a stage-① notice about it (a signal's si_fd, a probe).
        // Nor asking whether a request is done (POSIX AIO's aio_error, just before the read's
        // aio_return).
        let acts_on = ev.fd == Some(fd) && ev.stage != Stage::DataReady && ev.call != "aio_error";
        let touches = (acts_on || (ev.port.is_some() && ev.ret == Some(fd))) && !ev.would_block();
        if touches {
            last_touch = Some(ev.t_us + ev.dur_us);
        }
    }
    None
}

/// The followed read's row: from `start` (the server began waiting) through the copy `ev`,
/// which the kernel lane decomposes when it ran.
fn measure(c: &Column, client: &str, ev: &Event, start: u64, sent_at: u64) -> FigRow {
    let sent = sent_at.max(start);
    let end = ev.t_us + ev.dur_us;
    let story = c
        .reads
        .as_ref()
        .and_then(|reads| reads.iter().find(|r| r.client == client))
        .cloned();
    let (one_call, told, stage2_us, stage2, measured) = match (ev.kind, ev.stage) {
        // One blocking call did both: stage ① ends when the bytes were sent.
        (Kind::Syscall, Stage::DataReadyCopy) => (
            true,
            sent.min(end),
            end.saturating_sub(sent.min(end)),
            State::Copying,
            Measured::SendToReturn,
        ),
        // A completion whose submission slept until the data came (Linux AIO's read of a
        // socket): both stages ran inside that call, as in a blocking recv.
        (Kind::Op, _) if let Some(call_end) = submitted_inside(c, ev.tid, sent) => (
            true,
            sent,
            call_end.saturating_sub(sent),
            State::Copying,
            Measured::SendToReturn,
        ),
        // A completion: stage ① ends when the data was sent; the kernel (or a library's
        // thread: POSIX AIO) copies after.
        (Kind::Op | Kind::Library, _) => {
            let told = sent.min(ev.t_us);
            (
                false,
                told,
                ev.t_us - told,
                State::Free,
                Measured::SendToCompletion,
            )
        }
        _ => (false, ev.t_us, ev.dur_us, State::Copying, Measured::Recv),
    };
    let (told, stage2_us, stage2, measured, tid) = match &story {
        Some(r) => (
            r.arrived_us.max(start),
            r.copy_us(),
            State::Copying,
            Measured::CopyPath,
            r.tid,
        ),
        None => (told, stage2_us, stage2, measured, ev.tid),
    };
    let (b, s, f) = states(&c.events, Some(tid), (start, told));
    let stage1 = if b >= s && b >= f {
        State::Blocked
    } else if s >= f {
        State::Spinning
    } else {
        State::Free
    };
    FigRow {
        model: c.model.name,
        stage1_us: told - start,
        stage1,
        stage2_us,
        stage2,
        stage2_measures: measured,
        one_call,
        told: c.model.told,
        kernel: story,
    }
}

/// The end of a call of thread `tid` that was waiting for data (stage ①) when the client
/// sent at `sent`: a submission that did the I/O itself.
pub(super) fn submitted_inside(c: &Column, tid: i64, sent: u64) -> Option<u64> {
    // Only a model whose submissions behave as blocking calls (Linux AIO, registered as the
    // blocking kind): a completion model's wait spanning the send (an alertable wait that ran
    // a completion routine) did no I/O itself.
    if c.model.kind != crate::models::Kind::Blocking {
        return None;
    }
    c.events
        .iter()
        .filter(|e| e.kind == Kind::Syscall && e.tid == tid && e.count == 1)
        .filter(|e| e.stage == Stage::DataReady && !e.would_block())
        .find(|e| e.t_us <= sent && sent <= e.t_us + e.dur_us)
        .map(|e| e.t_us + e.dur_us)
}

/// Draws the figure to scale: one bar per model, stage ① then stage ②, in `width` columns;
/// `followed` says whose message it follows ("Client A's first message").
pub(super) fn draw(
    rows: &[FigRow],
    followed: Option<&str>,
    width: usize,
    unicode: bool,
    color: bool,
) -> String {
    let mut out = String::new();
    let Some(followed) = followed else {
        return format!("{}\n", crate::t!("fig-none"));
    };
    let (blocked, spinning, free, copy) = if unicode {
        ('█', '▒', '░', '▓')
    } else {
        ('#', '~', '.', '=')
    };
    let paint = |c: char, n: usize| {
        let run: String = std::iter::repeat_n(c, n).collect();
        if !color {
            return run;
        }
        match c {
            c if c == blocked => run.red(),
            c if c == spinning => run.yellow(),
            c if c == free => run.green(),
            _ => run.cyan(),
        }
        .to_string()
    };
    let lane = rows.iter().any(|r| r.kernel.is_some());
    let how = if lane {
        crate::t!("fig-how-lane")
    } else {
        crate::t!("fig-how-user")
    };
    let legend = crate::t!(
        "fig-legend",
        how = how,
        followed = followed,
        blocked = paint(blocked, 1),
        spinning = paint(spinning, 1),
        free = paint(free, 1),
        copy = paint(copy, 1)
    );
    out.push_str(&wrap(&legend, width, 0));
    out.push('\n');
    let numbers: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "  ① {:>9} {} ② {:>8} {:<11} ",
                took(r.stage1_us),
                pad(&r.stage1.word(), 8),
                took(r.stage2_us),
                r.stage2_measures.label(),
            )
        })
        .collect();
    let name_w = rows.iter().map(|r| r.model.len()).max().unwrap_or(8);
    let told_w = rows
        .iter()
        .map(|r| cols(&crate::t!("fig-told", told = told(r))))
        .max()
        .unwrap_or(0);
    let numbers_w = numbers.iter().map(|n| cols(n)).max().unwrap_or(0);
    // Besides the bar: the name, the numbers, "told by …", and ②'s cell past a full-length ①.
    let bar_w = width
        .saturating_sub(name_w + 1 + numbers_w + told_w + 1)
        .clamp(10, 60);
    let longest = rows
        .iter()
        .map(|r| r.stage1_us + r.stage2_us)
        .max()
        .unwrap_or(1)
        .max(1);
    for (r, numbers) in rows.iter().zip(&numbers) {
        let cells1 = ((r.stage1_us as f64 / longest as f64) * bar_w as f64).round() as usize;
        let cells2 =
            (((r.stage2_us as f64 / longest as f64) * bar_w as f64).round() as usize).max(1);
        let ch = |s: State| match s {
            State::Blocked => blocked,
            State::Spinning => spinning,
            State::Free => free,
            State::Copying => copy,
        };
        let (ch1, ch2) = (ch(r.stage1), ch(r.stage2));
        let pad = " ".repeat(bar_w.saturating_sub(cells1 + cells2));
        // Too narrow for the whole line even with the shortest bar: "told by" goes under it.
        let used = name_w + 1 + (cells1 + cells2).max(bar_w) + cols(numbers);
        let told = crate::t!("fig-told", told = told(r));
        let (numbers, told) = if cols(&told) <= width.saturating_sub(used) {
            (numbers.as_str(), told)
        } else {
            let indent = name_w + 1;
            let told = fit(&told, width.saturating_sub(indent));
            (numbers.trim_end(), format!("\n{:indent$}{told}", ""))
        };
        out.push_str(&format!(
            "{:<name_w$} {}{}{pad}{numbers}{told}\n",
            r.model,
            paint(ch1, cells1),
            paint(ch2, cells2),
        ));
    }
    if lane {
        out.push('\n');
        out.push_str(&decomposed(rows, width, color));
    }
    out
}

/// The kernel lane's decomposition of each row: where the time between the wait's start and
/// the copy's end went, and what the kernel did in between.
fn decomposed(rows: &[FigRow], width: usize, color: bool) -> String {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width as u16);
    styled(&mut t, color);
    t.set_header(
        [
            crate::t!("lane-col-model"),
            crate::t!("lane-col-woken"),
            crate::t!("lane-col-runs"),
            crate::t!("lane-col-to-path"),
            crate::t!("lane-col-path"),
            crate::t!("lane-col-on"),
            crate::t!("lane-col-meanwhile"),
        ]
        .map(heading),
    );
    let after = |at: Option<u64>, r: &Read| at.map(|t| took(t - r.arrived_us));
    for row in rows {
        let Some(r) = &row.kernel else {
            t.add_row(vec![row.model.to_string(), crate::t!("lane-row-unseen")]);
            continue;
        };
        let (woken, runs) = match (r.woken_us, r.running_us) {
            (None, None) => (crate::t!("lane-row-on-cpu"), "—".to_string()),
            (Some(w), Some(run)) => (took(w - r.arrived_us), took(run - w)),
            (Some(w), None) => (took(w - r.arrived_us), crate::t!("lane-row-unrecorded")),
            (None, Some(run)) => (crate::t!("lane-row-preempted"), took(run - r.arrived_us)),
        };
        let back = r.running_us.or(r.woken_us).unwrap_or(r.arrived_us);
        let inside = r
            .inside
            .map(|c| crate::t!("lane-row-inside", call = c))
            .unwrap_or_default();
        let between: Vec<String> = [
            after(r.signal_us, r).map(|a| crate::t!("lane-row-signal", after = a)),
            after(r.task_add_us, r).map(|a| crate::t!("lane-row-task-work", after = a)),
            r.last_eagain_us.map(|t| {
                crate::t!(
                    "lane-row-eagain",
                    before = took(r.arrived_us.saturating_sub(t))
                )
            }),
        ]
        .into_iter()
        .flatten()
        .collect();
        t.add_row(vec![
            row.model.to_string(),
            woken,
            runs,
            took(r.path_us.saturating_sub(back)),
            took(r.copy_us()),
            format!("{}{inside}", r.on),
            if between.is_empty() {
                "—".into()
            } else {
                between.join("; ")
            },
        ]);
    }
    format!("{t}\n")
}
