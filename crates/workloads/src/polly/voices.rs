//! Polly's voices (facts from `DescribeVoices`), each with the espeak-ng voice
//! that speaks for it here.

use trailguard_model::Value;

/// A Polly voice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Voice {
    pub id: &'static str,
    pub gender: &'static str,
    pub language: &'static str,
    pub language_name: &'static str,
    pub engines: &'static [&'static str],
    /// The espeak-ng voice, `language+variant`.
    pub espeak: &'static str,
}

impl Voice {
    pub fn to_value(&self) -> Value {
        Value::structure()
            .with("Gender", self.gender)
            .with("Id", self.id)
            .with("LanguageCode", self.language)
            .with("LanguageName", self.language_name)
            .with("Name", self.id)
            .with(
                "SupportedEngines",
                Value::List(self.engines.iter().map(|e| Value::from(*e)).collect()),
            )
    }
}

const S: &[&str] = &["standard"];
const SN: &[&str] = &["neural", "standard"];
const N: &[&str] = &["neural"];

const fn v(
    id: &'static str,
    gender: &'static str,
    language: &'static str,
    language_name: &'static str,
    engines: &'static [&'static str],
    espeak: &'static str,
) -> Voice {
    Voice {
        id,
        gender,
        language,
        language_name,
        engines,
        espeak,
    }
}

/// Every voice served.
pub const ALL: &[Voice] = &[
    v("Salli", "Female", "en-US", "US English", SN, "en-us+f3"),
    v("Joanna", "Female", "en-US", "US English", SN, "en-us+f2"),
    v("Ivy", "Female", "en-US", "US English", SN, "en-us+f4"),
    v("Kendra", "Female", "en-US", "US English", SN, "en-us+f1"),
    v("Kimberly", "Female", "en-US", "US English", SN, "en-us+f5"),
    v("Matthew", "Male", "en-US", "US English", SN, "en-us+m3"),
    v("Justin", "Male", "en-US", "US English", SN, "en-us+m1"),
    v("Joey", "Male", "en-US", "US English", SN, "en-us+m2"),
    v("Kevin", "Male", "en-US", "US English", N, "en-us+m4"),
    v("Ruth", "Female", "en-US", "US English", N, "en-us+f2"),
    v("Stephen", "Male", "en-US", "US English", N, "en-us+m5"),
    v("Danielle", "Female", "en-US", "US English", N, "en-us+f1"),
    v("Gregory", "Male", "en-US", "US English", N, "en-us+m6"),
    v("Amy", "Female", "en-GB", "British English", SN, "en-gb+f3"),
    v("Emma", "Female", "en-GB", "British English", SN, "en-gb+f2"),
    v("Brian", "Male", "en-GB", "British English", SN, "en-gb+m3"),
    v("Arthur", "Male", "en-GB", "British English", N, "en-gb+m2"),
    v(
        "Nicole",
        "Female",
        "en-AU",
        "Australian English",
        S,
        "en-gb+f4",
    ),
    v(
        "Olivia",
        "Female",
        "en-AU",
        "Australian English",
        N,
        "en-gb+f2",
    ),
    v(
        "Russell",
        "Male",
        "en-AU",
        "Australian English",
        S,
        "en-gb+m1",
    ),
    v(
        "Raveena",
        "Female",
        "en-IN",
        "Indian English",
        S,
        "en-gb+f5",
    ),
    v("Geraint", "Male", "cy-GB", "Welsh English", S, "en-gb+m4"),
    v("Marlene", "Female", "de-DE", "German", S, "de+f3"),
    v("Vicki", "Female", "de-DE", "German", SN, "de+f2"),
    v("Hans", "Male", "de-DE", "German", S, "de+m3"),
    v("Daniel", "Male", "de-DE", "German", N, "de+m2"),
    v("Celine", "Female", "fr-FR", "French", S, "fr-fr+f3"),
    v("Lea", "Female", "fr-FR", "French", SN, "fr-fr+f2"),
    v("Mathieu", "Male", "fr-FR", "French", S, "fr-fr+m3"),
    v("Remi", "Male", "fr-FR", "French", N, "fr-fr+m2"),
    v(
        "Chantal",
        "Female",
        "fr-CA",
        "Canadian French",
        S,
        "fr-fr+f4",
    ),
    v(
        "Conchita",
        "Female",
        "es-ES",
        "Castilian Spanish",
        S,
        "es+f3",
    ),
    v("Lucia", "Female", "es-ES", "Castilian Spanish", SN, "es+f2"),
    v("Enrique", "Male", "es-ES", "Castilian Spanish", S, "es+m3"),
    v("Sergio", "Male", "es-ES", "Castilian Spanish", N, "es+m2"),
    v("Mia", "Female", "es-MX", "Mexican Spanish", SN, "es-419+f3"),
    v("Penelope", "Female", "es-US", "US Spanish", S, "es-419+f2"),
    v("Lupe", "Female", "es-US", "US Spanish", SN, "es-419+f4"),
    v("Miguel", "Male", "es-US", "US Spanish", S, "es-419+m3"),
    v("Pedro", "Male", "es-US", "US Spanish", N, "es-419+m2"),
    v("Carla", "Female", "it-IT", "Italian", S, "it+f3"),
    v("Bianca", "Female", "it-IT", "Italian", SN, "it+f2"),
    v("Giorgio", "Male", "it-IT", "Italian", S, "it+m3"),
    v("Adriano", "Male", "it-IT", "Italian", N, "it+m2"),
    v("Mizuki", "Female", "ja-JP", "Japanese", S, "ja+f3"),
    v("Takumi", "Male", "ja-JP", "Japanese", SN, "ja+m3"),
    v("Kazuha", "Female", "ja-JP", "Japanese", N, "ja+f2"),
    v(
        "Vitoria",
        "Female",
        "pt-BR",
        "Brazilian Portuguese",
        SN,
        "pt-br+f3",
    ),
    v(
        "Camila",
        "Female",
        "pt-BR",
        "Brazilian Portuguese",
        SN,
        "pt-br+f2",
    ),
    v(
        "Ricardo",
        "Male",
        "pt-BR",
        "Brazilian Portuguese",
        S,
        "pt-br+m3",
    ),
    v(
        "Thiago",
        "Male",
        "pt-BR",
        "Brazilian Portuguese",
        N,
        "pt-br+m2",
    ),
    v("Ines", "Female", "pt-PT", "Portuguese", SN, "pt+f3"),
    v("Cristiano", "Male", "pt-PT", "Portuguese", S, "pt+m3"),
    v("Lotte", "Female", "nl-NL", "Dutch", S, "nl+f3"),
    v("Ruben", "Male", "nl-NL", "Dutch", S, "nl+m3"),
    v("Seoyeon", "Female", "ko-KR", "Korean", SN, "ko+f3"),
    v(
        "Zhiyu",
        "Female",
        "cmn-CN",
        "Chinese Mandarin",
        SN,
        "cmn+f3",
    ),
    v("Ewa", "Female", "pl-PL", "Polish", S, "pl+f3"),
    v("Jacek", "Male", "pl-PL", "Polish", S, "pl+m3"),
    v("Tatyana", "Female", "ru-RU", "Russian", S, "ru+f3"),
    v("Maxim", "Male", "ru-RU", "Russian", S, "ru+m3"),
    v("Astrid", "Female", "sv-SE", "Swedish", S, "sv+f3"),
    v("Liv", "Female", "nb-NO", "Norwegian", S, "nb+f3"),
    v("Naja", "Female", "da-DK", "Danish", S, "da+f3"),
    v("Mads", "Male", "da-DK", "Danish", S, "da+m3"),
    v("Filiz", "Female", "tr-TR", "Turkish", S, "tr+f3"),
    v("Zeina", "Female", "arb", "Arabic", S, "ar+f3"),
    v("Aditi", "Female", "hi-IN", "Hindi", S, "hi+f3"),
    v("Carmen", "Female", "ro-RO", "Romanian", S, "ro+f3"),
    v("Dora", "Female", "is-IS", "Icelandic", S, "is+f3"),
    v("Karl", "Male", "is-IS", "Icelandic", S, "is+m3"),
];

/// The voice with this id.
pub fn voice(id: &str) -> Option<&'static Voice> {
    ALL.iter().find(|v| v.id == id)
}
