//! `iomodels bench`: each model's server as a child process, driven by a built-in closed-loop
//! load generator; requests/s, latency percentiles and the server's CPU per request. With
//! `--scaling`, the idle-connection sweep ([`scaling`]).
//!
//! The server runs exactly the code the trace teaches, with a disabled recorder
//! (`--serve --no-trace`): the numbers measure the lesson, not a benchmark special.

pub mod chat;
pub mod child;
pub mod load;
pub mod plot;
pub mod scaling;

use crate::lang::{self, Lang, Msg};
use crate::{msg, t};
use anyhow::{Context, Result, bail};
use child::{Server, Target};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};
use load::Until;
use serde::Serialize;
use std::io::IsTerminal;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

/// How the results are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// What `iomodels bench` was asked to do.
#[derive(Clone, Debug)]
pub struct BenchOpts {
    pub targets: Vec<Target>,
    pub connections: usize,
    pub size: usize,
    pub until: Until,
    pub rounds: usize,
    pub format: Format,
    pub progress: bool,
    /// Columns the table fits in (`--width`, `COLUMNS`, the terminal's).
    pub width: Option<usize>,
}

/// One model's numbers (with several rounds: the median of each figure).
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub model: String,
    pub connections: usize,
    pub size: usize,
    /// Echoes received in full, all rounds together.
    pub requests: u64,
    /// Echoes that matched what was sent, byte for byte.
    pub verified: u64,
    pub errors: Vec<String>,
    pub rounds: usize,
    pub seconds: f64,
    pub requests_per_s: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    /// The server child's user+system CPU during the load.
    pub server_cpu_ms: f64,
    /// The same, per thread of the child that used any, busiest first (the median of each
    /// rank over the rounds): how the load spread over the server's threads.
    pub thread_cpu_ms: Vec<f64>,
    pub cpu_per_request_us: f64,
    /// Why this row differs from the others (e.g. one connection for blocking): a message, in
    /// English in the JSON whatever the language (what programs read does not change).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "in_english")]
    pub note: Option<Msg>,
}

/// A note as the JSON has it: in English, a value programs may match.
fn in_english<S: serde::Serializer>(note: &Option<Msg>, s: S) -> Result<S::Ok, S::Error> {
    match note {
        Some(m) => s.serialize_str(&lang::text_in(Lang::En, m.0, &[])),
        None => s.serialize_none(),
    }
}

/// One measured load against a running server.
pub struct Measured {
    pub outcome: load::Outcome,
    pub cpu: Duration,
    /// Each thread's CPU over the load, busiest first (threads that used none left out).
    pub threads: Vec<Duration>,
}

impl Measured {
    pub fn rate(&self) -> f64 {
        self.outcome.requests as f64 / self.outcome.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn cpu_per_request_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.outcome.requests.max(1) as f64
    }

    pub fn pct_us(&self, q: f64) -> f64 {
        self.outcome.hist.value_at_quantile(q) as f64 / 1e3
    }
}

/// Opens `conns` connections, drives them, and measures the server's CPU over the load.
pub fn measure(
    srv: &mut Server,
    conns: usize,
    size: usize,
    until: Until,
    progress: Option<&ProgressBar>,
) -> Result<Measured> {
    let streams = load::connect(srv.addr, conns)?;
    let before = srv.cpu()?;
    let threads_before = srv.thread_cpu();
    let (outcome, threads_after) =
        load::drive(streams, size, until, progress, || srv.thread_cpu())?;
    let after = srv.cpu()?;
    let mut threads: Vec<Duration> = threads_after
        .into_iter()
        .map(|(tid, t)| t.saturating_sub(threads_before.get(&tid).copied().unwrap_or_default()))
        .filter(|t| !t.is_zero())
        .collect();
    threads.sort_unstable_by(|a, b| b.cmp(a));
    Ok(Measured {
        outcome,
        cpu: after.saturating_sub(before),
        threads,
    })
}

/// A bar for one run: its time, or (`Until::Messages`) its `per_message × n` `unit`s.
fn progress_bar(
    show: bool,
    name: &str,
    until: Until,
    per_message: usize,
    unit: &str,
) -> Option<ProgressBar> {
    if !show {
        return None;
    }
    let (len, unit) = match until {
        Until::Time(d) => (d.as_millis() as u64, "ms"),
        Until::Messages(n) => (n * per_message as u64, unit),
    };
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{{prefix:>12}} [{{bar:40}}] {{pos}}/{{len}} {unit}"
        ))
        .expect("a valid template")
        .progress_chars("=> "),
    );
    pb.set_prefix(name.to_string());
    Some(pb)
}

/// Whether to draw progress: only on a terminal.
pub fn progress_wanted() -> bool {
    std::io::stderr().is_terminal()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// `iomodels bench`: checks the options, picks the targets (or the models to sweep) and runs
/// the benchmark. Returns the exit code.
pub fn cmd(args: crate::BenchArgs) -> Result<i32> {
    colored::control::set_override(crate::use_color(args.look.color.color));
    // A table fits the width only when one was asked for or the terminal has one: piped
    // (the book, a file) it keeps its natural width unless --width says otherwise.
    let width = args.look.width();
    let seconds = args
        .duration
        .unwrap_or(if args.scaling { 1.0 } else { 3.0 });
    if !(seconds > 0.0 && seconds <= 3600.0) {
        bail!(t!("bench-err-duration"));
    }
    let until = match args.messages {
        Some(0) => bail!(t!("bench-err-messages")),
        Some(n) => Until::Messages(n),
        None => Until::Time(Duration::from_secs_f64(seconds)),
    };
    let progress = args.format == Format::Table && progress_wanted();
    if args.scaling && !args.peer.is_empty() {
        bail!(t!("bench-err-scaling-peer"));
    }
    if args.scaling {
        let models = if args.models.is_empty() {
            crate::models::MODELS
                .iter()
                .filter(|m| m.available() && scaling::swept(m))
                .map(|m| m.name.to_string())
                .collect()
        } else {
            named(&args.models)?
        };
        return scaling::scaling(&ScalingOpts {
            models,
            active: args.active as usize,
            idle_steps: args.idle_steps,
            size: args.size as usize,
            until,
            format: args.format,
            plot: args.plot,
            progress,
            width,
        });
    }
    if args.plot.is_some() {
        bail!(t!("bench-err-plot"));
    }
    if args.app == crate::chat::App::Chat {
        if !args.peer.is_empty() {
            bail!(t!("bench-err-peer-chat"));
        }
        let models = if args.models.is_empty() {
            crate::models::MODELS
                .iter()
                .filter(|m| m.available())
                .map(|m| m.name.to_string())
                .collect()
        } else {
            named(&args.models)?
        };
        return chat::bench(&chat::ChatOpts {
            models: chat::can_chat(models),
            shape: chat::Shape::new(
                args.senders.unwrap_or(4) as usize,
                args.receivers.unwrap_or(16) as usize,
                args.size as usize,
            )?,
            until,
            rounds: args.rounds as usize,
            format: args.format,
            progress,
            width,
        });
    }
    if args.senders.is_some() || args.receivers.is_some() {
        bail!(t!("bench-err-senders"));
    }
    let mut targets: Vec<Target> = if args.models.is_empty() && args.peer.is_empty() {
        crate::models::MODELS
            .iter()
            .filter(|m| m.available() && m.concurrent())
            .map(|m| Target::Model(m.name.to_string()))
            .collect()
    } else {
        named(&args.models)?
            .into_iter()
            .map(Target::Model)
            .collect()
    };
    for p in &args.peer {
        let (name, program) = p
            .split_once('=')
            .filter(|(n, p)| !n.is_empty() && !p.is_empty())
            .ok_or_else(|| anyhow::anyhow!(t!("bench-err-peer", got = p)))?;
        targets.push(Target::Peer {
            name: name.to_string(),
            program: program.to_string(),
        });
    }
    bench(&BenchOpts {
        targets,
        connections: args.connections as usize,
        size: args.size as usize,
        until,
        rounds: args.rounds as usize,
        format: args.format,
        progress,
        width,
    })
}

/// A line of text wrapped to `width`, if one is asked for.
fn fitted(text: &str, width: Option<usize>) -> String {
    match width {
        Some(w) => crate::trace::text::wrap(text, w, 0),
        None => text.to_string(),
    }
}

/// `, median of 3 rounds` after a title when there were several rounds.
fn of_rounds(rounds: usize) -> String {
    if rounds > 1 {
        t!("bench-median", rounds = rounds.to_string())
    } else {
        String::new()
    }
}

/// Lays a table out in `width` columns, its cells wrapped, when a width is asked for.
pub(crate) fn fit(t: &mut Table, width: Option<usize>) {
    if let Some(w) = width {
        t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
            .set_width(w.min(u16::MAX as usize) as u16);
    }
}

/// The models named on the command line, each with its flags if any (`reactors --reuseport
/// --threads 2`: one argument), as the words to start it with; each must be a model here.
fn named(specs: &[String]) -> Result<Vec<String>> {
    specs
        .iter()
        .map(|spec| {
            let words: Vec<&str> = spec.split_whitespace().collect();
            let name = words.first().map_or(String::new(), |w| w.to_string());
            crate::run::available_models(&[name])?;
            Ok(words.join(" "))
        })
        .collect()
}

/// Runs the benchmark and writes the results. Returns the exit code (1 if an echo failed).
pub fn bench(opts: &BenchOpts) -> Result<i32> {
    if opts.targets.is_empty() {
        bail!(t!("bench-err-nothing"));
    }
    child::raise_fd_limit(opts.connections as u64 + 64)?;
    // Round after round, every target once per round (A B A B …): slow drifts of a shared
    // machine then hit every target alike, and the median of each figure is reported.
    let mut runs: Vec<Vec<Measured>> = opts.targets.iter().map(|_| Vec::new()).collect();
    let mut conns_of = Vec::new();
    for (i, t) in opts.targets.iter().enumerate() {
        // A model that serves one connection at a time gets a single connection: every other
        // connection of a closed loop would wait for ever behind the first.
        let one = matches!(t, Target::Model(m)
            if m.split_whitespace().next().and_then(crate::models::find).is_some_and(|m| !m.concurrent()));
        conns_of.push((if one { 1 } else { opts.connections }, i));
    }
    for round in 0..opts.rounds {
        for (i, t) in opts.targets.iter().enumerate() {
            let conns = conns_of[i].0;
            let mut label = t.name().to_string();
            if opts.rounds > 1 {
                label = format!("{label} {}/{}", round + 1, opts.rounds);
            }
            let pb = progress_bar(
                opts.progress,
                &label,
                opts.until,
                conns,
                &t!("bench-unit-echoes"),
            );
            let mut srv = Server::start(t)?;
            let m = measure(&mut srv, conns, opts.size, opts.until, pb.as_ref());
            if let Some(pb) = pb {
                pb.finish_and_clear();
            }
            let context = || t!("bench-err-benchmarking", model = t.name());
            let m = m.with_context(context)?;
            let alive = srv.check();
            srv.stop()?;
            alive.with_context(context)?;
            runs[i].push(m);
        }
    }
    let rows: Vec<Row> = opts
        .targets
        .iter()
        .zip(runs)
        .zip(&conns_of)
        .map(|((t, ms), &(conns, _))| Row {
            model: t.name().to_string(),
            connections: conns,
            size: opts.size,
            requests: ms.iter().map(|m| m.outcome.requests).sum(),
            verified: ms.iter().map(|m| m.outcome.verified).sum(),
            errors: ms.iter().flat_map(|m| m.outcome.errors.clone()).collect(),
            rounds: ms.len(),
            seconds: median(ms.iter().map(|m| m.outcome.elapsed.as_secs_f64()).collect()),
            requests_per_s: median(ms.iter().map(Measured::rate).collect()),
            p50_us: median(ms.iter().map(|m| m.pct_us(0.5)).collect()),
            p99_us: median(ms.iter().map(|m| m.pct_us(0.99)).collect()),
            p999_us: median(ms.iter().map(|m| m.pct_us(0.999)).collect()),
            server_cpu_ms: median(ms.iter().map(|m| m.cpu.as_secs_f64() * 1e3).collect()),
            cpu_per_request_us: median(ms.iter().map(Measured::cpu_per_request_us).collect()),
            thread_cpu_ms: by_rank(&ms),
            note: (conns != opts.connections).then_some(msg!("bench-note-one-connection")),
        })
        .collect();
    write_rows(opts, &rows)?;
    let bad: Vec<String> = rows
        .iter()
        .flat_map(|r| {
            r.errors
                .iter()
                .map(move |e| t!("bench-err-of", model = &r.model, why = e))
        })
        .collect();
    for e in &bad {
        crate::say!("{}", t!("error", message = e));
    }
    Ok(if bad.is_empty() { 0 } else { 1 })
}

/// Per thread rank (busiest first), the median over the rounds of its CPU in ms.
fn by_rank(ms: &[Measured]) -> Vec<f64> {
    let ranks = ms.iter().map(|m| m.threads.len()).max().unwrap_or(0);
    (0..ranks)
        .map(|r| {
            median(
                ms.iter()
                    .map(|m| m.threads.get(r).map_or(0.0, |t| t.as_secs_f64() * 1e3))
                    .collect(),
            )
        })
        .collect()
}

/// `812/790`: CPU ms per thread, as one field; in the table (`most`), the busiest few and
/// how many more.
fn per_thread(ms: &[f64], most: usize) -> String {
    let shown: Vec<String> = ms.iter().take(most).map(|t| format!("{t:.0}")).collect();
    match ms.len().saturating_sub(most) {
        0 => shown.join("/"),
        more => t!(
            "bench-more-threads",
            shown = shown.join("/"),
            more = more.to_string()
        ),
    }
}

fn write_rows(opts: &BenchOpts, rows: &[Row]) -> std::io::Result<()> {
    let out = &mut std::io::stdout().lock();
    match opts.format {
        Format::Json => {
            let doc = serde_json::json!({
                "kind": "bench",
                "connections": opts.connections,
                "size": opts.size,
                "rounds": opts.rounds,
                "results": rows,
            });
            writeln!(out, "{doc}")?;
        }
        Format::Csv => {
            writeln!(
                out,
                "model,connections,size,requests,verified,errors,rounds,seconds,requests_per_s,p50_us,p99_us,p999_us,server_cpu_ms,cpu_per_request_us,thread_cpu_ms"
            )?;
            for r in rows {
                writeln!(
                    out,
                    "{},{},{},{},{},{},{},{:.3},{:.1},{:.1},{:.1},{:.1},{:.1},{:.3},{}",
                    r.model,
                    r.connections,
                    r.size,
                    r.requests,
                    r.verified,
                    r.errors.len(),
                    r.rounds,
                    r.seconds,
                    r.requests_per_s,
                    r.p50_us,
                    r.p99_us,
                    r.p999_us,
                    r.server_cpu_ms,
                    r.cpu_per_request_us,
                    per_thread(&r.thread_cpu_ms, usize::MAX)
                )?;
            }
        }
        Format::Table => {
            let header = [
                t!("bench-col-model"),
                t!("bench-col-conns"),
                t!("bench-col-requests"),
                t!("bench-col-p50"),
                t!("bench-col-p99"),
                t!("bench-col-p999"),
                t!("bench-col-server-cpu"),
                t!("bench-col-per-thread"),
                t!("bench-col-cpu-per-request"),
                t!("bench-col-verified"),
            ];
            let cells = |r: &Row| {
                [
                    r.model.clone(),
                    r.connections.to_string(),
                    format!("{:.0}", r.requests_per_s),
                    format!("{:.0}", r.p50_us),
                    format!("{:.0}", r.p99_us),
                    format!("{:.0}", r.p999_us),
                    format!("{:.0}", r.server_cpu_ms),
                    per_thread(&r.thread_cpu_ms, 4),
                    format!("{:.1}", r.cpu_per_request_us),
                    format!("{}/{}", r.verified, r.requests),
                ]
            };
            // One table when it fits; narrower, the same columns in two tables (the load and
            // its echoes; the server's CPU), each of which fits, so no number is broken.
            let table = |columns: &[usize]| {
                let mut t = Table::new();
                t.load_style(UTF8_FULL_CONDENSED)
                    .set_header(columns.iter().map(|&c| &header[c]));
                for r in rows {
                    let row = cells(r);
                    t.add_row(columns.iter().map(|&c| row[c].clone()));
                }
                t
            };
            let whole = table(&(0..header.len()).collect::<Vec<_>>());
            let tables = match opts.width {
                Some(w)
                    if whole
                        .lines()
                        .next()
                        .map_or(0, |l| crate::trace::text::cols(&l))
                        > w =>
                {
                    vec![table(&[0, 2, 3, 4, 5, 9]), table(&[0, 1, 6, 8, 7])]
                }
                _ => vec![whole],
            };
            let how = match opts.until {
                Until::Time(d) => t!("bench-per-run", seconds = format!("{:.1}", d.as_secs_f64())),
                Until::Messages(n) => t!("bench-per-connection", n = n.to_string()),
            };
            let title = t!(
                "bench-title",
                conns = opts.connections.to_string(),
                size = opts.size.to_string(),
                how = how,
                median = of_rounds(opts.rounds),
            );
            writeln!(out, "{}", fitted(&title, opts.width))?;
            for t in tables {
                writeln!(out, "{t}")?;
            }
            for r in rows {
                if let Some(note) = r.note {
                    let note = t!("bench-row-note", model = &r.model, note = note.to_string());
                    writeln!(out, "{note}")?;
                }
            }
            writeln!(out, "{}", fitted(&t!("bench-legend"), opts.width))?;
        }
    }
    out.flush()
}

/// The scaling sweep's options.
#[derive(Clone, Debug)]
pub struct ScalingOpts {
    pub models: Vec<String>,
    pub active: usize,
    pub idle_steps: Vec<usize>,
    pub size: usize,
    pub until: Until,
    pub format: Format,
    pub plot: Option<PathBuf>,
    pub progress: bool,
    /// Columns the tables fit in, as [`BenchOpts::width`].
    pub width: Option<usize>,
}
