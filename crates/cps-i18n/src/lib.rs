//! Spanish and English messages for the API and the command line.
//!
//! Messages live in Fluent files under `locales/`, one folder per language,
//! embedded at build time. Spanish is the default because CPS's users work in
//! Spanish; English is chosen by `Accept-Language: en` or, on the command line,
//! by `--lang en` or `LANG`.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

const SPANISH_SOURCES: [&str; 2] = [include_str!("../locales/es/api.ftl"), include_str!("../locales/es/cli.ftl")];
const ENGLISH_SOURCES: [&str; 2] = [include_str!("../locales/en/api.ftl"), include_str!("../locales/en/cli.ftl")];

/// A language CPS speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Es,
    En,
}

impl Lang {
    /// Picks the language of an `Accept-Language` header: the supported language
    /// with the highest quality, Spanish when none is supported or the header is
    /// absent.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(header) = header else { return Lang::Es };

        let mut best: Option<(Lang, f32)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|parameter| parameter.trim().strip_prefix("q="))
                .filter_map(|value| value.trim().parse::<f32>().ok())
                .next()
                .unwrap_or(1.0);
            let Some(lang) = Lang::from_tag(&tag) else { continue };
            if quality > 0.0 && best.is_none_or(|(_, best_quality)| quality > best_quality) {
                best = Some((lang, quality));
            }
        }
        best.map(|(lang, _)| lang).unwrap_or(Lang::Es)
    }

    /// Reads a language tag or locale name such as `en`, `en-US` or
    /// `en_US.UTF-8`; `None` when the language is neither Spanish nor English.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_', '.']).next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "es" => Some(Lang::Es),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The `Content-Language` value of this language.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Es => "es",
            Lang::En => "en",
        }
    }
}

/// A named argument of a message.
pub type Arg<'a> = (&'a str, FluentValue<'a>);

/// Formats message `key` in `lang`. A missing key formats as the key itself, so
/// a gap shows up in tests instead of an empty message; the unit tests check
/// that both languages define the same keys.
pub fn message(lang: Lang, key: &str, args: &[Arg<'_>]) -> String {
    let bundle = bundle(lang);
    let Some(pattern) = bundle.get_message(key).and_then(|message| message.value()) else {
        return key.to_string();
    };

    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, value.clone());
    }
    let mut errors = Vec::new();
    bundle.format_pattern(pattern, Some(&fluent_args), &mut errors).into_owned()
}

fn bundle(lang: Lang) -> &'static FluentBundle<FluentResource> {
    static SPANISH: OnceLock<FluentBundle<FluentResource>> = OnceLock::new();
    static ENGLISH: OnceLock<FluentBundle<FluentResource>> = OnceLock::new();
    match lang {
        Lang::Es => SPANISH.get_or_init(|| build_bundle(Lang::Es, &SPANISH_SOURCES)),
        Lang::En => ENGLISH.get_or_init(|| build_bundle(Lang::En, &ENGLISH_SOURCES)),
    }
}

fn build_bundle(lang: Lang, sources: &[&str]) -> FluentBundle<FluentResource> {
    let identifier = lang.tag().parse().expect("es and en are valid language identifiers");
    let mut bundle = FluentBundle::new_concurrent(vec![identifier]);
    // Isolation marks (U+2068/U+2069) around arguments help right-to-left
    // scripts only, and would end up inside JSON error messages.
    bundle.set_use_isolating(false);
    for source in sources {
        // The embedded files are checked by the unit tests below.
        let resource = FluentResource::try_new(source.to_string()).expect("embedded Fluent file parses");
        bundle.add_resource(resource).expect("embedded Fluent files define each key once");
    }
    bundle
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(sources: &[&str]) -> Vec<String> {
        let mut keys: Vec<String> = sources
            .iter()
            .flat_map(|source| source.lines())
            .filter(|line| line.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
            .filter_map(|line| line.split_once(" =").map(|(key, _)| key.trim().to_string()))
            .collect();
        keys.sort();
        keys
    }

    #[test]
    fn both_languages_define_same_keys() {
        assert_eq!(keys(&SPANISH_SOURCES), keys(&ENGLISH_SOURCES));
    }

    #[test]
    fn every_message_formats() {
        for key in keys(&SPANISH_SOURCES) {
            for lang in [Lang::Es, Lang::En] {
                assert_ne!(message(lang, &key, &[]), key, "message {key} in {lang:?}");
            }
        }
    }

    #[test]
    fn accept_language_picks_best_supported() {
        assert_eq!(Lang::from_accept_language(None), Lang::Es);
        assert_eq!(Lang::from_accept_language(Some("en")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("fr, en;q=0.5")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("es;q=0.9, en;q=0.8")), Lang::Es);
        assert_eq!(Lang::from_accept_language(Some("en;q=0, es")), Lang::Es);
        assert_eq!(Lang::from_accept_language(Some("de")), Lang::Es);
    }

    #[test]
    fn locale_names_map_to_languages() {
        assert_eq!(Lang::from_tag("en_US.UTF-8"), Some(Lang::En));
        assert_eq!(Lang::from_tag("es_VE.UTF-8"), Some(Lang::Es));
        assert_eq!(Lang::from_tag("C.UTF-8"), None);
    }
}
