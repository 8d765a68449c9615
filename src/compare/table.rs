//! The summary table: one row of numbers per model.

use super::columns::is_server;
use super::figure::states;
use super::{Column, CompareOpts};
use crate::trace::Stage;
use crate::trace::story::Read;
use crate::trace::text::{thousands, took};
use comfy_table::{Attribute, Cell, ContentArrangement, Table, presets};
use serde::Serialize;

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
    /// Time inside the calls that only copy (a recv after readiness): stage ② and the call's
    /// own cost; a blocking recv counts under ①, a completion's copy is not ours to time.
    pub stage2_us: u64,
    /// `--kernel`: the server's copy paths, summed (see [`crate::trace::story::Read`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage2_copy_path_us: Option<u64>,
    pub cpu_us: u64,
    pub work: u64,
    pub max_open: u64,
    pub bytes_by_process: u64,
    pub bytes_by_kernel: u64,
    /// `--app chat`: what the room did.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub chat: Option<ChatNumbers>,
}

/// A chat run's own numbers: the room's (see [`crate::trace::summary::RoomTotals`]) and the sends that fanned its
/// lines out.
#[derive(Serialize)]
pub struct ChatNumbers {
    /// Lines and announcements the room queued for members, one per member each.
    pub deliveries: u64,
    /// The server's calls (or operations submitted) that handed bytes to the kernel to send:
    /// a line said to N others is N deliveries, in as many sends or fewer (a queue sent whole).
    pub sends: u64,
    /// Members dropped for reading too slowly.
    pub dropped: u64,
    /// The longest any member's queue grew, in bytes.
    pub peak_queue: u64,
    /// Lines members said, and lines refused.
    pub lines: u64,
    pub refused: u64,
}

impl ChatNumbers {
    fn of(c: &Column) -> ChatNumbers {
        let room = c.summary.room.clone().unwrap_or_default();
        let sends = c
            .events
            .iter()
            .filter(|e| is_server(e) && e.stage == Stage::CopyToKernel)
            .map(|e| e.count)
            .sum();
        ChatNumbers {
            deliveries: room.deliveries,
            sends,
            dropped: room.dropped,
            peak_queue: room.peak_queue,
            lines: room.lines,
            refused: room.refused,
        }
    }
}

/// A model's row; `chat` adds the room's numbers.
pub(super) fn row(c: &Column, chat: bool) -> Row {
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
        stage2_copy_path_us: c
            .reads
            .as_ref()
            .map(|reads| reads.iter().map(Read::copy_us).sum()),
        cpu_us: s.cpu_us,
        work: s.work,
        max_open: s.max_open,
        bytes_by_process: s.bytes_in,
        bytes_by_kernel: s.bytes_in_by_kernel,
        chat: chat.then(|| ChatNumbers::of(c)),
    }
}

/// A table's headings are bold, when there is colour.
pub(super) fn heading(text: impl ToString) -> Cell {
    Cell::new(text).add_attribute(Attribute::Bold)
}

/// Colour (comfy-table's own, which looks only at whether stdout is a terminal) as asked.
pub(super) fn styled(t: &mut Table, color: bool) {
    if color {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
}

/// The summary table; narrower than its numbers, on two pages, each led by the model's name
/// (numbers do not wrap).
pub(super) fn table(rows: &[Row], markdown: bool, opts: &CompareOpts) -> String {
    let lane = rows.iter().any(|r| r.stage2_copy_path_us.is_some());
    let chat = rows.iter().any(|r| r.chat.is_some());
    let mut header = vec![
        crate::t!("table-model"),
        crate::t!("table-syscalls"),
        "EAGAIN".to_string(),
        crate::t!("table-blocked"),
        crate::t!("table-spinning"),
        crate::t!("table-free"),
        if lane {
            crate::t!("table-copy-paths")
        } else {
            crate::t!("table-recv-calls")
        },
        crate::t!("table-cpu"),
        crate::t!("table-work"),
        crate::t!("table-most"),
        crate::t!("table-bytes-in"),
    ];
    // A chat's own numbers come first, after the model: they are what the run is about.
    let chat_header = [
        crate::t!("table-deliveries"),
        crate::t!("table-send-calls"),
        crate::t!("table-dropped"),
        crate::t!("table-peak"),
    ];
    if chat {
        header.splice(1..1, chat_header);
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| match &r.error {
            Some(e) => vec![r.model.to_string(), crate::t!("table-failed", why = e)],
            None => [r.model.to_string()]
                .into_iter()
                .chain(r.chat.iter().flat_map(|c| {
                    [
                        thousands(c.deliveries),
                        thousands(c.sends),
                        thousands(c.dropped),
                        format!("{} B", thousands(c.peak_queue)),
                    ]
                }))
                .chain([
                    thousands(r.syscalls),
                    thousands(r.eagain),
                    took(r.stage1_blocked_us),
                    took(r.stage1_spinning_us),
                    took(r.stage1_free_us),
                    took(r.stage2_copy_path_us.unwrap_or(r.stage2_us)),
                    took(r.cpu_us),
                    thousands(r.work),
                    r.max_open.to_string(),
                    format!("{} / {}", r.bytes_by_process, r.bytes_by_kernel),
                ])
                .collect(),
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
                heading(&header[i])
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
