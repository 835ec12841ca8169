//! Slot values: finding one in what the user typed and resolving it as Lex does
//! (dates as `YYYY-MM-DD`, times as `HH:MM` or a period such as `AF`, custom
//! values by their enumeration value or synonyms).

use time::{Date, Duration, Month, Weekday};

/// A custom slot type's values, as `PutSlotType` stored them.
#[derive(Debug, Clone, Default)]
pub struct Enumeration {
    /// `(value, synonyms)`.
    pub values: Vec<(String, Vec<String>)>,
    /// `TOP_RESOLUTION` answers the canonical value; `ORIGINAL_VALUE` (the default)
    /// what the user said.
    pub top_resolution: bool,
}

/// Lower-case words of a text, punctuation dropped.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == ':' || c == '-' || c == '/' || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn singular(w: &str) -> &str {
    w.strip_suffix("es")
        .filter(|s| s.ends_with("ss") || s.ends_with("sh") || s.ends_with("ch"))
        .or_else(|| w.strip_suffix('s').filter(|s| !s.ends_with('s')))
        .unwrap_or(w)
}

/// Finds `phrase` (as words) in `text_words`, tolerating plurals; returns the
/// position and length matched.
fn find_phrase(text_words: &[String], phrase: &str) -> Option<(usize, usize)> {
    let p = words(phrase);
    if p.is_empty() || p.len() > text_words.len() {
        return None;
    }
    (0..=text_words.len() - p.len()).find_map(|i| {
        let window = text_words.get(i..i + p.len())?;
        window
            .iter()
            .zip(&p)
            .all(|(a, b)| a == b || singular(a) == singular(b))
            .then_some((i, p.len()))
    })
}

impl Enumeration {
    /// The value mentioned in `text`, if any; longer phrases win.
    pub fn find(&self, text: &str) -> Option<String> {
        let tw = words(text);
        let mut best: Option<(usize, String)> = None;
        for (value, synonyms) in &self.values {
            for phrase in std::iter::once(value).chain(synonyms) {
                if let Some((i, n)) = find_phrase(&tw, phrase) {
                    let said = tw.get(i..i + n).map(|w| w.join(" ")).unwrap_or_default();
                    let answer = if self.top_resolution {
                        value.clone()
                    } else {
                        said
                    };
                    if best.as_ref().is_none_or(|(len, _)| n > *len) {
                        best = Some((n, answer));
                    }
                }
            }
        }
        best.map(|(_, v)| v)
    }
}

const MONTHS: &[(&str, Month)] = &[
    ("january", Month::January),
    ("february", Month::February),
    ("march", Month::March),
    ("april", Month::April),
    ("may", Month::May),
    ("june", Month::June),
    ("july", Month::July),
    ("august", Month::August),
    ("september", Month::September),
    ("october", Month::October),
    ("november", Month::November),
    ("december", Month::December),
];

const WEEKDAYS: &[(&str, Weekday)] = &[
    ("monday", Weekday::Monday),
    ("tuesday", Weekday::Tuesday),
    ("wednesday", Weekday::Wednesday),
    ("thursday", Weekday::Thursday),
    ("friday", Weekday::Friday),
    ("saturday", Weekday::Saturday),
    ("sunday", Weekday::Sunday),
];

fn month(word: &str) -> Option<Month> {
    MONTHS
        .iter()
        .find(|(name, _)| word.len() >= 3 && name.starts_with(word))
        .map(|(_, m)| *m)
}

fn day_number(word: &str) -> Option<u8> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    digits.parse::<u8>().ok().filter(|d| (1..=31).contains(d))
}

/// An `AMAZON.DATE` value in `text`, relative to `today`.
pub fn date(text: &str, today: Date) -> Option<String> {
    let tw = words(text);
    let fmt = |d: Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    for (i, w) in tw.iter().enumerate() {
        match w.as_str() {
            "today" | "tonight" => return Some(fmt(today)),
            "tomorrow" => return Some(fmt(today + Duration::days(1))),
            "yesterday" => return Some(fmt(today - Duration::days(1))),
            _ => {}
        }
        if let Some((_, wd)) = WEEKDAYS.iter().find(|(n, _)| n == w) {
            let mut d = today + Duration::days(1);
            while d.weekday() != *wd {
                d += Duration::days(1);
            }
            return Some(fmt(d));
        }
        // 2026-11-25
        let parts: Vec<&str> = w.split('-').collect();
        if let [y, m, d] = parts.as_slice()
            && let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i32>(), m.parse::<u8>(), d.parse::<u8>())
            && let Ok(m) = Month::try_from(m)
            && let Ok(date) = Date::from_calendar_date(y, m, d)
        {
            return Some(fmt(date));
        }
        // 11/25/2026 or 11/25
        let parts: Vec<&str> = w.split('/').collect();
        if let [m, d, rest @ ..] = parts.as_slice()
            && rest.len() <= 1
            && let (Ok(m), Ok(d)) = (m.parse::<u8>(), d.parse::<u8>())
            && let Ok(m) = Month::try_from(m)
        {
            let y = rest
                .first()
                .and_then(|y| y.parse::<i32>().ok())
                .unwrap_or(today.year());
            if let Ok(date) = Date::from_calendar_date(y, m, d) {
                return Some(fmt(date));
            }
        }
        // "november 25" / "25 november" / "25th of november", optional year after.
        if let Some(m) = month(w) {
            let day = tw
                .get(i + 1)
                .and_then(|n| day_number(n))
                .or_else(|| {
                    i.checked_sub(1)
                        .and_then(|j| tw.get(j))
                        .and_then(|n| day_number(n))
                })
                .or_else(|| {
                    i.checked_sub(2)
                        .filter(|j| tw.get(j + 1).is_some_and(|o| o == "of"))
                        .and_then(|j| tw.get(j))
                        .and_then(|n| day_number(n))
                });
            if let Some(day) = day {
                let explicit_year = tw
                    .get(i + 2)
                    .and_then(|y| y.parse::<i32>().ok())
                    .filter(|y| (1900..=2999).contains(y));
                let mut year = explicit_year.unwrap_or(today.year());
                // A date without a year is the next one to come.
                if explicit_year.is_none()
                    && Date::from_calendar_date(year, m, day).is_ok_and(|d| d < today)
                {
                    year += 1;
                }
                if let Ok(date) = Date::from_calendar_date(year, m, day) {
                    return Some(fmt(date));
                }
            }
        }
    }
    None
}

const NUMBER_WORDS: &[&str] = &[
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve",
];

/// An `AMAZON.TIME` value in `text`: `HH:MM`, or a period (`MO`, `AF`, `EV`, `NI`).
pub fn time_of_day(text: &str) -> Option<String> {
    let tw = words(text);
    for (i, w) in tw.iter().enumerate() {
        match w.as_str() {
            "noon" | "midday" => return Some("12:00".into()),
            "midnight" => return Some("00:00".into()),
            _ => {}
        }
        let (clock, suffix) = match w.strip_suffix("am").or_else(|| w.strip_suffix("a.m")) {
            Some(c) => (c, Some(false)),
            None => match w.strip_suffix("pm").or_else(|| w.strip_suffix("p.m")) {
                Some(c) => (c, Some(true)),
                None => (w.as_str(), None),
            },
        };
        let next = tw.get(i + 1).map(String::as_str);
        let pm = suffix.or(match next {
            Some("am" | "a.m" | "a") => Some(false),
            Some("pm" | "p.m" | "p") => Some(true),
            Some("o'clock") => None,
            _ => None,
        });
        let (h, m) = if let Some((h, m)) = clock.split_once(':') {
            match (h.parse::<u8>(), m.parse::<u8>()) {
                (Ok(h), Ok(m)) if h < 24 && m < 60 => (h, m),
                _ => continue,
            }
        } else if let Ok(h) = clock.parse::<u8>() {
            if pm.is_none() && next != Some("o'clock") {
                continue;
            }
            (h, 0)
        } else if let Some(h) = NUMBER_WORDS.iter().position(|n| *n == clock) {
            if pm.is_none() && next != Some("o'clock") {
                continue;
            }
            (u8::try_from(h).unwrap_or(0), 0)
        } else {
            continue;
        };
        let h = match pm {
            Some(true) if h < 12 => h + 12,
            Some(false) if h == 12 => 0,
            _ => h,
        };
        if h < 24 {
            return Some(format!("{h:02}:{m:02}"));
        }
    }
    for (period, code) in [
        ("morning", "MO"),
        ("afternoon", "AF"),
        ("evening", "EV"),
        ("night", "NI"),
    ] {
        if tw.iter().any(|w| w == period) {
            return Some(code.into());
        }
    }
    None
}

/// An `AMAZON.NUMBER` value in `text`.
pub fn number(text: &str) -> Option<String> {
    words(text).iter().find_map(|w| {
        w.parse::<i64>().ok().map(|n| n.to_string()).or_else(|| {
            NUMBER_WORDS
                .iter()
                .position(|n| n == w)
                .map(|n| n.to_string())
        })
    })
}

/// A yes or a no, for confirmation prompts.
pub fn yes_or_no(text: &str) -> Option<bool> {
    let tw = words(text);
    let first = tw.first()?;
    const YES: &[&str] = &[
        "yes",
        "yeah",
        "yep",
        "yup",
        "sure",
        "ok",
        "okay",
        "correct",
        "right",
        "confirm",
        "absolutely",
        "definitely",
    ];
    const NO: &[&str] = &["no", "nope", "nah", "cancel", "negative", "never", "don't"];
    if YES.contains(&first.as_str()) {
        Some(true)
    } else if NO.contains(&first.as_str()) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn dates() {
        let today = date!(2026 - 11 - 23); // a Monday
        assert_eq!(date("tomorrow", today).as_deref(), Some("2026-11-24"));
        assert_eq!(
            date("on friday please", today).as_deref(),
            Some("2026-11-27")
        );
        assert_eq!(date("monday", today).as_deref(), Some("2026-11-30"));
        assert_eq!(date("2027-01-05", today).as_deref(), Some("2027-01-05"));
        assert_eq!(date("12/24", today).as_deref(), Some("2026-12-24"));
        assert_eq!(date("March 3rd", today).as_deref(), Some("2027-03-03"));
        assert_eq!(
            date("the 25th of november", today).as_deref(),
            Some("2026-11-25")
        );
        assert_eq!(date("roses", today), None);
        assert_eq!(date("2026-02-30", today), None);
    }

    #[test]
    fn times() {
        assert_eq!(time_of_day("10 am").as_deref(), Some("10:00"));
        assert_eq!(time_of_day("at 4pm").as_deref(), Some("16:00"));
        assert_eq!(time_of_day("10:30").as_deref(), Some("10:30"));
        assert_eq!(time_of_day("12 am").as_deref(), Some("00:00"));
        assert_eq!(time_of_day("five o'clock").as_deref(), Some("05:00"));
        assert_eq!(time_of_day("noon").as_deref(), Some("12:00"));
        assert_eq!(time_of_day("in the afternoon").as_deref(), Some("AF"));
        assert_eq!(time_of_day("3 roses"), None);
        assert_eq!(time_of_day("25:00"), None);
    }

    #[test]
    fn enumerations_and_answers() {
        let e = Enumeration {
            values: vec![
                ("roses".into(), vec![]),
                ("lilies".into(), vec!["lily".into()]),
                ("tulips".into(), vec![]),
            ],
            top_resolution: false,
        };
        assert_eq!(e.find("I want Roses").as_deref(), Some("roses"));
        assert_eq!(e.find("a rose").as_deref(), Some("rose"));
        assert_eq!(e.find("lily").as_deref(), Some("lily"));
        assert_eq!(e.find("daisies"), None);
        let top = Enumeration {
            top_resolution: true,
            ..e
        };
        assert_eq!(top.find("a lily").as_deref(), Some("lilies"));
        assert_eq!(number("three dozen").as_deref(), Some("3"));
        assert_eq!(yes_or_no("Yes please"), Some(true));
        assert_eq!(yes_or_no("no"), Some(false));
        assert_eq!(yes_or_no("maybe"), None);
    }
}
