//! `iomodels bench --scaling`: what idle connections cost. K active connections echo in a
//! closed loop while 0, 100, 1,000, 10,000 others sit idle. A readiness model that scans every
//! descriptor per call (select, poll) pays per idle connection on every echo; epoll and
//! io_uring should not. The idle connections come from this process and the server is a child,
//! so each side holds its own 10,000 descriptors.

use super::child::{self, Server, Target};
use super::load::{self, Until};
use super::{Format, ScalingOpts, measure, plot, progress_bar};
use crate::lang::{self, Lang};
use crate::models::{Kind, Model};
use crate::t;
use anyhow::{Result, bail};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::{Serialize, Serializer};
use std::io::Write as _;
use std::time::{Duration, Instant};

/// Whether the sweep is about `m` by default: a model that waits on every connection with one
/// call (readiness) or hears of completions, where what an idle connection costs is the question.
pub fn swept(m: &Model) -> bool {
    matches!(m.kind, Kind::Readiness | Kind::Completion)
}

/// Descriptors `select` can watch: its `fd_set` is a bitmap of this many bits.
const FD_SETSIZE: usize = libc::FD_SETSIZE;

/// One step of one model.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub model: String,
    pub idle: usize,
    pub active: usize,
    pub requests: u64,
    pub verified: u64,
    pub requests_per_s: f64,
    pub cpu_per_echo_us: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    /// The server's resident memory after this step, in kB.
    pub rss_kb: u64,
}

/// One model's sweep: its steps, its peak memory, and why it stopped early if it did.
#[derive(Clone, Debug, Serialize)]
pub struct Sweep {
    pub model: String,
    pub steps: Vec<Step>,
    /// Peak resident memory of the server (`VmHWM`), in kB, with the most connections held.
    pub peak_rss_kb: u64,
    /// The most connections the server held at once (idle + active).
    pub peak_connections: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
}

/// Why a sweep stopped at a step, or what went wrong in it.
#[derive(Clone, Debug)]
pub struct Note {
    pub idle: usize,
    pub why: Why,
}

#[derive(Clone, Debug)]
pub enum Why {
    /// `select` cannot watch this many descriptors.
    BeyondFdSetsize,
    /// An error, as it was told.
    Failed(String),
}

impl Note {
    /// The note in `lang`: the table's in this run's, the JSON's in English.
    fn text(&self, lang: Lang) -> String {
        let idle = ("idle", lang::Arg::from(self.idle.to_string()));
        match &self.why {
            Why::BeyondFdSetsize => lang::text_in(
                lang,
                BEYOND.0,
                &[idle, ("max", lang::Arg::from(FD_SETSIZE.to_string()))],
            ),
            Why::Failed(why) => lang::text_in(lang, FAILED.0, &[idle, ("why", why.into())]),
        }
    }
}

const BEYOND: lang::Msg = crate::msg!("bench-scaling-beyond");
const FAILED: lang::Msg = crate::msg!("bench-scaling-failed");

/// In the JSON, a note is in English whatever the language: what programs read does not change.
impl Serialize for Note {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text(Lang::En))
    }
}

pub fn scaling(opts: &ScalingOpts) -> Result<i32> {
    if opts.models.is_empty() {
        let names: Vec<&str> = crate::models::MODELS
            .iter()
            .filter(|m| swept(m))
            .map(|m| m.name)
            .collect();
        bail!(t!("bench-err-none-swept", models = names.join(", ")));
    }
    let most = opts.idle_steps.iter().copied().max().unwrap_or(0);
    child::raise_fd_limit((most + opts.active) as u64 + 64)?;
    let mut sweeps = Vec::new();
    for m in &opts.models {
        sweeps.push(sweep(m, opts)?);
    }
    write(opts, &sweeps)?;
    let failed = sweeps
        .iter()
        .flat_map(|s| &s.steps)
        .any(|s| s.verified != s.requests || s.requests == 0);
    Ok(if failed { 1 } else { 0 })
}

fn sweep(model: &str, opts: &ScalingOpts) -> Result<Sweep> {
    let mut srv = Server::start(&Target::Model(model.to_string()))?;
    let base_fds = srv.open_fds();
    let mut idle = Vec::new();
    let mut out = Sweep {
        model: model.to_string(),
        steps: Vec::new(),
        peak_rss_kb: 0,
        peak_connections: 0,
        notes: Vec::new(),
    };
    for &n in &opts.idle_steps {
        if model == "select" && n + opts.active + 8 > FD_SETSIZE {
            out.notes.push(Note {
                idle: n,
                why: Why::BeyondFdSetsize,
            });
            break;
        }
        if n > idle.len() {
            match load::connect(srv.addr, n - idle.len()) {
                Ok(more) => idle.extend(more),
                Err(e) => {
                    out.notes.push(Note {
                        idle: n,
                        why: Why::Failed(format!("{e:#}")),
                    });
                    break;
                }
            }
            wait_accepted(&srv, base_fds + n);
        }
        let pb = progress_bar(
            opts.progress,
            &format!("{model} +{n}"),
            opts.until,
            opts.active,
            &t!("bench-unit-echoes"),
        );
        let m = measure(&mut srv, opts.active, opts.size, opts.until, pb.as_ref());
        if let Some(pb) = pb {
            pb.finish_and_clear();
        }
        let alive = srv.check();
        let m = match (m, alive) {
            (Ok(m), Ok(())) => m,
            (Err(e), _) | (_, Err(e)) => {
                out.notes.push(Note {
                    idle: n,
                    why: Why::Failed(format!("{e:#}")),
                });
                break;
            }
        };
        for e in &m.outcome.errors {
            out.notes.push(Note {
                idle: n,
                why: Why::Failed(e.clone()),
            });
        }
        out.peak_connections = out.peak_connections.max(n + opts.active);
        out.steps.push(Step {
            model: model.to_string(),
            idle: n,
            active: opts.active,
            requests: m.outcome.requests,
            verified: m.outcome.verified,
            requests_per_s: m.rate(),
            cpu_per_echo_us: m.cpu_per_request_us(),
            p50_us: m.pct_us(0.5),
            p99_us: m.pct_us(0.99),
            rss_kb: srv.status_kb("VmRSS").unwrap_or(0),
        });
    }
    out.peak_rss_kb = srv.status_kb("VmHWM").unwrap_or(0);
    drop(idle);
    srv.stop()?;
    Ok(out)
}

/// Waits until the server holds `fds` descriptors (it has accepted every idle connection), or
/// until the count stops growing (a model may keep connections where `/proc` does not show
/// them, such as io_uring's registered files).
fn wait_accepted(srv: &Server, fds: usize) {
    let mut last = (srv.open_fds(), Instant::now());
    while last.0 < fds && last.1.elapsed() < Duration::from_millis(500) {
        std::thread::sleep(Duration::from_millis(10));
        let now = srv.open_fds();
        if now != last.0 {
            last = (now, Instant::now());
        }
    }
}

fn write(opts: &ScalingOpts, sweeps: &[Sweep]) -> Result<()> {
    let out = &mut std::io::stdout().lock();
    if let Some(path) = &opts.plot {
        plot::svg(path, sweeps)?;
    }
    match opts.format {
        Format::Json => {
            let doc = serde_json::json!({
                "kind": "scaling",
                "active": opts.active,
                "size": opts.size,
                "models": sweeps,
            });
            writeln!(out, "{doc}")?;
        }
        Format::Csv => {
            writeln!(
                out,
                "model,idle,active,requests,verified,requests_per_s,cpu_per_echo_us,p50_us,p99_us,rss_kb,peak_rss_kb"
            )?;
            for s in sweeps {
                for st in &s.steps {
                    writeln!(
                        out,
                        "{},{},{},{},{},{:.1},{:.3},{:.1},{:.1},{},{}",
                        st.model,
                        st.idle,
                        st.active,
                        st.requests,
                        st.verified,
                        st.requests_per_s,
                        st.cpu_per_echo_us,
                        st.p50_us,
                        st.p99_us,
                        st.rss_kb,
                        s.peak_rss_kb
                    )?;
                }
            }
        }
        Format::Table => {
            let how = match opts.until {
                Until::Time(d) => t!(
                    "bench-scaling-per-step",
                    seconds = format!("{:.1}", d.as_secs_f64())
                ),
                Until::Messages(n) => t!("bench-scaling-per-connection", n = n.to_string()),
            };
            let title = t!(
                "bench-scaling-title",
                active = opts.active.to_string(),
                size = opts.size.to_string(),
                how = how,
            );
            writeln!(out, "{}", super::fitted(&title, opts.width))?;
            let mut t = Table::new();
            super::fit(&mut t, opts.width);
            t.load_style(UTF8_FULL_CONDENSED).set_header(vec![
                t!("bench-col-model"),
                t!("bench-scaling-col-idle"),
                t!("bench-col-requests"),
                t!("bench-scaling-col-cpu"),
                t!("bench-col-p50"),
                t!("bench-col-p99"),
                t!("bench-scaling-col-rss"),
            ]);
            for s in sweeps {
                for st in &s.steps {
                    t.add_row(vec![
                        st.model.clone(),
                        st.idle.to_string(),
                        format!("{:.0}", st.requests_per_s),
                        format!("{:.1}", st.cpu_per_echo_us),
                        format!("{:.0}", st.p50_us),
                        format!("{:.0}", st.p99_us),
                        format!("{:.1}", st.rss_kb as f64 / 1024.0),
                    ]);
                }
            }
            writeln!(out, "{t}")?;
            let mut mem = Table::new();
            super::fit(&mut mem, opts.width);
            mem.load_style(UTF8_FULL_CONDENSED).set_header(vec![
                t!("bench-col-model"),
                t!("bench-scaling-col-held"),
                t!("bench-scaling-col-peak"),
            ]);
            for s in sweeps {
                mem.add_row(vec![
                    s.model.clone(),
                    s.peak_connections.to_string(),
                    format!("{:.1}", s.peak_rss_kb as f64 / 1024.0),
                ]);
            }
            writeln!(out, "{mem}")?;
            writeln!(out)?;
            write!(out, "{}", plot::text_chart(sweeps))?;
            for s in sweeps {
                for n in &s.notes {
                    let note = t!(
                        "bench-scaling-note",
                        model = &s.model,
                        note = n.text(lang::current())
                    );
                    writeln!(out, "{}", super::fitted(&note, opts.width))?;
                }
            }
            if let Some(p) = &opts.plot {
                let path = p.display().to_string();
                writeln!(out, "{}", t!("bench-scaling-plot-written", path = path))?;
            }
        }
    }
    Ok(())
}
