//! `--html FILE`: one self-contained page (inline CSS and JS, no network: it works from
//! `file://`) with the run's timeline, or every compared model's on one time axis, then
//! figure 6.6 and the summary. The data is embedded as JSON; `report.js` draws it.

use crate::trace::timeline::Timeline;
use serde::Serialize;
use serde_json::Value;
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

/// Writes the page.
pub fn write(mut out: impl Write, page: &Page) -> std::io::Result<()> {
    // `<` only ever appears inside JSON strings, where `\u003c` means the same: no `</script>`
    // in the data can end the script element.
    let data = serde_json::to_string(page)?.replace('<', "\\u003c");
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>iomodels</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n\
         <main id=\"report\"><noscript>This report draws its timeline with JavaScript.</noscript></main>\n\
         <script type=\"application/json\" id=\"data\">{data}</script>\n<script>\n{JS}</script>\n\
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
            2,
            "the data's and the code's own"
        );
        let start = html.find(r#"id="data">"#).unwrap() + 10;
        let data = &html[start..start + html[start..].find("</script>").unwrap()];
        let back: Value = serde_json::from_str(data).unwrap();
        assert_eq!(back["notice"][0], notice[0]);
    }
}
