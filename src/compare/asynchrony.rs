//! `iomodels async`: "Is it really asynchronous?" Every model that claims Stevens' figure 6.4
//! or 6.5 (signal-driven or asynchronous I/O), alone and in each of its modes, run on the same
//! scenario, and one table of who did the waiting and the copying — every cell drawn from that
//! run's own events (and, with `--kernel`, the kernel lane's).

use super::columns::known_clients;
use super::table::{heading, styled};
use super::{Column, run_column};

/// How `iomodels async` writes its table (it draws no timeline: `compare` does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
}
use crate::lang::{Arg, Lang, Msg};
use crate::limits::Knobs;
use crate::models::{MODELS, MODES, Model};
use crate::msg;
use crate::trace::{Event, Kind, Stage};
use anyhow::Result;
use comfy_table::{Cell, ContentArrangement, Table, presets};
use serde::Serialize;
use std::collections::BTreeSet;
use std::io::Write;

/// The figures whose models promise that the process is free while it waits.
const FIGURES: &[&str] = &["6.4", "6.5"];

/// One configuration's row. Who waited and who copied name threads as the trace and the lane
/// do (`server/2`, `glibc helper`) and the call they were in; `(lane)` marks what the kernel
/// lane observed, `(inferred)` what is read off the trace's own lines.
#[derive(Serialize)]
pub struct AsyncRow {
    /// The model and its mode's flag (`uring --multishot`).
    pub run: String,
    pub ok: bool,
    pub error: Option<String>,
    /// The server's calls that were asleep when the followed client sent, and, with the lane,
    /// the thread its data woke.
    pub stage1_waited: String,
    /// The thread the kernel's copy ran on, and the call it was inside.
    pub stage2_copied: String,
    /// The server threads' system calls from the first client's action to the last one, per
    /// message echoed, leaving out waits that timed out with nothing (a model that waits in
    /// slices to do other work makes many).
    pub syscalls_per_echo: f64,
    /// Completions (CQEs, AIO events, `aio_return`s) per submission (SQEs, `io_submit`s,
    /// `aio_read`/`aio_write`s); none where nothing is submitted.
    pub completions_per_submission: Option<f64>,
    /// Threads that worked for the server which it never started (glibc's helpers, io_uring's
    /// kernel threads), as the lane saw them; none without the lane.
    pub extra_threads: Option<usize>,
    /// `stage1_waited` and `stage2_copied` in this run's language, for the table (the JSON
    /// keeps the English).
    #[serde(skip)]
    shown: [String; 2],
}

/// The message `m` in `lang`: a cell is made in English for the JSON, and in this run's
/// language for the table.
fn say(lang: Lang, m: Msg, args: &[(&'static str, Arg)]) -> String {
    crate::lang::text_in(lang, m.0, args)
}

/// `iomodels async`: runs every asynchronous configuration this OS has; prints the table.
/// Returns the exit code.
pub fn cmd(args: crate::AsyncArgs) -> Result<i32> {
    let color = crate::use_color(args.look.color.color);
    colored::control::set_override(color);
    let (format, width) = (args.format, args.look.width().unwrap_or(100));
    let run = super::scenario_runs(args.scenario, args.kernel, Knobs::default().read_size)?;
    let runs = configurations();
    anyhow::ensure!(!runs.is_empty(), crate::t!("async-none"));
    let rows: Vec<AsyncRow> = runs
        .into_iter()
        .map(|(model, flag)| {
            let mut opts = run.clone();
            if let Some(f) = flag {
                opts.knobs = opts.knobs.in_mode(f).expect("a mode the knobs know");
            }
            let c = run_column(model, &opts);
            row(&c, flag)
        })
        .collect();
    let out = &mut std::io::stdout().lock();
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct Json<'a> {
                kind: &'static str,
                table: &'a [AsyncRow],
            }
            let json = Json {
                kind: "async",
                table: &rows,
            };
            serde_json::to_writer(&mut *out, &json).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        Format::Markdown | Format::Text => {
            let markdown = format == Format::Markdown;
            writeln!(out, "{}", table(&rows, markdown, width, color))?;
            if !markdown {
                writeln!(out, "\n{}", crate::t!("async-legend"))?;
            }
        }
    }
    out.flush()?;
    let failed: Vec<&AsyncRow> = rows.iter().filter(|r| !r.ok).collect();
    for r in &failed {
        let message = format!("{}: {}", r.run, r.error.as_deref().unwrap_or(""));
        crate::say!("{}", crate::t!("error", message = message));
    }
    Ok(if failed.is_empty() { 0 } else { 1 })
}

/// The models of figures 6.4 and 6.5 this OS has, each alone and in each of its modes.
fn configurations() -> Vec<(&'static Model, Option<&'static str>)> {
    MODELS
        .iter()
        .filter(|m| m.available() && FIGURES.contains(&m.figure))
        .flat_map(|m| {
            std::iter::once((m, None)).chain(
                MODES
                    .iter()
                    .filter(move |mode| mode.model == m.name && mode.here)
                    .map(move |mode| (m, Some(mode.flag))),
            )
        })
        .collect()
}

fn row(c: &Column, flag: Option<&str>) -> AsyncRow {
    let run = match flag {
        Some(f) => format!("{} --{f}", c.model.name),
        None => c.model.name.to_string(),
    };
    let s = &c.summary;
    let library = |f: &str| s.library.get(f).copied().unwrap_or(0);
    let submitted = s.sqes
        + s.calls.get("io_submit").copied().unwrap_or(0)
        + library("aio_read")
        + library("aio_write");
    let completed = s.cqes + library("aio_return");
    let echoes = c
        .events
        .iter()
        .filter(|e| e.kind == Kind::Client && e.call == "echo" && e.ok == Some(true))
        .count();
    let (stage1_waited, stage2_copied) = (waited(c, Lang::En), copied(c, Lang::En));
    let shown = match crate::lang::current() {
        Lang::En => [stage1_waited.clone(), stage2_copied.clone()],
        lang => [waited(c, lang), copied(c, lang)],
    };
    AsyncRow {
        run,
        ok: c.error.is_none(),
        error: c.error.clone(),
        stage1_waited,
        stage2_copied,
        shown,
        syscalls_per_echo: calls_in_scenario(&c.events) as f64 / echoes.max(1) as f64,
        completions_per_submission: (submitted > 0).then(|| completed as f64 / submitted as f64),
        extra_threads: c.reads.as_ref().map(|_| extra_threads(&c.events)),
    }
}

/// A server-side event (a call, an operation, a library function).
fn server(e: &Event) -> bool {
    super::columns::is_server(e)
}

/// The followed client: the first that sends, and when.
fn first_send(events: &[Event]) -> Option<(&str, u64)> {
    events
        .iter()
        .find(|e| e.kind == Kind::Client && e.call == "send")
        .and_then(|e| Some((e.client.as_deref()?, e.t_us)))
}

/// Who slept through stage ①: the server's calls spanning the followed send (from the trace),
/// and with the lane, the thread the data woke.
fn waited(c: &Column, lang: Lang) -> String {
    let Some((client, sent)) = first_send(&c.events) else {
        return "—".into();
    };
    let mut asleep: Vec<String> = Vec::new();
    for e in c.events.iter().filter(|e| server(e) && e.count == 1) {
        if !(e.t_us..=e.t_us + e.dur_us).contains(&sent) {
            continue;
        }
        let who = say(
            lang,
            msg!("async-waited-in"),
            &[
                ("actor", e.actor.as_ref().into()),
                ("call", e.named().into()),
            ],
        );
        if !asleep.contains(&who) {
            asleep.push(who);
        }
    }
    asleep.sort();
    let mut out = match asleep.is_empty() {
        true => say(lang, msg!("async-server-running"), &[]),
        false => asleep.join(&say(lang, msg!("async-sep"), &[])),
    };
    if let Some(r) = lane_read(c, client)
        && r.woken_us.is_some()
    {
        out.push_str(&say(lang, msg!("async-woke"), &[("on", (&r.on).into())]));
    }
    out
}

/// Who copied the followed client's bytes: the lane's `sock_recv_length`, or, without it, the
/// server's line that reported them.
fn copied(c: &Column, lang: Lang) -> String {
    let Some((client, sent)) = first_send(&c.events) else {
        return "—".into();
    };
    if let Some(r) = lane_read(c, client) {
        return match r.inside {
            Some(call) => say(
                lang,
                msg!("async-copied-inside"),
                &[("on", (&r.on).into()), ("call", call.into())],
            ),
            // A kernel thread's own loop (io_uring's SQ thread) is no call of the program's.
            None => say(lang, msg!("async-copied-on"), &[("on", (&r.on).into())]),
        };
    }
    let mut peers = known_clients(&c.events);
    for e in &c.events {
        peers.observe(e);
        let mine = peers.client_of(e) == Some(client);
        if !(server(e) && mine && e.ret.is_some_and(|n| n > 0)) {
            continue;
        }
        // Linux AIO's read of a socket: the submission slept through the send, and copied.
        if e.received_by_kernel()
            && let Some(end) = super::figure::submitted_inside(c, e.tid, sent)
            && let Some(call) = c
                .events
                .iter()
                .find(|s| s.tid == e.tid && s.t_us + s.dur_us == end)
        {
            return say(
                lang,
                msg!("async-itself-inside"),
                &[
                    ("actor", e.actor.as_ref().into()),
                    ("call", call.call.into()),
                ],
            );
        }
        let by = if e.received_by_kernel() {
            msg!("async-by-kernel")
        } else if e.received_by_library() {
            msg!("async-by-library")
        } else if matches!(e.stage, Stage::CopyToUser | Stage::DataReadyCopy) {
            return say(
                lang,
                msg!("async-itself-in"),
                &[
                    ("actor", e.actor.as_ref().into()),
                    ("call", e.named().into()),
                ],
            );
        } else {
            continue;
        };
        return say(
            lang,
            msg!("async-told"),
            &[
                ("by", say(lang, by, &[]).into()),
                ("actor", e.actor.as_ref().into()),
                ("call", e.named().into()),
            ],
        );
    }
    "—".into()
}

/// The lane's story of the followed client's first message.
fn lane_read<'a>(c: &'a Column, client: &str) -> Option<&'a crate::trace::story::Read> {
    c.reads.as_ref()?.iter().find(|r| r.client == client)
}

/// A wait that ended at its timeout with nothing to report (`ETIME`; `rt_sigtimedwait`'s
/// `EAGAIN`).
fn quiet_wait(e: &Event) -> bool {
    e.timed_out() || (e.call == "rt_sigtimedwait" && e.would_block())
}

/// The server threads' system calls from the first client action to the last, but for waits
/// that timed out.
fn calls_in_scenario(events: &[Event]) -> u64 {
    let clients = events.iter().filter(|e| e.kind == Kind::Client);
    let (Some(first), Some(last)) = (
        clients.clone().map(|e| e.t_us).min(),
        clients.map(|e| e.t_us).max(),
    ) else {
        return 0;
    };
    events
        .iter()
        .filter(|e| e.kind == Kind::Syscall && e.actor.starts_with("server") && !quiet_wait(e))
        .filter(|e| (first..=last).contains(&e.t_us))
        .map(|e| e.count)
        .sum()
}

/// Threads the lane saw working for the server that it never started: a library's helpers
/// (`on: glibc helper`) and io_uring's own kernel threads (`on: io_uring thread`).
fn extra_threads(events: &[Event]) -> usize {
    let tids: BTreeSet<i64> = events
        .iter()
        .filter(|e| e.kind == Kind::Kernel)
        .filter(|e| {
            e.on.as_deref()
                .is_some_and(|on| on.ends_with(" helper") || on == "io_uring thread")
        })
        .map(|e| e.tid)
        .collect();
    tids.len()
}

fn table(rows: &[AsyncRow], markdown: bool, width: usize, color: bool) -> String {
    let mut t = Table::new();
    t.load_style(if markdown {
        presets::ASCII_MARKDOWN
    } else {
        presets::UTF8_BORDERS_ONLY
    });
    styled(&mut t, color && !markdown);
    let header = [
        crate::t!("async-head-run"),
        crate::t!("async-head-waited"),
        crate::t!("async-head-copied"),
        crate::t!("async-head-calls"),
        crate::t!("async-head-completions"),
        crate::t!("async-head-extra"),
    ];
    t.set_header(header.iter().map(|h| match markdown {
        true => Cell::new(h),
        false => heading(h),
    }));
    if !markdown {
        t.set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(width as u16);
    }
    for r in rows {
        match &r.error {
            Some(e) => t.add_row(vec![r.run.clone(), crate::t!("async-failed", why = e)]),
            None => t.add_row(vec![
                r.run.clone(),
                r.shown[0].clone(),
                r.shown[1].clone(),
                format!("{:.1}", r.syscalls_per_echo),
                r.completions_per_submission
                    .map_or("—".into(), |x| format!("{x:.2}")),
                r.extra_threads
                    .map_or_else(|| crate::t!("async-no-lane"), |n| n.to_string()),
            ]),
        };
    }
    t.to_string()
}
