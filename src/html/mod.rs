//! `--html FILE`: one self-contained page (inline CSS and JS, no network: it works from
//! `file://`) with the run's timeline, or every compared model's on one time axis, then
//! figure 6.6 and the summary. The data is embedded as JSON; `report.js` draws it, with the
//! page's texts in the run's language (`locales/*/report.ftl`), embedded beside the data.

use crate::lang::{self, Arg, Msg};
use crate::msg;
use crate::trace::timeline::Timeline;
use serde::Serialize;
use serde_json::{Map, Value};
use std::io::Write;

const CSS: &str = include_str!("report.css");
const JS: &str = include_str!("report.js");

/// What the page shows; serialized whole into the page for the script.
#[derive(Serialize)]
pub struct Page<'a> {
    pub title: &'a str,
    /// One timeline per model run, drawn on one shared time axis.
    pub runs: &'a [Timeline],
    /// A model run's numbers (the summary's JSON).
    pub summary: Option<Value>,
    /// `compare`: the table's rows.
    pub table: Option<Value>,
    /// `compare`: figure 6.6's rows and the client it follows.
    pub figure: Option<Value>,
    /// `compare`: the scenario's steps, when each was due (µs) and what it does, so that the
    /// runs can be aligned on them.
    pub steps: Option<Vec<(u64, String)>>,
    /// What to notice, in sentences.
    pub notice: &'a [String],
}

/// The texts the script shows, each a message of `report.ftl` with the names the page fills in
/// (the script replaces each `{name}`).
const TEXTS: &[(Msg, &[&str])] = &[
    (msg!("report-stage-setup"), &[]),
    (msg!("report-stage-out"), &[]),
    (msg!("report-stage-teardown"), &[]),
    (msg!("report-stage-client"), &[]),
    (msg!("report-stage-work"), &[]),
    (msg!("report-name-setup"), &[]),
    (msg!("report-name-data-ready"), &[]),
    (msg!("report-name-copy-to-user"), &[]),
    (msg!("report-name-data-ready-copy"), &[]),
    (msg!("report-name-copy-to-kernel"), &[]),
    (msg!("report-name-completion"), &[]),
    (msg!("report-name-teardown"), &[]),
    (msg!("report-name-work"), &[]),
    (msg!("report-name-client"), &[]),
    (msg!("report-lane-server"), &[]),
    (msg!("report-lane-client"), &[]),
    (msg!("report-lane-kernel"), &[]),
    (msg!("report-lane-harness"), &[]),
    (msg!("report-began-at"), &["t"]),
    (msg!("report-identical"), &["count", "span", "inside"]),
    (msg!("report-took"), &["t"]),
    (msg!("report-os-thread"), &["tid"]),
    (msg!("report-run-label"), &["model", "calls", "lanes"]),
    (msg!("report-step"), &["step", "due", "t"]),
    (msg!("report-trip"), &["t"]),
    (msg!("report-remark"), &[]),
    (msg!("report-mark"), &["what", "t"]),
    (msg!("report-events"), &["count", "span"]),
    (msg!("report-link"), &["from", "call", "to"]),
    (msg!("report-link-times"), &["sent", "began"]),
    (msg!("report-legend-spin"), &[]),
    (msg!("report-legend-marks"), &[]),
    (msg!("report-figure"), &["client"]),
    (msg!("report-state-blocked"), &[]),
    (msg!("report-state-spinning"), &[]),
    (msg!("report-state-free"), &[]),
    (msg!("report-state-copying"), &[]),
    (msg!("report-fig-stage"), &["model", "n", "state"]),
    (msg!("report-fig-told"), &["told"]),
    (msg!("report-summary"), &[]),
    (msg!("report-compare"), &["models"]),
    (msg!("report-zoom-out"), &[]),
    (msg!("report-zoom-in"), &[]),
    (msg!("report-pan-left"), &[]),
    (msg!("report-pan-right"), &[]),
    (msg!("report-whole"), &[]),
    (msg!("report-whole-title"), &[]),
    (msg!("report-hint"), &[]),
    (msg!("report-hint-aligned"), &[]),
    (msg!("report-details"), &[]),
    (msg!("report-notice"), &[]),
    (msg!("report-numbers"), &[]),
    // The numbers' labels, by field name (`_` as `-`).
    (msg!("report-key-accepted"), &[]),
    (msg!("report-key-by-thread"), &[]),
    (msg!("report-key-bytes-in"), &[]),
    (msg!("report-key-bytes-in-by-kernel"), &[]),
    (msg!("report-key-bytes-in-by-library"), &[]),
    (msg!("report-key-bytes-out"), &[]),
    (msg!("report-key-calls"), &[]),
    (msg!("report-key-clients-refused"), &[]),
    (msg!("report-key-cpu-us"), &[]),
    (msg!("report-key-cqes"), &[]),
    (msg!("report-key-eagain"), &[]),
    (msg!("report-key-echo-bytes"), &[]),
    (msg!("report-key-echoes-ok"), &[]),
    (msg!("report-key-failures"), &[]),
    (msg!("report-key-max-fd"), &[]),
    (msg!("report-key-max-in-flight"), &[]),
    (msg!("report-key-max-open"), &[]),
    (msg!("report-key-ops"), &[]),
    (msg!("report-key-ready"), &[]),
    (msg!("report-key-refused"), &[]),
    (msg!("report-key-rewritten"), &[]),
    (msg!("report-key-run-us"), &[]),
    (msg!("report-key-signals"), &[]),
    (msg!("report-key-signals-with-data"), &[]),
    (msg!("report-key-sqes"), &[]),
    (msg!("report-key-stage-us"), &[]),
    (msg!("report-key-syscalls"), &[]),
    (msg!("report-key-threads"), &[]),
    (msg!("report-key-timeouts"), &[]),
    (msg!("report-key-wakeups"), &[]),
    (msg!("report-key-watched"), &[]),
    (msg!("report-key-work"), &[]),
    (msg!("report-key-room"), &[]),
    (msg!("report-key-model"), &[]),
    (msg!("report-key-ok"), &[]),
    (msg!("report-key-error"), &[]),
    (msg!("report-key-stage1-blocked-us"), &[]),
    (msg!("report-key-stage1-spinning-us"), &[]),
    (msg!("report-key-stage1-free-us"), &[]),
    (msg!("report-key-stage2-us"), &[]),
    (msg!("report-key-stage2-copy-path-us"), &[]),
    (msg!("report-key-bytes-by-process"), &[]),
    (msg!("report-key-bytes-by-kernel"), &[]),
    (msg!("report-key-deliveries"), &[]),
    (msg!("report-key-sends"), &[]),
    (msg!("report-key-dropped"), &[]),
    (msg!("report-key-peak-queue"), &[]),
    (msg!("report-key-lines"), &[]),
    (msg!("report-key-joined"), &[]),
    (msg!("report-key-delivered-bytes"), &[]),
    (msg!("report-key-library"), &[]),
    (msg!("report-key-library-calls"), &[]),
    (msg!("report-key-kernel"), &[]),
    (msg!("report-key-lost"), &[]),
    (msg!("report-key-kernel-lost"), &[]),
];

/// The page's texts in this run's language, by id (`report-` left off), and the language's
/// tag; figure 6.6's "told by" comes from the model registry, by model.
fn texts() -> Value {
    let mut texts: Map<String, Value> = TEXTS
        .iter()
        .map(|(m, names)| {
            let slots: Vec<(&'static str, Arg)> = names
                .iter()
                .map(|&n| (n, Arg::from(format!("{{{n}}}"))))
                .collect();
            let id = m.0.strip_prefix("report-").unwrap_or(m.0);
            (id.to_string(), Value::from(lang::text(m.0, &slots)))
        })
        .collect();
    let told: Map<String, Value> = crate::models::MODELS
        .iter()
        .map(|m| {
            let told = lang::registry(m.name, "told", m.told);
            (m.name.to_string(), Value::from(told))
        })
        .collect();
    texts.insert("told".into(), Value::Object(told));
    texts.insert("lang".into(), Value::from(tag()));
    Value::Object(texts)
}

/// This run's language as HTML names it (`lang="zh-CN"`).
fn tag() -> String {
    clap::ValueEnum::to_possible_value(&lang::current())
        .map_or_else(|| "en".into(), |v| v.get_name().to_string())
}

/// JSON for a script element: `<` only ever appears inside JSON strings, where `\u003c` means
/// the same, so no `</script>` in the data can end the element.
fn script_json(v: &impl Serialize) -> serde_json::Result<String> {
    Ok(serde_json::to_string(v)?.replace('<', "\\u003c"))
}

/// Writes the page.
pub fn write(mut out: impl Write, page: &Page) -> std::io::Result<()> {
    let data = script_json(page)?;
    let texts = script_json(&texts())?;
    let (lang, noscript) = (tag(), crate::t!("report-noscript"));
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>iomodels</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n\
         <main id=\"report\"><noscript>{noscript}</noscript></main>\n\
         <script type=\"application/json\" id=\"data\">{data}</script>\n\
         <script type=\"application/json\" id=\"texts\">{texts}</script>\n<script>\n{JS}</script>\n\
         </body>\n</html>\n"
    )?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_in_the_data_cannot_end_its_script() {
        let notice = ["a gloss with </script><script>alert(1)</script> in it".to_string()];
        let page = Page {
            title: "t",
            runs: &[],
            summary: None,
            table: None,
            figure: None,
            steps: None,
            notice: &notice,
        };
        let mut out = Vec::new();
        write(&mut out, &page).unwrap();
        let html = String::from_utf8(out).unwrap();
        assert_eq!(
            html.matches("</script>").count(),
            3,
            "the data's, the texts' and the code's own"
        );
        let start = html.find(r#"id="data">"#).unwrap() + 10;
        let data = &html[start..start + html[start..].find("</script>").unwrap()];
        let back: Value = serde_json::from_str(data).unwrap();
        assert_eq!(back["notice"][0], notice[0]);
    }
}
