//! The language the tool speaks to people: `--lang en|zh-CN`, else the first of `LC_ALL`,
//! `LC_MESSAGES` and `LANG` that is set (POSIX's order), else English; a locale we have no
//! messages for is English too.
//!
//! Messages live in `locales/LANG/iomodels.ftl` (Fluent: one `id = text` each, `{ $name }` for
//! what the code fills in, selectors for plurals), compiled into the binary; code names a message
//! by its id with [`t!`](crate::t). A test checks that every id the code uses is in both files,
//! and that both files have the same ids. What programs read never changes with the language:
//! JSON field names and values, system-call names, flags and errno names.

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid, static_loader};
use std::borrow::Cow;
use std::collections::HashMap;
use std::ffi::OsString;
use std::sync::OnceLock;

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // No Unicode isolation marks around what the code fills in: a terminal would show them
        // as stray characters, and they would break the columns' widths.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language the tool speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    #[value(name = "en")]
    En,
    #[value(name = "zh-CN")]
    ZhCn,
}

impl Lang {
    fn id(self) -> LanguageIdentifier {
        match self {
            Lang::En => langid!("en"),
            Lang::ZhCn => langid!("zh-CN"),
        }
    }
}

static CURRENT: OnceLock<Lang> = OnceLock::new();

/// Chooses the language for the rest of the run (the first choice stands).
pub fn set(lang: Lang) {
    let _ = CURRENT.set(lang);
}

/// The language of this run: as [`set`], else from the environment.
pub fn current() -> Lang {
    *CURRENT.get_or_init(|| from_env(|k| std::env::var_os(k)))
}

/// The language the environment asks for: the first of `LC_ALL`, `LC_MESSAGES` and `LANG`
/// that is set and not empty decides (see locale(7)).
pub fn from_env(var: impl Fn(&str) -> Option<OsString>) -> Lang {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|k| var(k))
        .map(|v| v.to_string_lossy().into_owned())
        .find(|v| !v.is_empty())
        .map_or(Lang::En, |v| of_locale(&v))
}

/// `zh_CN.UTF-8`, `zh_SG`, `zh-Hans`, `zh`: Simplified Chinese; anything else (`C`, `en_GB`,
/// `zh_TW`, `de_DE.UTF-8`): English.
fn of_locale(locale: &str) -> Lang {
    let name = locale.split(['.', '@']).next().unwrap_or("");
    let mut parts = name.split(['_', '-']);
    match (parts.next(), parts.next()) {
        (Some("zh"), None | Some("CN" | "SG" | "Hans")) => Lang::ZhCn,
        _ => Lang::En,
    }
}

/// `--lang` among the arguments, read before the command line is parsed, so that the help
/// and the errors of the parse itself can be in that language. A bad value is left to the
/// parser, which says why.
pub fn from_args(args: &[OsString]) -> Option<Lang> {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let value = args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix("--lang=")
            .map(str::to_string)
            .or_else(|| (a == "--lang").then(|| args.get(i + 1).cloned()).flatten())
    })?;
    <Lang as clap::ValueEnum>::from_str(&value, false).ok()
}

/// What a message's placeholder is filled with.
pub enum Arg {
    Text(String),
    Number(f64),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Arg {
        Arg::Text(s.to_string())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Arg {
        Arg::Text(s)
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Arg {
        Arg::Text(s.clone())
    }
}

macro_rules! numbers {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg {
            fn from(n: $t) -> Arg {
                Arg::Number(n as f64)
            }
        }
    )*};
}
numbers!(u64, usize, i64, u32, i32);

/// The message `id` in this run's language, its placeholders filled from `args`.
pub fn text(id: &str, args: &[(&'static str, Arg)]) -> String {
    text_in(current(), id, args)
}

/// The message `id` in `lang`.
pub fn text_in(lang: Lang, id: &str, args: &[(&'static str, Arg)]) -> String {
    if args.is_empty() {
        return LOCALES.lookup(&lang.id(), id);
    }
    let args: HashMap<Cow<'static, str>, FluentValue> = args
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Arg::Text(s) => FluentValue::from(s.clone()),
                Arg::Number(n) => FluentValue::from(*n),
            };
            (Cow::Borrowed(*k), v)
        })
        .collect();
    LOCALES.lookup_with_args(&lang.id(), id, &args)
}

/// Whether the message files have `id` (both languages have the same ids: see `coverage`).
pub fn has(id: &str) -> bool {
    LOCALES
        .lookup_no_default_fallback::<&str>(&Lang::En.id(), id, None)
        .is_some()
}

/// A message named by id and nothing else, looked up only when it is shown: as a call's gloss
/// or a remark, it costs nothing in a run whose trace records nothing (`bench`). Made with
/// [`msg!`](crate::msg).
#[derive(Clone, Copy, Debug)]
pub struct Msg(pub &'static str);

impl std::fmt::Display for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&text(self.0, &[]))
    }
}

/// A text of the model registry (`what`: `summary`, `state`, `told`, `examples`) in this run's
/// language: the message `MODEL-WHAT` where a translation has it, else the registry's English.
/// The registry's translations come model by model; the other texts are all in both languages.
pub fn registry(model: &str, what: &str, english: &str) -> String {
    let id = format!("{model}-{what}");
    match current() {
        Lang::En => english.to_string(),
        lang => LOCALES
            .lookup_no_default_fallback::<&str>(&lang.id(), &id, None)
            .unwrap_or_else(|| english.to_string()),
    }
}

impl<T> crate::trace::Gloss<T> for Msg {
    fn say(self, _: &Result<T, rustix::io::Errno>) -> String {
        text(self.0, &[])
    }
}

impl crate::trace::Remark for Msg {
    fn say(self) -> String {
        text(self.0, &[])
    }
}

/// `msg!("id")`: a [`Msg`], the message `id` looked up when it is shown.
#[macro_export]
macro_rules! msg {
    ($id:literal) => {
        $crate::lang::Msg($id)
    };
}

/// `t!("id")`, `t!("id", name = value, …)`: the message in this run's language (see the
/// module's doc). A value is text (shown as it is: format numbers first, e.g. with the
/// thousands' separators) or a number (for a plural's choice).
#[macro_export]
macro_rules! t {
    ($id:literal) => {
        $crate::lang::text($id, &[])
    };
    ($id:literal, $($k:ident = $v:expr),+ $(,)?) => {
        $crate::lang::text($id, &[$((stringify!($k), $crate::lang::Arg::from($v))),+])
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_chooses_in_posix_order() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        assert_eq!(from_env(env(&[])), Lang::En);
        assert_eq!(from_env(env(&[("LANG", "zh_CN.UTF-8")])), Lang::ZhCn);
        assert_eq!(
            from_env(env(&[("LANG", "zh_CN.UTF-8"), ("LC_ALL", "C")])),
            Lang::En,
            "LC_ALL first"
        );
        assert_eq!(
            from_env(env(&[
                ("LC_ALL", ""),
                ("LC_MESSAGES", "zh_SG"),
                ("LANG", "en_US")
            ])),
            Lang::ZhCn,
            "an empty variable is not set"
        );
        assert_eq!(from_env(env(&[("LANG", "zh_TW.UTF-8")])), Lang::En);
        assert_eq!(from_env(env(&[("LANG", "zh")])), Lang::ZhCn);
        assert_eq!(from_env(env(&[("LANG", "de_DE@euro")])), Lang::En);
    }

    #[test]
    fn lang_is_read_before_the_parse_in_both_spellings() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            from_args(&args(&["iomodels", "epoll", "--lang", "zh-CN"])),
            Some(Lang::ZhCn)
        );
        assert_eq!(
            from_args(&args(&["iomodels", "--lang=en", "list"])),
            Some(Lang::En)
        );
        assert_eq!(from_args(&args(&["iomodels", "--lang", "xx"])), None);
        assert_eq!(from_args(&args(&["iomodels", "--lang"])), None);
    }

    #[test]
    fn messages_fill_their_placeholders_in_either_language() {
        let en = text_in(Lang::En, "notice-heading", &[]);
        let zh = text_in(Lang::ZhCn, "notice-heading", &[]);
        assert_eq!(en, "what to notice");
        assert_ne!(en, zh);
        let one = text_in(
            Lang::En,
            "room-members",
            &[("count", Arg::from(1u64)), ("shown", Arg::from("\"x\""))],
        );
        let two = text_in(
            Lang::En,
            "room-members",
            &[("count", Arg::from(2u64)), ("shown", Arg::from("\"x\""))],
        );
        assert!(
            one.contains("the 1 other member") && !one.contains("members"),
            "{one}"
        );
        assert!(two.contains("each of the 2 other members"), "{two}");
        assert!(!one.contains('\u{2068}'), "no isolation marks: {one:?}");
    }
}

/// Every message is in both languages, and every id the code names is in them.
#[cfg(test)]
mod coverage {
    use std::collections::BTreeSet;
    use std::path::Path;

    /// The ids the Fluent files of one language define (`id = …` at the start of a line).
    fn ids(lang: &str) -> BTreeSet<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("locales")
            .join(lang);
        let ftl: String = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        ftl.lines()
            .filter_map(|l| l.split_once(" ="))
            .map(|(id, _)| id)
            .filter(|id| {
                id.starts_with(|c: char| c.is_ascii_lowercase())
                    && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            .map(str::to_string)
            .collect()
    }

    /// The ids named by `t!("…"` in the sources under `dir`.
    fn used(dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                used(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                // `t!("…"` or `msg!("…"` (perhaps across a line break), not `format!("…"`.
                let named = text.match_indices("t!(").chain(text.match_indices("msg!("));
                for (at, m) in named {
                    let before = text[..at].chars().next_back().unwrap_or(' ');
                    let Some(quoted) = text[at + m.len()..].trim_start().strip_prefix('"') else {
                        continue;
                    };
                    if before.is_alphanumeric() || before == '_' {
                        continue;
                    }
                    let id = quoted.split('"').next().unwrap();
                    let named = id.starts_with(|c: char| c.is_ascii_lowercase())
                        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
                    if named && id != "id" {
                        found.insert(id.to_string());
                    }
                }
            }
        }
    }

    #[test]
    fn every_message_is_in_both_languages_and_every_id_used_exists() {
        let (en, zh) = (ids("en"), ids("zh-CN"));
        assert!(en.len() > 50, "{en:?}");
        let only_en: Vec<_> = en.difference(&zh).collect();
        let only_zh: Vec<_> = zh.difference(&en).collect();
        assert!(
            only_en.is_empty() && only_zh.is_empty(),
            "untranslated: {only_en:?}; not in English: {only_zh:?}"
        );
        let mut code = BTreeSet::new();
        // The registry's texts are looked up by the model's name (`super::registry`).
        for m in crate::models::MODELS {
            for what in ["summary", "state", "told", "examples"] {
                let id = format!("{}-{what}", m.name);
                if en.contains(&id) {
                    code.insert(id);
                }
            }
        }
        // The help of the arguments and their values is looked up by theirs (`crate::cli`).
        code.extend(crate::cli::ids(&crate::cli(), ""));
        used(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut code,
        );
        let missing: Vec<_> = code.difference(&en).collect();
        assert!(
            missing.is_empty(),
            "named in the code, in no message file: {missing:?}"
        );
        let unused: Vec<_> = en.difference(&code).collect();
        assert!(
            unused.is_empty(),
            "in the message files, named nowhere: {unused:?}"
        );
    }
}
