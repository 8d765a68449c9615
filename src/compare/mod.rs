//! `iomodels compare`: the same scenario under several models, side by side, then a table of
//! their numbers and Stevens' figure 6.6 drawn from what was measured.

use crate::limits::Knobs;
use crate::models::Model;
use crate::run::{self, RunOpts, Sink};
use crate::trace::perfetto;
use crate::trace::story::{Read, reads};
use crate::trace::summary::Summary;
use crate::trace::timeline::Timeline;
use crate::trace::{Event, Kind};
use anyhow::{Context, Result};
use serde::Serialize;
use std::io::Write;
use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
    Perfetto,
}

pub mod asynchrony;
mod columns;
mod figure;
mod table;

use columns::{StepRows, cells, side_by_side};
use figure::{Followed, draw, fig_row};
use table::row;

pub use figure::FigRow;
pub use table::Row;

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
    /// `--html FILE`: also write every run's timeline, the figure and the table as a page.
    pub html: Option<std::path::PathBuf>,
}

/// Collects a run's title and events for later rendering.
#[derive(Default)]
struct Collect {
    title: String,
    events: Vec<Event>,
}

impl Sink for Collect {
    fn start(&mut self, title: &str) {
        self.title = title.to_string();
    }

    fn event(&mut self, ev: &Event) {
        self.events.push(ev.clone());
    }
}

/// One model's run, or why it failed.
struct Column {
    model: &'static Model,
    title: String,
    events: Vec<Event>,
    summary: Summary,
    error: Option<String>,
    /// With the kernel lane: every client message it saw copied, read once from `events`.
    reads: Option<Vec<Read>>,
}

/// What each run of a command that runs several models on one scenario (`compare`, `async`)
/// is given: the scenario, traced to JSON events, on loopback. `--kernel` is refused once,
/// before any run, where the lane cannot be had (not root, …).
fn scenario_runs(
    scenario: Option<std::path::PathBuf>,
    kernel: Option<crate::kernel::Scope>,
    read_size: usize,
) -> Result<RunOpts> {
    if let Some(scope) = kernel {
        drop(crate::kernel::Lane::start(crate::kernel::Want {
            serve: false,
            idle: 0,
            cap: 0,
            scope,
            library_threads: false,
        })?);
    }
    Ok(RunOpts {
        scenario,
        serve: false,
        bind: IpAddr::from([127, 0, 0, 1]),
        port: 0,
        format: run::Format::Json,
        html: None,
        no_trace: false,
        idle: 0,
        max_fds: None,
        width: None,
        kernel,
        knobs: Knobs {
            read_size,
            ..Knobs::default()
        },
    })
}

/// One run of `model` with `opts`, its events collected (a failure is kept, not returned).
fn run_column(model: &'static Model, opts: &RunOpts) -> Column {
    let mut sink = Collect::default();
    let (summary, error) = match run::execute(model, opts, &mut sink) {
        Ok(done) if done.failures.is_empty() => (done.summary, None),
        Ok(done) => (done.summary, Some(done.failures.join("; "))),
        Err(e) => (Summary::default(), Some(format!("{e:#}"))),
    };
    let Collect { title, events } = sink;
    let reads = events
        .iter()
        .any(|e| e.kind == Kind::Kernel)
        .then(|| reads(&events));
    Column {
        model,
        title,
        events,
        summary,
        error,
        reads,
    }
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
    let mut run = scenario_runs(args.scenario, args.kernel, args.read_size as usize)?;
    run.knobs.app = args.app;
    let models = can_serve(models, !args.models.is_empty(), &run.knobs);
    if models.is_empty() {
        crate::say!("{}", crate::t!("err-compare-no-chat"));
        return Ok(2);
    }
    let width = args.look.width().unwrap_or(100);
    let opts = CompareOpts {
        models,
        run,
        width,
        format: args.format,
        read: args.read,
        unicode: args.look.color.color != crate::Color::Never,
        color,
        html: args.html,
    };
    compare(&opts)
}

/// The models that can serve the app (`--app chat`: not those that serve one client at a
/// time); each one left out is told in one line, not as an error, but plainly when it was
/// `named`.
fn can_serve(models: Vec<&'static Model>, named: bool, knobs: &Knobs) -> Vec<&'static Model> {
    if knobs.app != crate::chat::App::Chat {
        return models;
    }
    models
        .into_iter()
        .filter(|m| {
            let Some(why) = m.no_chat(knobs) else {
                return true;
            };
            if named {
                crate::say!("{}", crate::t!("compare-left-out-named", why = why));
            } else {
                crate::say!("{}", crate::t!("compare-left-out", why = why));
            }
            false
        })
        .collect()
}

/// Runs every model on the scenario and prints the comparison. Returns the exit code.
pub fn compare(opts: &CompareOpts) -> Result<i32> {
    let (name, scenario) = run::load_scenario(opts.run.scenario.as_ref(), opts.run.knobs.app)?;
    let chat = opts.run.knobs.app == crate::chat::App::Chat;
    // In a chat a client's first message is its name: the figure follows its first line to
    // the room, the message after it.
    let skip = usize::from(chat);
    let sends = |client: &str| -> Vec<usize> {
        scenario
            .steps
            .iter()
            .filter(|s| s.client == client)
            .filter_map(|s| match &s.action {
                crate::scenario::Action::Send(p) => Some(p.len()),
                _ => None,
            })
            .collect()
    };
    let senders: Vec<&str> = scenario
        .clients()
        .into_iter()
        .filter(|c| sends(c).len() > skip)
        .collect();
    // A figure of nothing would look like a measurement: say which clients there are instead.
    if let Some(want) = &opts.read {
        if !scenario.clients().contains(&want.as_str()) {
            anyhow::bail!(crate::t!(
                "err-read-no-client",
                want = want,
                scenario = name,
                clients = scenario.clients().join(", ")
            ));
        }
        if !senders.contains(&want.as_str()) {
            let senders = if senders.is_empty() {
                crate::t!("err-read-none")
            } else {
                senders.join(", ")
            };
            anyhow::bail!(crate::t!(
                "err-read-silent",
                want = want,
                scenario = name,
                app = crate::chat::App::name(if chat {
                    crate::chat::App::Chat
                } else {
                    crate::chat::App::Echo
                }),
                senders = senders
            ));
        }
    }
    // The page's file is made before the runs, so that a bad path fails at once.
    let html = opts
        .html
        .as_ref()
        .map(|p| {
            std::fs::File::create(p)
                .with_context(|| crate::t!("err-write", file = p.display().to_string()))
        })
        .transpose()?;
    let columns: Vec<Column> = opts
        .models
        .iter()
        .map(|&model| run_column(model, &opts.run))
        .collect();
    // By default, follow the first client of the script that sends something (A, in class).
    let reader = opts
        .read
        .clone()
        .or_else(|| senders.first().map(|c| c.to_string()));
    let rows: Vec<Row> = columns.iter().map(|c| row(c, chat)).collect();
    let followed = reader.as_deref().map(|client| Followed {
        client,
        skip,
        offset: sends(client)[..skip].iter().sum::<usize>() as i64,
    });
    let figure: Vec<FigRow> = match &followed {
        Some(f) => columns.iter().filter_map(|c| fig_row(c, f)).collect(),
        None => Vec::new(),
    };
    let what = followed.as_ref().map(|f| match chat {
        true => crate::t!("fig-followed-chat", client = f.client),
        false => crate::t!("fig-followed", client = f.client),
    });
    let steps = StepRows::new(&scenario.steps);
    let mut timelines: Vec<Timeline> = columns
        .iter()
        .filter(|_| html.is_some() || opts.format == Format::Perfetto)
        .map(|c| Timeline::new(c.model.name, &c.title, &c.events, &c.summary))
        .collect();
    let out = &mut std::io::stdout().lock();
    match opts.format {
        Format::Perfetto => {
            // A chat's numbers in each process's name, where Perfetto shows them.
            for (t, r) in timelines.iter_mut().zip(&rows) {
                if let Some(n) = &r.chat {
                    t.model = format!(
                        "{} · {} deliveries, {} sends, {} dropped, peak queue {} B",
                        t.model, n.deliveries, n.sends, n.dropped, n.peak_queue
                    );
                }
            }
            perfetto::write(out, &timelines)?
        }
        Format::Json => {
            #[derive(Serialize)]
            struct Json<'a> {
                kind: &'static str,
                #[serde(skip_serializing_if = "Option::is_none")]
                app: Option<&'static str>,
                steps: &'a [String],
                side_by_side: Vec<(&'static str, Vec<Vec<String>>)>,
                table: &'a [Row],
                figure_read: Option<&'a String>,
                figure: &'a [FigRow],
            }
            let side = columns
                .iter()
                .map(|c| (c.model.name, cells(c, &steps)))
                .collect();
            let json = Json {
                kind: "compare",
                app: chat.then(|| opts.run.knobs.app.name()),
                steps: &steps.labels,
                side_by_side: side,
                table: &rows,
                figure_read: reader.as_ref(),
                figure: &figure,
            };
            serde_json::to_writer(&mut *out, &json).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        Format::Markdown => {
            writeln!(out, "{}\n", table::table(&rows, true, opts))?;
            writeln!(
                out,
                "```text\n{}```",
                draw(&figure, what.as_deref(), opts.width, opts.unicode, false)
            )?;
        }
        Format::Text => {
            side_by_side(out, &columns, &steps, opts)?;
            writeln!(out, "\n{}", table::table(&rows, false, opts))?;
            writeln!(
                out,
                "\n{}",
                draw(
                    &figure,
                    what.as_deref(),
                    opts.width,
                    opts.unicode,
                    opts.color
                )
            )?;
        }
    }
    out.flush()?;
    if let (Some(file), Some(path)) = (html, &opts.html) {
        let page = crate::html::Page {
            title: &match chat {
                true => format!("iomodels compare --app chat · scenario `{name}`"),
                false => format!("iomodels compare · scenario `{name}`"),
            },
            runs: &timelines,
            summary: None,
            table: Some(serde_json::to_value(&rows)?),
            figure: Some(serde_json::json!({ "read": reader, "rows": figure })),
            steps: Some(
                steps
                    .at_us
                    .iter()
                    .zip(&steps.labels)
                    .map(|(&at, what)| (at, what.clone()))
                    .collect(),
            ),
            notice: &[],
        };
        crate::html::write(file, &page)
            .with_context(|| crate::t!("err-write", file = path.display().to_string()))?;
        crate::say!("{}", crate::t!("wrote", file = path.display().to_string()));
    }
    let failed: Vec<&Column> = columns.iter().filter(|c| c.error.is_some()).collect();
    for c in &failed {
        let message = format!("{}: {}", c.model.name, c.error.as_deref().unwrap_or(""));
        crate::say!("{}", crate::t!("error", message = message));
    }
    Ok(if failed.is_empty() { 0 } else { 1 })
}
