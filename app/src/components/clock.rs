//! Times as the reader reads them: `HH:MM` on a message, the full date and time on hover
//! and for screen readers, and the day separators' names, in the reader's time zone (the
//! browser's; the server render shows no messages, so it never needs one).

use super::arrange::Calendar;

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// The reader's calendar.
pub struct ReaderCalendar {
    today: i64,
}

impl ReaderCalendar {
    /// The calendar as of now.
    pub fn now() -> Self {
        let calendar = Self { today: 0 };
        Self {
            today: calendar.day(now_ms()),
        }
    }
}

impl Calendar for ReaderCalendar {
    fn day(&self, millis: i64) -> i64 {
        (millis - offset_ms(millis)).div_euclid(DAY_MS)
    }

    fn label(&self, day: i64, millis: i64) -> String {
        match self.today - day {
            0 => "Today".to_owned(),
            1 => "Yesterday".to_owned(),
            _ => long_date(millis),
        }
    }
}

/// `HH:MM` of a unix-milliseconds time (empty when unknown).
pub fn clock_time(millis: i64) -> String {
    if millis <= 0 {
        return String::new();
    }
    #[cfg(feature = "hydrate")]
    let (hours, minutes) = {
        let date = js_date(millis);
        (date.get_hours(), date.get_minutes())
    };
    #[cfg(not(feature = "hydrate"))]
    let (hours, minutes) = ((millis / 3_600_000) % 24, (millis / 60_000) % 60);
    format!("{hours:02}:{minutes:02}")
}

/// The full date and time, as the reader's browser words it (`1 December 2026 at 23:57`).
pub fn full_time(millis: i64) -> String {
    if millis <= 0 {
        return String::new();
    }
    #[cfg(feature = "hydrate")]
    {
        String::from(js_date(millis).to_locale_string("default", &options(true)))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        iso_time(millis)
    }
}

/// The time in ISO 8601 (UTC), for `<time datetime>`.
pub fn iso_time(millis: i64) -> String {
    #[cfg(feature = "hydrate")]
    {
        String::from(js_date(millis).to_iso_string())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        format!("{millis}")
    }
}

/// A day's name for its separator: weekday and date.
fn long_date(millis: i64) -> String {
    #[cfg(feature = "hydrate")]
    {
        String::from(js_date(millis).to_locale_date_string("default", &options(false)))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        format!("day {}", millis.div_euclid(DAY_MS))
    }
}

/// The reader's UTC offset at `millis` (what to subtract from UTC to get local time),
/// in milliseconds.
fn offset_ms(millis: i64) -> i64 {
    #[cfg(feature = "hydrate")]
    {
        (js_date(millis).get_timezone_offset() * 60_000.0) as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = millis;
        0
    }
}

fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0
    }
}

#[cfg(feature = "hydrate")]
fn js_date(millis: i64) -> js_sys::Date {
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(millis as f64))
}

/// `toLocale…String` options: weekday and long date, and the time when `with_time`.
#[cfg(feature = "hydrate")]
fn options(with_time: bool) -> js_sys::Object {
    let options = js_sys::Object::new();
    let set = |key: &str, value: &str| {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    };
    set("weekday", "long");
    set("year", "numeric");
    set("month", "long");
    set("day", "numeric");
    if with_time {
        set("hour", "2-digit");
        set("minute", "2-digit");
    }
    options
}
