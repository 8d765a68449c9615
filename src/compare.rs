//! `iomodels compare`: the same scenario under several models, side by side, then a table of
//! their numbers and Stevens' figure 6.6 drawn from what was measured.

use crate::limits::Knobs;
use crate::models::Model;
use crate::run::{self, RunOpts, Sink};
use crate::trace::summary::{Peers, Summary};
use crate::trace::text::{fit, thousands, took, wrap};
use crate::trace::{Event, Kind, Stage};
use anyhow::Result;
use colored::Colorize;
use comfy_table::{Attribute, Cell, ContentArrangement, Table, presets};
use serde::Serialize;
use std::io::Write;
use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

/// A column is never narrower than this; with more models than fit, the columns go on pages.
const MIN_COLUMN: usize = 30;
/// Lines shown per cell before the rest is summed up as "… N more".
const MAX_CELL_LINES: usize = 10;

pub struct CompareOpts {
    pub models: Vec<&'static Model>,
    pub run: RunOpts,
    pub width: usize,
    pub format: Format,
    /// Whose first message the figure follows (default: the first client that sends).
    pub read: Option<String>,
    /// Unicode blocks in the figure; ASCII when false.
    pub unicode: bool,
    /// Colour: bold headings, the figure's states in colour.
    pub color: bool,
}

/// Collects a run's events for later rendering.
struct Collect(Vec<Event>);

impl Sink for Collect {
    fn event(&mut self, ev: &Event) {
        self.0.push(ev.clone());
    }
}

/// One model's run, or why it failed.
struct Column {
    model: &'static Model,
    events: Vec<Event>,
    summary: Summary,
    error: Option<String>,
}

/// A row of the summary table. Times in µs.
#[derive(Serialize)]
pub struct Row {
    pub model: &'static str,
    pub ok: bool,
    pub error: Option<String>,
    pub syscalls: u64,
    pub eagain: u64,
    pub stage1_blocked_us: u64,
    pub stage1_spinning_us: u64,
    pub stage1_free_us: u64,
    pub stage2_us: u64,
    pub cpu_us: u64,
    pub work: u64,
    pub max_open: u64,
    pub bytes_by_process: u64,
    pub bytes_by_kernel: u64,
}

/// What the process was doing during one stage of the followed read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Blocked,
    Spinning,
    Free,
}

/// One row of figure 6.6: the followed read under one model, as measured.
#[derive(Serialize)]
pub struct FigRow {
    pub model: &'static str,
    /// From when the server began waiting for this data until it was told (µs).
    pub stage1_us: u64,
    pub stage1: State,
    /// The copy into our buffer (µs); for a completion, the kernel's time until we heard.
    pub stage2_us: u64,
    pub stage2: State,
    /// Stage ① and ② were one call (a blocking recv), split at the moment the client sent.
    pub one_call: bool,
    pub told: &'static str,
}

/// `iomodels compare`: the models asked for (default: every one this OS has), each run on the
/// scenario with a recorder, then the comparison. Returns the exit code.
pub fn cmd(args: crate::CompareArgs) -> Result<i32> {
    let color = crate::use_color(args.look.color.color);
    colored::control::set_override(color);
    let models = if args.models.is_empty() {
        crate::models::MODELS
            .iter()
            .filter(|m| m.available())
            .collect()
    } else {
        run::available_models(&args.models)?
    };
    let width = args.look.width().unwrap_or(100);
    let opts = CompareOpts {
        models,
        run: RunOpts {
            scenario: args.scenario,
            serve: false,
            bind: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            format: run::Format::Json,
            no_trace: false,
            idle: 0,
            max_fds: None,
            width: None,
            knobs: Knobs {
                read_size: args.read_size as usize,
                ..Knobs::default()
            },
        },
        width,
        format: args.format,
        read: args.read,
        unicode: args.look.color.color != crate::Color::Never,
        color,
    };
    compare(&opts)
}

/// Runs every model on the scenario and prints the comparison. Returns the exit code.
pub fn compare(opts: &CompareOpts) -> Result<i32> {
    let (name, scenario) = run::load_scenario(opts.run.scenario.as_ref())?;
    let senders: Vec<&str> = scenario
        .clients()
        .into_iter()
        .filter(|c| {
            scenario
                .steps
                .iter()
                .any(|s| s.client == *c && matches!(s.action, crate::scenario::Action::Send(_)))
        })
        .collect();
    // A figure of nothing would look like a measurement: say which clients there are instead.
    if let Some(want) = &opts.read {
        if !scenario.clients().contains(&want.as_str()) {
            anyhow::bail!(
                "--read {want}: scenario `{name}` has no client {want} (its clients: {})",
                scenario.clients().join(", ")
            );
        }
        if !senders.contains(&want.as_str()) {
            anyhow::bail!(
                "--read {want}: client {want} sends nothing in scenario `{name}`, so there is no \
                 read to follow (clients that send: {})",
                if senders.is_empty() {
                    "none".to_string()
                } else {
                    senders.join(", ")
                }
            );
        }
    }
    let mut columns = Vec::new();
    for &model in &opts.models {
        let mut sink = Collect(Vec::new());
        let (summary, error) = match run::execute(model, &opts.run, &mut sink) {
            Ok(done) if done.failures.is_empty() => (done.summary, None),
            Ok(done) => (done.summary, Some(done.failures.join("; "))),
            Err(e) => (Summary::default(), Some(format!("{e:#}"))),
        };
        columns.push(Column {
            model,
            events: sink.0,
            summary,
            error,
        });
    }
    // By default, follow the first client of the script that sends something (A, in class).
    let reader = opts
        .read
        .clone()
        .or_else(|| senders.first().map(|c| c.to_string()));
    let rows: Vec<Row> = columns.iter().map(row).collect();
    let figure: Vec<FigRow> = match &reader {
        Some(client) => columns.iter().filter_map(|c| fig_row(c, client)).collect(),
        None => Vec::new(),
    };
    let steps: Vec<String> = scenario
        .steps
        .iter()
        .map(|s| {
            format!(
                "{} ms · {} {}",
                s.at.as_millis(),
                s.client,
                action(&s.action)
            )
        })
        .collect();
    let out = &mut std::io::stdout().lock();
    match opts.format {
        Format::Json => {
            #[derive(Serialize)]
            struct Json<'a> {
                kind: &'static str,
                steps: &'a [String],
                side_by_side: Vec<(&'static str, Vec<Vec<String>>)>,
                table: &'a [Row],
                figure_read: Option<&'a String>,
                figure: &'a [FigRow],
            }
            let side = columns
                .iter()
                .map(|c| (c.model.name, cells(c, steps.len())))
                .collect();
            let json = Json {
                kind: "compare",
                steps: &steps,
                side_by_side: side,
                table: &rows,
                figure_read: reader.as_ref(),
                figure: &figure,
            };
            serde_json::to_writer(&mut *out, &json).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        Format::Markdown => {
            writeln!(out, "{}\n", table(&rows, true, opts))?;
            writeln!(
                out,
                "```text\n{}```",
                draw(&figure, reader.as_deref(), opts.width, opts.unicode, false)
            )?;
        }
        Format::Text => {
            side_by_side(out, &columns, &steps, opts)?;
            writeln!(out, "\n{}", table(&rows, false, opts))?;
            writeln!(
                out,
                "\n{}",
                draw(
                    &figure,
                    reader.as_deref(),
                    opts.width,
                    opts.unicode,
                    opts.color
                )
            )?;
        }
    }
    out.flush()?;
    let failed: Vec<&Column> = columns.iter().filter(|c| c.error.is_some()).collect();
    for c in &failed {
        crate::say!(
            "error: {}: {}",
            c.model.name,
            c.error.as_deref().unwrap_or("")
        );
    }
    Ok(if failed.is_empty() { 0 } else { 1 })
}

fn action(a: &crate::scenario::Action) -> String {
    use crate::scenario::Action;
    match a {
        Action::Connect => "connects".into(),
        Action::Send(p) => format!("sends {}", p.shown(12)),
        Action::Close => "closes".into(),
        Action::Reset => "resets".into(),
        Action::StopReading => "stops reading".into(),
        Action::ResumeReading => "reads again".into(),
    }
}

/// Peers that already know every client's port: a client's `connect` event may arrive after
/// the server's accept of it, and the names should not depend on that race.
fn known_clients(events: &[Event]) -> Peers {
    let mut peers = Peers::default();
    for ev in events.iter().filter(|e| e.kind == Kind::Client) {
        peers.observe(ev);
    }
    peers
}

fn is_server(ev: &Event) -> bool {
    matches!(ev.kind, Kind::Syscall | Kind::Op) && ev.actor.starts_with("server")
}

/// The server's calls between consecutive scenario steps: cell `k` holds what the server did
/// before step `k` happened; the last cell, what it did after the last step.
fn cells(c: &Column, steps: usize) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new(); steps + 1];
    if let Some(e) = &c.error {
        out[0].push(format!("FAILED: {e}"));
    }
    let mut peers = known_clients(&c.events);
    let mut k = 0;
    let (mut listening, mut common) = (false, 0);
    for ev in &c.events {
        peers.observe(ev);
        if ev.kind == Kind::Client {
            if let Some(s) = ev.step {
                k = k.max(s + 1).min(steps);
            }
            continue;
        }
        // The listener's setup is the same in every model: one line for all of it.
        if ev.kind == Kind::Info && ev.note.starts_with("listening on") {
            out[k].push(format!("listener set up ({common} calls)"));
            listening = true;
        }
        if !is_server(ev) {
            continue;
        }
        if !listening {
            common += 1;
            continue;
        }
        out[k].push(brief(ev, &peers));
        if ev.closes()
            && let Some(fd) = ev.fd
        {
            peers.closed(fd);
        }
    }
    for cell in &mut out {
        if cell.len() > MAX_CELL_LINES {
            let more = cell.len() - (MAX_CELL_LINES - 1);
            cell.truncate(MAX_CELL_LINES - 1);
            cell.push(format!("… {more} more calls"));
        }
    }
    out
}

/// One event as a short cell line: `recvfrom(5=A) → EAGAIN ×3,342`.
fn brief(ev: &Event, peers: &Peers) -> String {
    let fd = ev.fd.map(|fd| match peers.client(fd) {
        Some(c) => format!("{fd}={c}"),
        None => fd.to_string(),
    });
    let call = match (ev.kind, fd) {
        (Kind::Op, Some(fd)) => format!("⟨{}⟩ {fd}", ev.call),
        (Kind::Op, None) => format!("⟨{}⟩", ev.call),
        (_, Some(fd)) => format!("{}({fd})", ev.call),
        (_, None) => ev.call.to_string(),
    };
    let result = match (ev.ret, ev.errno) {
        (Some(r), _) => match ev.port.and(peers.client(r)) {
            Some(c) => format!("{r}={c}"),
            None => r.to_string(),
        },
        (None, Some(e)) => e.to_string(),
        (None, None) => String::new(),
    };
    let count = if ev.count > 1 {
        format!(" ×{}", thousands(ev.count))
    } else {
        String::new()
    };
    format!("{call} → {result}{count}")
}

fn side_by_side(
    out: &mut impl Write,
    columns: &[Column],
    steps: &[String],
    opts: &CompareOpts,
) -> Result<()> {
    let width = opts.width;
    let label = 18;
    let per_page = ((width.saturating_sub(label)) / MIN_COLUMN).clamp(1, columns.len().max(1));
    let all_cells: Vec<Vec<Vec<String>>> = columns.iter().map(|c| cells(c, steps.len())).collect();
    let pages = columns.len().div_ceil(per_page);
    for (page, chunk) in columns.chunks(per_page).enumerate() {
        if pages > 1 {
            writeln!(out, "side by side, page {} of {}", page + 1, pages)?;
        }
        let mut t = Table::new();
        t.load_style(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(width as u16);
        styled(&mut t, opts.color);
        let mut header = vec!["server calls up to…"];
        header.extend(chunk.iter().map(|c| c.model.name));
        t.set_header(header.into_iter().map(heading));
        let first = page * per_page;
        for k in 0..=steps.len() {
            let label = steps.get(k).map_or("after the last step", String::as_str);
            let mut row = vec![label.to_string()];
            for col in &all_cells[first..first + chunk.len()] {
                row.push(col[k].join("\n"));
            }
            t.add_row(row);
        }
        writeln!(out, "{t}")?;
    }
    Ok(())
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
    ev.kind == Kind::Syscall
        && matches!(ev.stage, Stage::DataReady | Stage::DataReadyCopy)
        && !ev.would_block()
}

/// How the process spent a window of time on one thread: (blocked, spinning, free) in µs.
fn states(events: &[Event], tid: Option<i64>, win: (u64, u64)) -> (u64, u64, u64) {
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

fn row(c: &Column) -> Row {
    let s = &c.summary;
    let (blocked, spinning, free) = states(&c.events, None, (0, u64::MAX));
    Row {
        model: c.model.name,
        ok: c.error.is_none(),
        error: c.error.clone(),
        syscalls: s.syscalls,
        eagain: s.eagain,
        stage1_blocked_us: blocked,
        stage1_spinning_us: spinning,
        stage1_free_us: free,
        stage2_us: s.stage(Stage::CopyToUser),
        cpu_us: s.cpu_us,
        work: s.work,
        max_open: s.max_open,
        bytes_by_process: s.bytes_in,
        bytes_by_kernel: s.bytes_in_by_kernel,
    }
}

/// A table's headings are bold, when there is colour.
fn heading(text: impl ToString) -> Cell {
    Cell::new(text).add_attribute(Attribute::Bold)
}

/// Colour (comfy-table's own, which looks only at whether stdout is a terminal) as asked.
fn styled(t: &mut Table, color: bool) {
    if color {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
}

/// The summary table; narrower than its numbers, on two pages, each led by the model's name
/// (numbers do not wrap).
fn table(rows: &[Row], markdown: bool, opts: &CompareOpts) -> String {
    let header = [
        "model",
        "system\ncalls",
        "EAGAIN",
        "①\nblocked",
        "①\nspinning",
        "①\nfree",
        "②\ncopying",
        "server\nCPU",
        "other\nwork",
        "most at\nonce",
        "bytes in:\nus/kernel",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| match &r.error {
            Some(e) => vec![r.model.to_string(), format!("failed: {e}")],
            None => vec![
                r.model.to_string(),
                thousands(r.syscalls),
                thousands(r.eagain),
                took(r.stage1_blocked_us),
                took(r.stage1_spinning_us),
                took(r.stage1_free_us),
                took(r.stage2_us),
                took(r.cpu_us),
                thousands(r.work),
                r.max_open.to_string(),
                format!("{} / {}", r.bytes_by_process, r.bytes_by_kernel),
            ],
        })
        .collect();
    // `fit`: to the width, wrapping what must wrap; else as wide as the cells.
    let build = |cols: &[usize], fit: bool| {
        let mut t = Table::new();
        t.load_style(if markdown {
            presets::ASCII_MARKDOWN
        } else {
            presets::UTF8_BORDERS_ONLY
        });
        styled(&mut t, opts.color && !markdown);
        // Markdown cells cannot hold line breaks; the terminal table is narrower with them.
        t.set_header(cols.iter().map(|&i| {
            if markdown {
                Cell::new(header[i].replace('\n', " "))
            } else {
                heading(header[i])
            }
        }));
        if fit {
            t.set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(opts.width as u16);
        }
        if !markdown {
            for col in t.column_iter_mut() {
                col.set_padding((0, 1));
            }
        }
        for row in &cells {
            let pick = |&i: &usize| row.get(i).cloned().unwrap_or_default();
            // A failure's message spans the page; its first page holds it.
            t.add_row(cols.iter().map(pick).collect::<Vec<_>>());
        }
        t.to_string()
    };
    let all: Vec<usize> = (0..header.len()).collect();
    let whole = build(&all, false);
    let wide = whole.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    if markdown {
        return whole;
    }
    if wide <= opts.width {
        // A failure's message may still wrap.
        return build(&all, true);
    }
    let half = header.len() / 2 + 1;
    let second: Vec<usize> = std::iter::once(0).chain(half..header.len()).collect();
    format!("{}\n{}", build(&all[..half], true), build(&second, true))
}

/// Figure 6.6 for one model: follow `client`'s first message from the moment the server began
/// waiting for it to the moment the bytes were in the server's buffer.
fn fig_row(c: &Column, client: &str) -> Option<FigRow> {
    if c.error.is_some() {
        return None;
    }
    let mut peers = known_clients(&c.events);
    let mut last_touch: Option<u64> = None;
    let mut fd_of_client: Option<i64> = None;
    let mut sent_at: Option<u64> = None;
    for ev in &c.events {
        peers.observe(ev);
        if ev.kind == Kind::Client && ev.client.as_deref() == Some(client) && ev.call == "send" {
            sent_at.get_or_insert(ev.t_us);
        }
        if !is_server(ev) {
            continue;
        }
        if ev.port.is_some()
            && let Some(fd) = ev.ret
            && peers.client(fd) == Some(client)
        {
            fd_of_client = Some(fd);
        }
        let Some(fd) = fd_of_client else { continue };
        let copied = ev.ret.is_some_and(|n| n > 0)
            && ev.fd == Some(fd)
            && (matches!(ev.stage, Stage::CopyToUser | Stage::DataReadyCopy)
                || ev.received_by_kernel());
        if copied {
            let start = last_touch.unwrap_or(ev.t_us);
            let sent = sent_at.unwrap_or(ev.t_us).max(start);
            let end = ev.t_us + ev.dur_us;
            let (one_call, told) = match (ev.kind, ev.stage) {
                // One blocking call did both: stage ① ends when the bytes were sent.
                (Kind::Syscall, Stage::DataReadyCopy) => (true, sent.min(end)),
                // A completion: stage ① ends when the data arrived; the kernel copies after.
                (Kind::Op, _) => (false, sent.min(ev.t_us)),
                _ => (false, ev.t_us),
            };
            let (b, s, f) = states(&c.events, Some(ev.tid), (start, told));
            let stage1 = if b >= s && b >= f {
                State::Blocked
            } else if s >= f {
                State::Spinning
            } else {
                State::Free
            };
            let (stage2_end, stage2) = match ev.kind {
                Kind::Op => (ev.t_us, State::Free),
                _ => (end, State::Blocked),
            };
            return Some(FigRow {
                model: c.model.name,
                stage1_us: told - start,
                stage1,
                stage2_us: stage2_end.saturating_sub(told),
                stage2,
                one_call,
                told: c.model.told,
            });
        }
        // The server's last act on this connection before the read: accepting it, setting it
        // up, the previous echo. Not a stage-① notice about it (a signal's si_fd, a probe).
        let acts_on = ev.fd == Some(fd) && ev.stage != Stage::DataReady;
        let touches = (acts_on || (ev.port.is_some() && ev.ret == Some(fd))) && !ev.would_block();
        if touches {
            last_touch = Some(ev.t_us + ev.dur_us);
        }
    }
    None
}

/// Draws the figure to scale: one bar per model, stage ① then stage ②, in `width` columns.
fn draw(rows: &[FigRow], client: Option<&str>, width: usize, unicode: bool, color: bool) -> String {
    let mut out = String::new();
    let Some(client) = client else {
        return "no client sends anything in this scenario: no figure to draw\n".into();
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
    let legend = format!(
        "UNP figure 6.6, measured: client {client}'s first message, from when the server began waiting for it \
         until the bytes were in its buffer ({} blocked  {} spinning  {} free  {} copying; \
         ② is drawn at least one cell wide)",
        paint(blocked, 1),
        paint(spinning, 1),
        paint(free, 1),
        paint(copy, 1)
    );
    out.push_str(&wrap(&legend, width, 0));
    out.push('\n');
    let numbers: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "  ① {:>9} {:<8} ② {:>8} {:<9} told by ",
                took(r.stage1_us),
                format!("{:?}", r.stage1).to_lowercase(),
                took(r.stage2_us),
                if r.stage2 == State::Free {
                    "kernel"
                } else {
                    "copying"
                },
            )
        })
        .collect();
    let name_w = rows.iter().map(|r| r.model.len()).max().unwrap_or(8);
    let told_w = rows
        .iter()
        .map(|r| r.told.chars().count())
        .max()
        .unwrap_or(0);
    let numbers_w = numbers.iter().map(|n| n.chars().count()).max().unwrap_or(0);
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
        let ch1 = match r.stage1 {
            State::Blocked => blocked,
            State::Spinning => spinning,
            State::Free => free,
        };
        let ch2 = match r.stage2 {
            State::Free => free,
            _ => copy,
        };
        let pad = " ".repeat(bar_w.saturating_sub(cells1 + cells2));
        // Too narrow for the whole line even with the shortest bar: "told by" is cut.
        let used = name_w + 1 + (cells1 + cells2).max(bar_w) + numbers.chars().count();
        out.push_str(&format!(
            "{:<name_w$} {}{}{pad}{numbers}{}\n",
            r.model,
            paint(ch1, cells1),
            paint(ch2, cells2),
            fit(r.told, width.saturating_sub(used))
        ));
    }
    out
}
