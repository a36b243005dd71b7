//! Golden tests: expected values derived by hand from the official lists
//! (Cabinet Office, State Council notices, MGI portarias) quoted in regulations.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;

use super::*;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[test]
fn embedded_data_parses_and_validates() {
    let ids: Vec<&str> = all().unwrap().iter().map(Calendar::id).collect();
    assert_eq!(ids, ["JP", "JP-ADMIN", "CN", "BR"]);
    assert_eq!(get("JP-ADMIN").unwrap().time_zone(), chrono_tz::Asia::Tokyo);
    assert_eq!(get("CN").unwrap().time_zone(), chrono_tz::Asia::Shanghai);
    assert_eq!(
        get("BR").unwrap().time_zone(),
        chrono_tz::America::Sao_Paulo
    );
}

#[test]
fn unknown_calendar_is_an_error() {
    let err = get("XX").unwrap_err();
    assert_eq!(err, CalendarError::Unknown("XX".into()));
    assert!(err.to_string().contains("JP, JP-ADMIN, CN, BR"));
}

#[test]
fn covered_years_and_missing_years() {
    let cases = [
        ("JP", 2024, 2027),
        ("JP-ADMIN", 2024, 2027),
        ("CN", 2024, 2026),
        ("BR", 2024, 2027),
    ];
    for (id, first, last) in cases {
        let calendar = get(id).unwrap();
        for year in first..=last {
            let mid_june = NaiveDate::from_ymd_opt(year, 6, 15).unwrap();
            assert!(calendar.is_working_day(mid_june).is_ok(), "{id} {year}");
        }
        for year in [first - 1, last + 1] {
            let date = NaiveDate::from_ymd_opt(year, 6, 15).unwrap();
            let err = calendar.is_working_day(date).unwrap_err();
            let data_id = id.trim_end_matches("-ADMIN");
            assert_eq!(
                err.to_string(),
                format!("no holiday data for {data_id} {year}")
            );
        }
    }
}

#[test]
fn working_days_golden() {
    let cases = [
        // JP: 振替休日, 国民の休日, equinox substitute, ordinary days and weekends.
        ("JP", "2025-02-24", false),
        ("JP", "2025-05-06", false),
        ("JP", "2026-05-06", false),
        ("JP", "2026-09-22", false),
        ("JP", "2026-09-24", true),
        ("JP", "2027-03-22", false),
        ("JP", "2024-08-12", false),
        ("JP", "2026-03-07", false),
        ("JP", "2026-12-29", true),
        ("JP-ADMIN", "2026-12-29", false),
        ("JP-ADMIN", "2027-01-03", false),
        ("JP-ADMIN", "2027-01-04", true),
        // CN: make-up weekends work, weekdays inside holiday blocks do not.
        ("CN", "2026-02-14", true),
        ("CN", "2026-02-28", true),
        ("CN", "2026-02-23", false),
        ("CN", "2026-02-24", true),
        ("CN", "2025-01-26", true),
        ("CN", "2025-10-08", false),
        ("CN", "2026-10-08", true),
        ("CN", "2026-10-10", true),
        ("CN", "2024-02-18", true),
        ("CN", "2026-03-01", false),
        // BR: national holidays only; ponto facultativo days are working days.
        ("BR", "2026-04-03", false),
        ("BR", "2026-04-21", false),
        ("BR", "2026-04-20", true),
        ("BR", "2026-02-16", true),
        ("BR", "2025-11-20", false),
        ("BR", "2024-03-29", false),
    ];
    for (id, date, expected) in cases {
        let got = get(id).unwrap().is_working_day(day(date)).unwrap();
        assert_eq!(got, expected, "{id} {date}");
    }
}

#[test]
fn add_working_days_golden() {
    let cases = [
        // Spring Festival 2026: 13 Fri, 14 Sat (make-up), 15–23 off, 24, 25, 26.
        ("CN", "2026-02-12", 5, "2026-02-26"),
        ("CN", "2026-02-13", 1, "2026-02-14"),
        ("CN", "2026-09-30", 1, "2026-10-08"),
        ("CN", "2025-01-24", 1, "2025-01-26"),
        // Good Friday 3 Apr and Tiradentes 21 Apr 2026.
        ("BR", "2026-04-01", 3, "2026-04-07"),
        ("BR", "2026-04-17", 3, "2026-04-23"),
        ("BR", "2025-12-30", 3, "2026-01-05"),
        // New Year 2027 and Good Friday 26 Mar 2027.
        ("BR", "2026-12-29", 3, "2027-01-04"),
        ("BR", "2027-03-24", 3, "2027-03-30"),
        // Golden Week 2026 (29 Apr, 3–6 May).
        ("JP", "2026-04-01", 30, "2026-05-19"),
    ];
    for (id, start, n, expected) in cases {
        let got = get(id).unwrap().add_working_days(day(start), n).unwrap();
        assert_eq!(got, day(expected), "{id} {start} + {n}");
    }
}

#[test]
fn roll_forward_golden() {
    let cases = [
        ("JP", "2026-05-02", "2026-05-07"),
        ("JP", "2026-05-07", "2026-05-07"),
        ("JP-ADMIN", "2026-12-29", "2027-01-04"),
        ("JP-ADMIN", "2026-03-07", "2026-03-09"),
        ("CN", "2026-02-15", "2026-02-24"),
    ];
    for (id, date, expected) in cases {
        let got = get(id).unwrap().roll_forward(day(date)).unwrap();
        assert_eq!(got, day(expected), "{id} {date}");
    }
}

#[test]
fn arithmetic_into_a_missing_year_names_calendar_and_year() {
    let cases = [
        ("BR", "2027-12-29", 3, "no holiday data for BR 2028"),
        ("CN", "2026-12-30", 3, "no holiday data for CN 2027"),
        ("JP-ADMIN", "2027-12-28", 1, "no holiday data for JP 2028"),
    ];
    for (id, start, n, message) in cases {
        let err = get(id)
            .unwrap()
            .add_working_days(day(start), n)
            .unwrap_err();
        assert_eq!(err.to_string(), message, "{id} {start}");
    }
    let err = get("JP-ADMIN")
        .unwrap()
        .roll_forward(day("2027-12-30"))
        .unwrap_err();
    assert_eq!(
        err,
        CalendarError::NoData {
            calendar: "JP".into(),
            year: 2028
        }
    );
}

#[test]
fn tenant_closures_are_skipped() {
    let closures = [day("2026-08-13"), day("2026-08-14")];
    let calendar = get("JP").unwrap().with_closures(&closures);
    assert_eq!(
        calendar.add_working_days(day("2026-08-12"), 1).unwrap(),
        day("2026-08-17")
    );
    assert!(
        get("JP")
            .unwrap()
            .is_working_day(day("2026-08-13"))
            .unwrap()
    );
}
