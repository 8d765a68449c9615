//! Runs one model: its server on a thread of its own, the scripted clients on theirs, and the
//! rendering of the trace here, on the main thread, so the server's calls are only its own.

use crate::chat::App;
use crate::crowd::Crowd;
use crate::kernel::{self, Lane};
use crate::limits::Knobs;
use crate::models::{Model, Refused};
use crate::scenario::{self, Scenario, clients};
use crate::server::{Server, StopHandle};
use crate::trace::json::JsonRenderer;
use crate::trace::perfetto;
use crate::trace::summary::Summary;
use crate::trace::text::{TextRenderer, thousands};
use crate::trace::timeline::Timeline;
use crate::trace::{Event, Kind, Recorder, Stage};
use anyhow::{Context, Result, anyhow};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Perfetto,
}

/// What a run needs to know, from the command line.
#[derive(Clone, Debug)]
pub struct RunOpts {
    pub scenario: Option<PathBuf>,
    pub serve: bool,
    pub bind: IpAddr,
    pub port: u16,
    pub format: Format,
    /// `--html FILE`: also write the run as one self-contained HTML page.
    pub html: Option<PathBuf>,
    pub no_trace: bool,
    /// Idle client connections the harness opens before the scenario and holds until its end.
    pub idle: usize,
    /// Lower the soft RLIMIT_NOFILE to this (`--max-fds`), to show running out of descriptors.
    pub max_fds: Option<u64>,
    /// Columns to fit the text trace to (`None`: whole lines).
    pub width: Option<usize>,
    pub knobs: Knobs,
    /// `--kernel`: merge the kernel's own tracepoints for the run's threads into the trace.
    pub kernel: Option<kernel::Scope>,
}

/// The signals that end `--serve` the way Ctrl-C does, with teardown and summary: also a
/// service manager's stop (SIGTERM) and a closed terminal (SIGHUP). Windows has only Ctrl-C.
#[cfg(unix)]
const STOP_SIGNALS: &[(i32, &str)] = &[
    (signal_hook::consts::SIGINT, "Ctrl-C"),
    (signal_hook::consts::SIGTERM, "SIGTERM"),
    (signal_hook::consts::SIGHUP, "SIGHUP"),
];
#[cfg(windows)]
const STOP_SIGNALS: &[(i32, &str)] = &[(signal_hook::consts::SIGINT, "Ctrl-C")];

/// How long the server may take to stop once the scenario is over, before the run fails.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// How long past its last step a scenario may run before the harness gives up on it: more than
/// any one client action may take (each is bounded by `clients::ECHO_TIMEOUT`).
const RUN_GRACE: Duration = Duration::from_secs(30);

/// The most a scenario file (or stdin, `--scenario -`) may hold: a run never reads without end.
const MAX_SCENARIO: u64 = 1 << 20;

/// Loads the scenario named on the command line (`-`: stdin), or the built-in classroom one.
pub fn load_scenario(path: Option<&PathBuf>, app: App) -> Result<(String, Scenario)> {
    let (name, sc) = read_scenario(path, app)?;
    match (app, sc.chat()) {
        (App::Echo, true) => Err(anyhow!(crate::t!("err-scenario-chat", name = name))),
        _ => Ok((name, sc)),
    }
}

/// The scenario file (`-`: stdin), or the built-in one for the app.
fn read_scenario(path: Option<&PathBuf>, app: App) -> Result<(String, Scenario)> {
    let Some(p) = path else {
        let (name, text) = match app {
            App::Echo => ("classroom", scenario::CLASSROOM),
            App::Chat => ("chat", scenario::CHAT),
        };
        return Ok((
            name.into(),
            Scenario::parse(text).expect("the built-in scenarios parse"),
        ));
    };
    let (name, label, text) = if p.as_os_str() == "-" {
        // Stdin can be read once; `compare` loads the scenario again for every model.
        static STDIN: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
        let text = STDIN
            .get_or_init(|| {
                read_bounded(std::io::stdin().lock(), "stdin").map_err(|e| format!("{e:#}"))
            })
            .clone()
            .map_err(|e| anyhow!(e))?;
        ("stdin".to_string(), "stdin".to_string(), text)
    } else {
        let file = std::fs::File::open(p)
            .with_context(|| crate::t!("err-scenario-read", file = p.display().to_string()))?;
        let name = p
            .file_stem()
            .map_or("scenario".into(), |s| s.to_string_lossy().into_owned());
        let label = p.display().to_string();
        let text = read_bounded(file, &label)?;
        (name, label, text)
    };
    let sc = Scenario::parse(&text).map_err(|e| {
        let line = e.line.to_string();
        anyhow!(crate::t!(
            "err-scenario-at",
            file = label,
            line = line,
            msg = e.msg
        ))
    })?;
    Ok((name, sc))
}

/// Reads a scenario's text, at most [`MAX_SCENARIO`] bytes of it.
fn read_bounded(from: impl std::io::Read, label: &str) -> Result<String> {
    use std::io::Read as _;
    let mut text = String::new();
    from.take(MAX_SCENARIO + 1)
        .read_to_string(&mut text)
        .with_context(|| crate::t!("err-scenario-read", file = label))?;
    if text.len() as u64 > MAX_SCENARIO {
        anyhow::bail!(crate::t!("err-scenario-big", file = label));
    }
    Ok(text)
}

/// The refusal for a model this OS lacks.
pub fn unsupported(model: &Model) -> anyhow::Error {
    anyhow!(crate::t!(
        "err-unsupported",
        model = model.name,
        platforms = model.platforms,
        os = std::env::consts::OS,
        instead = model.instead
    ))
}

/// The models named on the command line (`compare`, `bench`), each one this OS has.
pub fn available_models(names: &[String]) -> Result<Vec<&'static Model>> {
    names
        .iter()
        .map(|name| match crate::models::find(name) {
            Some(m) if m.available() => Ok(m),
            Some(m) => Err(unsupported(m)),
            None => Err(anyhow!(crate::t!("err-unknown-model", name = name))),
        })
        .collect()
}

/// Where a run's events go as they happen.
pub trait Sink {
    /// The run's title, once the server is listening.
    fn start(&mut self, _title: &str) {}
    fn event(&mut self, ev: &Event);
    /// Called now and then while no events come (a renderer may show a call still blocked).
    fn idle(&mut self) {}
}

/// A finished run: its numbers, and what went wrong (empty on success).
pub struct Finished {
    pub summary: Summary,
    pub failures: Vec<String>,
}

/// Trace lines a scenario run prints at most in each of its phases (the idle crowd opening, the
/// scenario, the teardown: the harness's own lines part them), per format; past them, events
/// are only counted (the summary still sees every one). A one-byte read size can otherwise
/// print hundreds of megabytes, and a crowd of 10,000 would hide the scenario. `--serve` is
/// live and has no cap.
const TEXT_LINES: u64 = 5_000;
const JSON_LINES: u64 = 100_000;

/// Prints the trace as it comes, in the chosen format, up to its cap.
struct Printer<'a> {
    text: Option<TextRenderer<std::io::StdoutLock<'a>>>,
    json: Option<JsonRenderer<std::io::StdoutLock<'a>>>,
    /// Lines a phase may print.
    cap: u64,
    /// Lines this phase may still print before the rest are only counted.
    room: u64,
    /// Lines of this phase not printed past the cap.
    folded: u64,
    /// When the last event happened, for the closing "folded" line.
    last_us: u64,
    /// The events shown, for the timelines (`--format perfetto`, `--html`).
    kept: Option<Vec<Event>>,
    title: String,
}

impl Printer<'_> {
    fn show(&mut self, ev: &Event) {
        if let Some(t) = &mut self.text {
            t.event(ev);
        }
        if let Some(j) = &mut self.json {
            j.event(ev);
        }
        if let Some(k) = &mut self.kept {
            k.push(ev.clone());
        }
    }

    /// Says how many lines of the phase the cap kept back, after the last one printed, and
    /// starts the next phase.
    fn fold(&mut self) {
        self.room = self.cap;
        if self.folded == 0 {
            return;
        }
        let mut ev = Event::new(Kind::Info, "", Stage::Setup);
        ev.t_us = self.last_us;
        ev.actor = "harness".into();
        ev.note = crate::t!("folded", n = thousands(self.folded));
        self.folded = 0;
        self.show(&ev);
    }
}

impl Sink for Printer<'_> {
    fn start(&mut self, title: &str) {
        self.title = title.to_string();
        if let Some(t) = &mut self.text {
            t.header(title);
        }
    }

    fn event(&mut self, ev: &Event) {
        self.last_us = self.last_us.max(ev.t_us);
        // The kernel lane caps itself (see `kernel::Want::cap`): its lines take no room here.
        if ev.kind == Kind::Kernel || ev.actor.as_ref() == "kernel" {
            self.show(ev);
            return;
        }
        // A JSON line per event; in text, a wait is a line only if the call slept, so no count.
        let line = u64::from(ev.kind != Kind::Wait || self.json.is_some());
        // The harness's own lines (the crowd is open, the scenario is over) always show, and
        // end a phase: they say what the folded lines were part of.
        if ev.actor.as_ref() == "harness" {
            self.fold();
            self.show(ev);
            return;
        }
        if self.room == 0 {
            self.folded += line;
            return;
        }
        self.room -= line;
        self.show(ev);
    }

    fn idle(&mut self) {
        if let Some(t) = &mut self.text {
            t.tick();
        }
    }
}

/// Runs a model and prints its trace and summary. Returns the process exit code.
pub fn run(model: &Model, opts: &RunOpts) -> Result<i32> {
    let stdout = std::io::stdout();
    let cap = cap(opts);
    // The page's file is made before the run, so that a bad path fails at once.
    let html = opts
        .html
        .as_ref()
        .map(|p| {
            std::fs::File::create(p)
                .with_context(|| crate::t!("err-write", file = p.display().to_string()))
        })
        .transpose()?;
    let mut printer = Printer {
        text: (opts.format == Format::Text).then(|| TextRenderer::new(stdout.lock(), opts.width)),
        json: (opts.format == Format::Json).then(|| JsonRenderer::new(stdout.lock())),
        cap,
        room: cap,
        folded: 0,
        last_us: 0,
        kept: (opts.format == Format::Perfetto || html.is_some()).then(Vec::new),
        title: String::new(),
    };
    let done = execute(model, opts, &mut printer)?;
    printer.fold();
    let mut notice = (model.notice)(&done.summary);
    notice.extend(crate::chat::notice(&done.summary, opts.knobs.max_pending));
    notice.extend(crate::trace::story::lessons(
        &done.summary.story,
        &done.summary.kernel,
    ));
    if let Some(t) = &mut printer.text {
        let state = crate::lang::registry(model.name, "state", model.state);
        t.finish(model.name, &done.summary, &state, &notice, opts.serve);
    }
    if let Some(j) = &mut printer.json {
        j.finish(model.name, &done.summary, model.state, &notice, opts.serve);
    }
    let timeline = printer
        .kept
        .take()
        .map(|events| Timeline::new(model.name, &printer.title, &events, &done.summary));
    drop(printer);
    if let Some(t) = &timeline {
        if opts.format == Format::Perfetto {
            let _ = perfetto::write(&mut std::io::stdout().lock(), std::slice::from_ref(t));
        }
        if let (Some(file), Some(path)) = (html, &opts.html) {
            let page = crate::html::Page {
                title: &t.title,
                runs: std::slice::from_ref(t),
                summary: Some(serde_json::to_value(&done.summary)?),
                table: None,
                figure: None,
                steps: None,
                notice: &notice,
            };
            crate::html::write(file, &page)
                .with_context(|| crate::t!("err-write", file = path.display().to_string()))?;
            crate::say!("{}", crate::t!("wrote", file = path.display().to_string()));
        }
    }
    let _ = std::io::stdout().flush();
    for f in &done.failures {
        crate::say!("{}", crate::t!("error", message = f));
    }
    Ok(if done.failures.is_empty() { 0 } else { 1 })
}

/// Runs a model: its server on its own thread, the clients (or `--serve`'s real ones) on
/// theirs, and every event handed to `sink` here, on the calling thread.
pub fn execute(model: &Model, opts: &RunOpts, sink: &mut dyn Sink) -> Result<Finished> {
    let serve = model.serve.ok_or_else(|| unsupported(model))?;
    // Before anything takes a descriptor or lowers the limit: the lane's files sit high.
    // A scenario run is cut short by Ctrl-C, but with the lane its instance must go first: the
    // signal is caught from before the instance exists (a shell's `cmd &` starts it ignored).
    let interrupted = match opts.kernel {
        Some(_) if !opts.serve => Some(interrupt_flag()?),
        _ => None,
    };
    let mut lane = start_lane(model, opts)?;
    let Prepared {
        scenario,
        premade,
        knobs,
    } = prepare(opts)?;
    let (rec, rx) = if opts.no_trace {
        let (_, rx) = Recorder::new();
        (Recorder::disabled(), rx)
    } else {
        Recorder::new()
    };
    let addr = SocketAddr::new(opts.bind, opts.port);
    let server_rec = rec.clone();
    let (server, local, stop) = listed(lane.as_ref(), move || {
        start_server(serve, &server_rec, addr, knobs)
    })??;
    if let Some(l) = &mut lane {
        l.begin(&rec, local.port());
    }
    let title = title(model, scenario.as_ref(), local);

    // The clients, or a stop signal in serve mode, decide when the server stops.
    let signalled = Arc::new(AtomicUsize::new(0));
    let board = Arc::new(clients::Board::default());
    let length = scenario
        .as_ref()
        .map_or(Duration::ZERO, |(_, sc)| sc.length());
    let clients = match scenario {
        Some((_, sc)) => {
            let start = Start {
                local,
                idle: opts.idle,
                premade,
                board: board.clone(),
                app: opts.knobs.app,
            };
            let rec = rec.clone();
            Some(listed(lane.as_ref(), move || {
                start_clients(sc, start, rec, stop)
            })??)
        }
        None => {
            watch_signals(rec.clone(), stop, signalled.clone())?;
            // Announced once the stop signals are caught: whoever reads this line may send one.
            if opts.serve {
                crate::say!(
                    "serving on {local} — connect with: nc {} {}",
                    local.ip(),
                    local.port()
                );
            }
            None
        }
    };
    drop(rec);

    sink.start(&title);
    let (stuck, summary) = drain(rx, sink, lane.as_mut(), |done_at| {
        if let Some(sig) = interrupted.as_ref().map(|f| f.load(Ordering::SeqCst))
            && sig != 0
        {
            return Some(Stuck::Interrupted(signal_name(sig)));
        }
        // Give the server a grace period once the clients (or a stop signal) have finished.
        let finished = clients.as_ref().is_some_and(|c| c.is_finished())
            || signalled.load(Ordering::SeqCst) != 0;
        if finished && done_at.is_none() {
            *done_at = Some(Instant::now());
        }
        if done_at.is_some_and(|t| t.elapsed() > STOP_GRACE) {
            return Some(Stuck::Server);
        }
        // A scripted run always ends: past its last step and a grace period, it gives up.
        let late = board
            .started()
            .is_some_and(|t| t.elapsed() > length + RUN_GRACE);
        (!finished && late).then(|| Stuck::Clients(board.stuck()))
    });
    let mut failures = clients_failures(stuck.as_ref(), clients, &summary);
    failures.extend(server_failures(stuck.as_ref(), server, opts.serve)?);
    // The lane (its ftrace instance) goes here, once the run's threads are done.
    drop(lane);
    Ok(Finished { summary, failures })
}

/// Runs `f` (which starts threads) on a thread the kernel lane follows, or here without it.
fn listed<T: Send + 'static>(
    lane: Option<&Lane>,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    match lane {
        Some(l) => l.listed(f),
        None => Ok(f()),
    }
}

/// The stop signals, caught once for every `--kernel` scenario run of this process: the
/// signal that ended the run, or 0.
fn interrupt_flag() -> Result<Arc<AtomicUsize>> {
    static FLAG: std::sync::OnceLock<Arc<AtomicUsize>> = std::sync::OnceLock::new();
    if let Some(f) = FLAG.get() {
        return Ok(f.clone());
    }
    let flag = Arc::new(AtomicUsize::new(0));
    for &(sig, _) in STOP_SIGNALS {
        signal_hook::flag::register_usize(sig, flag.clone(), sig as usize)
            .with_context(|| crate::t!("err-signal", signal = sig.to_string()))?;
    }
    Ok(FLAG.get_or_init(|| flag).clone())
}

/// A stop signal by the name the trace gives it (`Ctrl-C`, `SIGTERM`).
fn signal_name(sig: usize) -> &'static str {
    STOP_SIGNALS
        .iter()
        .find(|(s, _)| *s as usize == sig)
        .map_or("a signal", |(_, name)| name)
}

/// Lines a phase of the run shows at most, in its format (`--serve` is live: no cap).
fn cap(opts: &RunOpts) -> u64 {
    match opts.format {
        _ if opts.serve => u64::MAX,
        Format::Text => TEXT_LINES,
        Format::Json | Format::Perfetto => JSON_LINES,
    }
}

/// `--kernel`: the kernel lane, capped like the trace.
fn start_lane(model: &Model, opts: &RunOpts) -> Result<Option<Lane>> {
    let Some(scope) = opts.kernel else {
        return Ok(None);
    };
    let want = kernel::Want {
        serve: opts.serve,
        idle: opts.idle,
        cap: cap(opts),
        scope,
        library_threads: model.library_threads(),
    };
    Ok(Some(Lane::start(want)?))
}

/// What a run sets up before its server starts.
struct Prepared {
    /// The scenario and its name; `None` for `--serve`.
    scenario: Option<(String, Scenario)>,
    /// Client sockets made before the descriptor limit dropped (`--max-fds`).
    premade: clients::Premade,
    knobs: Knobs,
}

/// Loads the scenario and lowers the descriptor limit (`--max-fds`) with the clients' sockets
/// made first and kept above it, so that the server alone runs out of descriptors.
fn prepare(opts: &RunOpts) -> Result<Prepared> {
    // From here on, no descriptor is taken behind the program's back (see `--max-fds`).
    crate::sys::settle_allocator();
    crate::crowd::raise_nofile(opts.idle)?;
    let scenario = if opts.serve {
        None
    } else {
        Some(load_scenario(opts.scenario.as_ref(), opts.knobs.app)?)
    };
    // (A limit above the current one fails to move them; lower_nofile then says why, better.)
    let premade = match (&scenario, opts.max_fds) {
        (Some((_, sc)), Some(n)) => {
            clients::premade(sc, opts.bind, i32::try_from(n).unwrap_or(i32::MAX))
        }
        _ => Ok(clients::Premade::new()),
    };
    let mut knobs = opts.knobs.clone();
    knobs.fd_limit = crate::limits::lower_nofile(opts.max_fds)?;
    let premade = premade.map_err(|e| anyhow!("{e}"))?;
    Ok(Prepared {
        scenario,
        premade,
        knobs,
    })
}

/// The server thread: listen (on that thread, so the calls are in its trace), say where, serve
/// until stopped, tear down.
fn start_server(
    serve: crate::models::Serve,
    rec: &Recorder,
    addr: SocketAddr,
    knobs: Knobs,
) -> Result<(thread::JoinHandle<Result<()>>, SocketAddr, StopHandle)> {
    let (ready_tx, ready_rx) = sync_channel::<Result<(SocketAddr, StopHandle)>>(1);
    let server_rec = rec.clone();
    let server = thread::Builder::new()
        .name("server".into())
        .spawn(move || -> Result<()> {
            let tr = server_rec.thread("server", crate::sys::thread_id);
            drop(server_rec);
            match Server::listen(tr, addr, knobs) {
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    Ok(())
                }
                Ok((mut srv, local, stop)) => {
                    let _ = ready_tx.send(Ok((local, stop)));
                    let result = serve(&mut srv);
                    if result.is_err() {
                        srv.abort();
                    }
                    srv.teardown();
                    result
                }
            }
        })
        .with_context(|| crate::t!("err-server-thread"))?;
    let (local, stop) = ready_rx
        .recv()
        .map_err(|_| anyhow!(crate::t!("err-server-died")))??;
    Ok((server, local, stop))
}

/// The trace's first line: the model, its figure, and what is about to happen.
fn title(model: &Model, scenario: Option<&(String, Scenario)>, local: SocketAddr) -> String {
    match scenario {
        Some((name, sc)) => crate::t!(
            "title-scenario",
            model = model.name,
            figure = model.figure,
            summary = crate::lang::registry(model.name, "summary", model.summary),
            scenario = name,
            clients = sc.clients().len().to_string(),
            ms = sc.length().as_millis().to_string()
        ),
        None => crate::t!(
            "title-serve",
            model = model.name,
            figure = model.figure,
            summary = crate::lang::registry(model.name, "summary", model.summary),
            addr = local.to_string(),
            ip = local.ip().to_string(),
            port = local.port().to_string()
        ),
    }
}

/// What the scenario thread needs besides the scenario.
struct Start {
    local: SocketAddr,
    /// `--idle`: connections opened first and held to the end.
    idle: usize,
    premade: clients::Premade,
    board: Arc<clients::Board>,
    app: App,
}

/// The scenario thread: the idle crowd first (if any), then the scripted clients; when they are
/// done it stops the server, and only then lets the crowd hang up.
fn start_clients(
    sc: Scenario,
    start: Start,
    rec: Recorder,
    stop: StopHandle,
) -> Result<thread::JoinHandle<clients::Report>> {
    let Start {
        local,
        idle,
        premade,
        board,
        app,
    } = start;
    thread::Builder::new()
        .name("scenario".into())
        .spawn(move || {
            let crowd = match idle {
                0 => Ok(None),
                n => Crowd::open(n, local, stop.admitted()).map(|c| {
                    rec.info(
                        "harness",
                        format!(
                            "{n} idle connections open (they never send); their client ends are held by a helper process (PID {}), as a client machine would hold them; now the scenario",
                            c.pid()
                        ),
                    );
                    Some(c)
                }),
            };
            let report = match &crowd {
                Ok(_) => clients::run(&sc, local, &rec, Instant::now(), premade, &board, app),
                Err(e) => clients::Report {
                    failures: vec![e.clone()],
                    ..Default::default()
                },
            };
            rec.info(
                "harness",
                crate::t!("harness-over", how = StopHandle::HOW.to_string()),
            );
            stop.stop();
            // The idle crowd hangs up only now, after the listener was shut down.
            drop(crowd);
            report
        })
        .with_context(|| crate::t!("err-clients-thread"))
}

/// `--serve`: a stop signal (Ctrl-C, SIGTERM, SIGHUP) ends the run with teardown and summary.
fn watch_signals(rec: Recorder, stop: StopHandle, signalled: Arc<AtomicUsize>) -> Result<()> {
    for &(sig, _) in STOP_SIGNALS {
        signal_hook::flag::register_usize(sig, signalled.clone(), sig as usize)
            .with_context(|| crate::t!("err-signal", signal = sig.to_string()))?;
    }
    thread::Builder::new()
        .name("ctrl-c".into())
        .spawn(move || {
            let sig = loop {
                match signalled.load(Ordering::SeqCst) {
                    0 => thread::sleep(Duration::from_millis(50)),
                    sig => break sig,
                }
            };
            let name = signal_name(sig);
            rec.info(
                "harness",
                format!(
                    "{name}: {}",
                    crate::t!("harness-stops", how = StopHandle::HOW.to_string())
                ),
            );
            stop.stop();
        })
        .with_context(|| crate::t!("err-signal-thread"))?;
    Ok(())
}

/// What went wrong on the clients' side: a run that never ended, failed checks, or more clients
/// hung up on than the server refused.
fn clients_failures(
    stuck: Option<&Stuck>,
    clients: Option<thread::JoinHandle<clients::Report>>,
    summary: &Summary,
) -> Vec<String> {
    let mut failures = Vec::new();
    match (stuck, clients) {
        (Some(Stuck::Interrupted(sig)), _) => {
            failures.push(crate::t!("err-interrupted", signal = *sig));
        }
        (Some(Stuck::Clients(who)), _) => failures.push(crate::t!(
            "err-scenario-stuck",
            secs = RUN_GRACE.as_secs().to_string(),
            who = who.join(", ")
        )),
        (_, Some(c)) => match c.join() {
            Ok(report) => {
                failures.extend(report.failures);
                // Clients that saw the server hang up on them must match refusals it made.
                if report.refused.len() as u64 > summary.refused {
                    failures.push(crate::t!(
                        "err-hung-up",
                        count = report.refused.len().to_string(),
                        refused = summary.refused.to_string(),
                        who = report.refused.join("; ")
                    ));
                }
            }
            Err(_) => failures.push(crate::t!("err-clients-panicked")),
        },
        (_, None) => {}
    }
    failures
}

/// What went wrong on the server's side. A model the kernel refuses (io_uring disabled, say) is
/// an error of its own: like a model this OS lacks, one line and exit code 2.
fn server_failures(
    stuck: Option<&Stuck>,
    server: thread::JoinHandle<Result<()>>,
    serve: bool,
) -> Result<Vec<String>> {
    let mut failures = Vec::new();
    // Every recorder gone means the server thread is returning: joining it cannot hang.
    if stuck.is_none() || server.is_finished() {
        match server.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) if e.is::<Refused>() => return Err(e),
            Ok(Err(e)) => {
                let why = format!("{e:#}");
                failures.push(crate::t!("err-server-failed-run", why = why));
            }
            Err(_) => failures.push(crate::t!("err-server-panicked-run")),
        }
    } else if matches!(stuck, Some(Stuck::Server)) && !serve {
        failures.push(crate::t!(
            "err-server-stuck",
            secs = STOP_GRACE.as_secs().to_string()
        ));
    }
    Ok(failures)
}

/// Why the harness stopped waiting for a run.
enum Stuck {
    /// The scenario is over but the server did not stop.
    Server,
    /// These clients were still acting long after the scenario's last step.
    Clients(Vec<String>),
    /// A stop signal (Ctrl-C) ended a `--kernel` scenario run.
    Interrupted(&'static str),
}

/// Where drained events go: the summary counts every one, the sink shows it.
struct Shown<'a> {
    summary: &'a mut Summary,
    sink: &'a mut dyn Sink,
}

impl kernel::Out for Shown<'_> {
    fn show(&mut self, ev: &Event) {
        self.summary.add(ev);
        self.sink.event(ev);
    }

    fn count(&mut self, ev: &Event) {
        self.summary.add(ev);
    }

    fn lost(&mut self, n: u64) {
        self.summary.kernel_lost += n;
    }
}

/// Trace events taken from the channel at once before the kernel lane places them.
const BATCH: usize = 1024;

/// Drains the event channel into the sink and the summary until every recorder is gone, or
/// `give_up` says the run is stuck, and why. With the kernel lane, events go through it: it
/// places each side's events in time order.
fn drain(
    rx: std::sync::mpsc::Receiver<Event>,
    sink: &mut dyn Sink,
    mut lane: Option<&mut Lane>,
    mut give_up: impl FnMut(&mut Option<Instant>) -> Option<Stuck>,
) -> (Option<Stuck>, Summary) {
    use kernel::Out as _;
    let mut summary = Summary::default();
    let mut out = Shown {
        summary: &mut summary,
        sink,
    };
    let mut done_at = None;
    // Checked now and then even while events flow: a flood must not hide a stuck run.
    let mut checked = Instant::now();
    let stuck = loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(ev) => {
                match lane.as_deref_mut() {
                    Some(l) => {
                        l.user(ev);
                        let mut taken = 0;
                        for more in rx.try_iter().take(BATCH) {
                            l.user(more);
                            taken += 1;
                        }
                        l.release(taken < BATCH, &mut out);
                    }
                    None => out.show(&ev),
                }
                if checked.elapsed() > Duration::from_millis(200) {
                    checked = Instant::now();
                    if let Some(s) = give_up(&mut done_at) {
                        break Some(s);
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Some(l) = lane.as_deref_mut() {
                    l.release(true, &mut out);
                }
                out.sink.idle();
                if let Some(s) = give_up(&mut done_at) {
                    break Some(s);
                }
            }
            Err(RecvTimeoutError::Disconnected) => break None,
        }
    };
    if let Some(l) = lane {
        l.finish(&mut out);
    }
    (stuck, summary)
}
