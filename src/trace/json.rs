//! The JSON trace: one object per line, field names as documented in DESIGN.md.

use super::Event;
use super::summary::Summary;
use serde::Serialize;
use std::io::Write;

pub struct JsonRenderer<W: Write> {
    out: W,
}

/// The closing line: `{"kind":"summary", "model": …, …numbers…, "notice": […]}`.
#[derive(Serialize)]
struct SummaryLine<'a> {
    kind: &'static str,
    model: &'a str,
    state: &'a str,
    notice: &'a [String],
    /// `true` only under `--serve` (absent otherwise): the clients were not ours, so no echo
    /// was checked and `echoes_ok` counts nothing.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    serve: bool,
    #[serde(flatten)]
    summary: &'a Summary,
}

impl<W: Write> JsonRenderer<W> {
    pub fn new(out: W) -> JsonRenderer<W> {
        JsonRenderer { out }
    }

    pub fn event(&mut self, ev: &Event) {
        let _ = serde_json::to_writer(&mut self.out, ev);
        let _ = self.out.write_all(b"\n");
    }

    pub fn finish(
        &mut self,
        model: &str,
        s: &Summary,
        state: &str,
        notice: &[String],
        serve: bool,
    ) {
        let line = SummaryLine {
            kind: "summary",
            model,
            state,
            notice,
            serve,
            summary: s,
        };
        let _ = serde_json::to_writer(&mut self.out, &line);
        let _ = self.out.write_all(b"\n");
        let _ = self.out.flush();
    }
}
