//! The side-by-side pages: each model's server calls between the scenario's steps.

use super::table::{heading, styled};
use super::{Column, CompareOpts};
use crate::trace::summary::Peers;
use crate::trace::text::thousands;
use crate::trace::{Event, Kind};
use anyhow::Result;
use comfy_table::{ContentArrangement, Table, presets};
use std::io::Write;

/// A column is never narrower than this; with more models than fit, the columns go on pages.
const MIN_COLUMN: usize = 30;
/// Lines shown per cell before the rest is summed up as "… N more".
const MAX_CELL_LINES: usize = 10;

fn action(a: &crate::scenario::Action) -> String {
    use crate::scenario::Action;
    match a {
        Action::Connect(_) => crate::t!("step-connects"),
        Action::Send(p) => crate::t!("step-sends", shown = p.shown(12)),
        Action::Close => crate::t!("step-closes"),
        Action::Reset => crate::t!("step-resets"),
        Action::StopReading => crate::t!("step-stops-reading"),
        Action::ResumeReading => crate::t!("step-reads-again"),
        Action::Expect(p) => crate::t!("step-expects", shown = p.shown(12)),
        Action::ExpectAnytime(line) => {
            crate::t!("step-expects", shown = crate::trace::escape(line, 12))
        }
        Action::ExpectDrop => crate::t!("step-expects-drop"),
    }
}

/// The side by side's rows: one per scenario step, but the `expect` steps that follow a step
/// share its row (the server's answer to one line is its fan-out to all who expect it; an
/// expect step's client event only marks that the client began waiting).
pub(super) struct StepRows {
    /// Each row's label: `150 ms · B sends "hello"; A, C expect lines`.
    pub labels: Vec<String>,
    /// When each row's step comes (µs).
    pub at_us: Vec<u64>,
    /// For each scenario step, its row.
    pub row_of: Vec<usize>,
}

impl StepRows {
    pub(super) fn new(steps: &[crate::scenario::Step]) -> StepRows {
        use crate::scenario::Action;
        let expects = |a: &Action| {
            matches!(
                a,
                Action::Expect(_) | Action::ExpectAnytime(_) | Action::ExpectDrop
            )
        };
        let mut rows = StepRows {
            labels: Vec::new(),
            at_us: Vec::new(),
            row_of: Vec::new(),
        };
        // Clients expecting, for the row they joined.
        let mut waiting: Vec<&str> = Vec::new();
        for s in steps {
            if !expects(&s.action) || rows.labels.is_empty() {
                close_row(&mut rows, &mut waiting);
                rows.labels.push(format!(
                    "{} ms · {} {}",
                    s.at.as_millis(),
                    s.client,
                    action(&s.action)
                ));
                rows.at_us.push(s.at.as_micros() as u64);
            } else if !waiting.contains(&s.client.as_str()) {
                waiting.push(&s.client);
            }
            rows.row_of.push(rows.labels.len() - 1);
        }
        close_row(&mut rows, &mut waiting);
        rows
    }
}

/// Names the clients that expect lines after the last row's step, in its label.
fn close_row(rows: &mut StepRows, waiting: &mut Vec<&str>) {
    if let Some(label) = rows.labels.last_mut()
        && !waiting.is_empty()
    {
        label.push_str(&crate::t!(
            "step-waiting",
            clients = waiting.join(", "),
            count = waiting.len()
        ));
    }
    waiting.clear();
}

/// Peers that already know every client's port: a client's `connect` event may arrive after
/// the server's accept of it, and the names should not depend on that race.
pub(super) fn known_clients(events: &[Event]) -> Peers {
    let mut peers = Peers::default();
    for ev in events.iter().filter(|e| e.kind == Kind::Client) {
        peers.observe(ev);
    }
    peers
}

pub(super) fn is_server(ev: &Event) -> bool {
    matches!(ev.kind, Kind::Syscall | Kind::Op | Kind::Library) && ev.actor.starts_with("server")
}

/// The server's calls between consecutive rows' steps: cell 0 holds what the server did
/// before the first step, cell `k` what it did after row `k - 1`'s step and before the next.
pub(super) fn cells(c: &Column, rows: &StepRows) -> Vec<Vec<String>> {
    let steps = rows.labels.len();
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
            if let Some(&row) = ev.step.and_then(|s| rows.row_of.get(s)) {
                k = k.max(row + 1);
            }
            continue;
        }
        // The listener's setup is the same in every model: one line for all of it.
        if ev.kind == Kind::Info && ev.listening == Some(true) {
            out[k].push(crate::t!("cols-listener", n = common.to_string()));
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
        if ev.closes() {
            peers.closed(ev);
        }
    }
    for cell in &mut out {
        if cell.len() > MAX_CELL_LINES {
            let more = cell.len() - (MAX_CELL_LINES - 1);
            cell.truncate(MAX_CELL_LINES - 1);
            cell.push(crate::t!("cols-more", n = more.to_string()));
        }
    }
    out
}

/// One event as a short cell line: `recvfrom(5=A) → EAGAIN ×3,342`.
fn brief(ev: &Event, peers: &Peers) -> String {
    let fd = peers.fd_label(ev);
    let call = match (ev.kind, fd) {
        (Kind::Op, Some(fd)) => format!("{} {fd}", ev.named()),
        (_, Some(fd)) => format!("{}({fd})", ev.named()),
        (_, None) => ev.named(),
    };
    let result = match (ev.ret, ev.errno) {
        (Some(r), _) => match ev.port.and_then(|p| peers.client_at(p)) {
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

pub(super) fn side_by_side(
    out: &mut impl Write,
    columns: &[Column],
    rows: &StepRows,
    opts: &CompareOpts,
) -> Result<()> {
    let steps = &rows.labels;
    let width = opts.width;
    let label = 18;
    let per_page = ((width.saturating_sub(label)) / MIN_COLUMN).clamp(1, columns.len().max(1));
    let all_cells: Vec<Vec<Vec<String>>> = columns.iter().map(|c| cells(c, rows)).collect();
    let pages = columns.len().div_ceil(per_page);
    for (page, chunk) in columns.chunks(per_page).enumerate() {
        if pages > 1 {
            let (page, pages) = ((page + 1).to_string(), pages.to_string());
            writeln!(
                out,
                "{}",
                crate::t!("cols-page", page = page, pages = pages)
            )?;
        }
        let mut t = Table::new();
        t.load_style(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(width as u16);
        styled(&mut t, opts.color);
        let mut header = vec![crate::t!("cols-then")];
        header.extend(chunk.iter().map(|c| c.model.name.to_string()));
        t.set_header(header.into_iter().map(heading));
        let first = page * per_page;
        for k in 0..=steps.len() {
            // A row is a step and what the server did next, until the following step.
            let label = match k {
                0 => crate::t!("cols-before"),
                _ => steps[k - 1].clone(),
            };
            let mut row = vec![label];
            for col in &all_cells[first..first + chunk.len()] {
                row.push(col[k].join("\n"));
            }
            t.add_row(row);
        }
        writeln!(out, "{t}")?;
    }
    Ok(())
}
