//! iomodels: the same echo server under each I/O model, with a trace of every system call.

mod echo;
mod models;
mod run;
mod scenario;
mod server;
mod trace;

use clap::{ArgMatches, Args, Command, FromArgMatches, ValueEnum};
use std::io::IsTerminal;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  iomodels blocking                      the classroom scenario under blocking I/O
  iomodels nonblocking --format json     the same, one JSON object per event
  iomodels threads --scenario demos/crowd.scenario
  iomodels blocking --serve --port 7000  serve real clients: nc 127.0.0.1 7000
  iomodels list                          every model, its UNP figure, and whether this OS has it";

/// The options every model takes.
#[derive(Args, Debug)]
struct RunArgs {
    /// Script the clients with this scenario file (default: the built-in classroom scenario)
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Keep serving real clients (e.g. `nc 127.0.0.1 PORT`) and trace them live until Ctrl-C
    #[arg(long)]
    serve: bool,
    /// Port to listen on (default: a free one)
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on; anything but loopback exposes the server to the network
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    bind: IpAddr,
    /// text for people, json for programs (one object per line)
    #[arg(long, value_enum, default_value_t = run::Format::Text)]
    format: run::Format,
    /// Colour the text trace
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// Record nothing: serve at full speed (for external load generators)
    #[arg(long)]
    no_trace: bool,
    /// Bytes each recv asks for; small values show partial reads
    #[arg(long, default_value_t = 4096, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    read_size: u32,
    /// epoll: edge-triggered readiness (EPOLLET); the server drains each ready socket to EAGAIN
    #[arg(long)]
    edge: bool,
    /// Before the scenario, open N idle client connections that never send (a crowd to watch)
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100_000))]
    idle: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

fn cli() -> Command {
    let models = models::MODELS.iter().map(|m| {
        RunArgs::augment_args(
            Command::new(m.name)
                .about(format!("{} (UNP fig. {})", m.summary, m.figure))
                .after_help(EXAMPLES),
        )
    });
    Command::new("iomodels")
        .version(env!("CARGO_PKG_VERSION"))
        .about("The I/O models of network servers, shown one system call at a time")
        .long_about(
            "Runs the same TCP echo server under one I/O model, drives it with scripted clients, \
             and prints every system call the server makes, tagged with the stage of I/O it \
             belongs to: ① waiting for data (data-ready), ② copying it to the process (copy-to-user).",
        )
        .after_help(EXAMPLES)
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommands(models)
        .subcommand(Command::new("list").about("List the models, their UNP figures, and which this OS has"))
}

fn main() -> ExitCode {
    let matches = match cli().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return ExitCode::from(
                    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                        2
                    } else {
                        0
                    },
                );
            }
            // One line, not clap's page of usage: the first line of its message, and a hint.
            let rendered = e.render().to_string();
            let first = rendered
                .lines()
                .next()
                .unwrap_or("error: invalid arguments");
            let hint = if e.kind() == ErrorKind::InvalidSubcommand {
                " (run `iomodels list` for the models)"
            } else {
                " (see `iomodels --help`)"
            };
            eprintln!("{first}{hint}");
            return ExitCode::from(2);
        }
    };
    match dispatch(&matches) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::from(2)
        }
    }
}

fn dispatch(matches: &ArgMatches) -> anyhow::Result<i32> {
    let (name, sub) = matches.subcommand().expect("a subcommand is required");
    if name == "list" {
        list();
        return Ok(0);
    }
    let model = models::find(name).expect("clap only accepts registered models");
    let args = RunArgs::from_arg_matches(sub)?;
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    colored::control::set_override(color);
    if !args.bind.is_loopback() {
        eprintln!(
            "warning: binding {} exposes this teaching server to the network; use 127.0.0.1 unless you mean it",
            args.bind
        );
    }
    let opts = run::RunOpts {
        scenario: args.scenario,
        serve: args.serve,
        bind: args.bind,
        port: args.port,
        format: args.format,
        no_trace: args.no_trace,
        idle: args.idle as usize,
        knobs: server::Knobs {
            read_size: args.read_size as usize,
            edge: args.edge,
            ..server::Knobs::default()
        },
    };
    run::run(model, &opts)
}

fn list() {
    println!(
        "{:<12} {:<8} {:<10} what it shows",
        "model", "UNP fig.", "here?"
    );
    for m in models::MODELS {
        let here = if m.available() {
            "yes".to_string()
        } else {
            format!("no: {}", m.platforms)
        };
        println!("{:<12} {:<8} {:<10} {}", m.name, m.figure, here, m.summary);
    }
}
