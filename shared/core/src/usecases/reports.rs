//! Reports for finance and governance, read by admins and auditors: the chargeback of holdings by cost center,
//! and how requests are fulfilled (volume, speed, approval waits, outcome rates). Both read only what falls in
//! their period, through indexes on it (`AssignmentStore::held_between`, `RequestStore::created_between`).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Duration, Months, NaiveDate, NaiveTime, Utc};
use serde::{Serialize, Serializer};

use super::admin::require_reader;
use crate::model::*;
use crate::ports::Ports;
use crate::{Error, FieldError, Result};

/// The cost center of holdings whose holder is unknown or names none.
pub const UNASSIGNED: &str = "UNASSIGNED";

/// The longest period the fulfilment report covers.
pub const MAX_PERIOD_DAYS: i64 = 366;

fn midnight(day: NaiveDate) -> Timestamp {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// A calendar month in UTC.
#[derive(Debug, Clone, Copy)]
struct Month {
    first: NaiveDate,
    next: NaiveDate,
}

impl Month {
    /// Exactly `YYYY-MM` (chrono alone would also take `2026-1`).
    fn parse(text: &str) -> Option<Month> {
        let shaped = text.len() == 7
            && text.bytes().enumerate().all(|(i, b)| {
                if i == 4 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        let first = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").ok()?;
        let next = first.checked_add_months(Months::new(1))?;
        shaped.then_some(Month { first, next })
    }

    fn start(&self) -> Timestamp {
        midnight(self.first)
    }

    fn end(&self) -> Timestamp {
        midnight(self.next)
    }

    fn days(&self) -> i64 {
        (self.next - self.first).num_days()
    }
}

/// Money rounded to cents for output: a JSON number (`20.3`), `20.30` in CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cents(pub i64);

impl Serialize for Cents {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // An integer over 100 is the f64 nearest the decimal, so it prints as that decimal.
        s.serialize_f64(self.0 as f64 / 100.0)
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// Exact sums of one report month, in millionths of the currency unit times the month's days: a monthly share
/// (amount × days held / days in month) is a whole number of these, so sums never round.
#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    one_time: i128,
    monthly: i128,
    holdings: u32,
}

impl Sums {
    fn add(&mut self, other: Sums) {
        self.one_time += other.one_time;
        self.monthly += other.monthly;
        self.holdings += other.holdings;
    }

    /// Each figure rounded half away from zero from its exact value, so parts may not add up to the total.
    fn figures(self, month: &Month) -> Figures {
        let unit = i128::from(month.days()) * 10_000; // per cent
        let cents = |exact: i128| {
            let rounded = (2 * exact.abs() + unit) / (2 * unit);
            Cents((exact.signum() * rounded) as i64)
        };
        Figures {
            one_time: cents(self.one_time),
            monthly: cents(self.monthly),
            total: cents(self.one_time + self.monthly),
            holdings: self.holdings,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    pub one_time: Cents,
    pub monthly: Cents,
    pub total: Cents,
    /// Holdings charged on this line.
    pub holdings: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargebackLine {
    pub cost_center: String,
    pub gl_code: String,
    pub currency: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrencyTotal {
    pub currency: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// What each cost center owes for one month, per GL code and currency.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Chargeback {
    pub month: String,
    /// When it was computed: a report of the current month counts active holdings up to this day.
    pub as_of: Timestamp,
    /// Sorted by cost center, GL code, currency.
    pub lines: Vec<ChargebackLine>,
    /// One per currency, from the exact sums of its lines.
    pub totals: Vec<CurrencyTotal>,
}

const CSV_HEADER: [&str; 7] = [
    "costCenter",
    "glCode",
    "currency",
    "oneTime",
    "monthly",
    "total",
    "holdings",
];

impl Chargeback {
    /// The lines as CSV (RFC 4180): a header row, CRLF line ends, a field quoted when it holds a comma, a quote
    /// or a line break, quotes doubled.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let mut row = |fields: &[&str]| {
            let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&quoted.join(","));
            out.push_str("\r\n");
        };
        row(&CSV_HEADER);
        for line in &self.lines {
            let f = &line.figures;
            row(&[
                &line.cost_center,
                &line.gl_code,
                &line.currency,
                &f.one_time.to_string(),
                &f.monthly.to_string(),
                &f.total.to_string(),
                &f.holdings.to_string(),
            ]);
        }
        out
    }
}

fn csv_field(field: &str) -> String {
    // A cost center or GL code comes from HR or an admin: one that a spreadsheet would run as a formula is
    // defused with a leading apostrophe (OWASP CSV injection). Amounts are never negative, so never touched.
    let field = if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{field}")
    } else {
        field.to_string()
    };
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

/// Chargeback of `month` (`YYYY-MM`, UTC): every holding held in the month is charged to its holder's current
/// cost center at its item's current cost, on the line of the item's GL code and currency. Monthly costs are
/// pro-rated by days held, one-time costs fall in the month of the grant (docs/domain-rules.md).
pub async fn chargeback(p: &Ports, caller: &Caller, month: Option<&str>) -> Result<Chargeback> {
    require_reader(caller)?;
    let text = month.unwrap_or_default();
    let month = Month::parse(text)
        .ok_or_else(|| Error::validation("month", "must be a month as YYYY-MM"))?;
    let now = p.clock.now();
    if month.start() > now {
        return Err(Error::validation("month", "is in the future"));
    }
    let mut items: BTreeMap<String, CatalogItem> = BTreeMap::new();
    let mut cost_centers: BTreeMap<String, String> = BTreeMap::new();
    let mut lines: BTreeMap<(String, String, String), Sums> = BTreeMap::new();
    for holding in p
        .assignments
        .held_between(month.start(), month.end())
        .await?
    {
        if !items.contains_key(&holding.item_id) {
            let item = p.catalog.get(&holding.item_id).await?.ok_or_else(|| {
                Error::Internal(format!(
                    "holding {} names no catalog item",
                    holding.assignment_id
                ))
            })?;
            items.insert(holding.item_id.clone(), item);
        }
        let item = &items[&holding.item_id];
        let Some(sums) = charge(&holding, &item.cost, &month, now) else {
            continue;
        };
        if !cost_centers.contains_key(&holding.holder_id) {
            let center = p
                .identities
                .get(&holding.holder_id)
                .await?
                .map(|i| i.cost_center)
                .filter(|c| !c.trim().is_empty())
                .unwrap_or_else(|| UNASSIGNED.to_string());
            cost_centers.insert(holding.holder_id.clone(), center);
        }
        let key = (
            cost_centers[&holding.holder_id].clone(),
            item.gl_code.clone(),
            item.cost.currency.clone(),
        );
        lines.entry(key).or_default().add(sums);
    }
    let mut totals: BTreeMap<String, Sums> = BTreeMap::new();
    for ((_, _, currency), sums) in &lines {
        totals.entry(currency.clone()).or_default().add(*sums);
    }
    Ok(Chargeback {
        month: text.to_string(),
        as_of: now,
        lines: lines
            .into_iter()
            .map(|((cost_center, gl_code, currency), sums)| ChargebackLine {
                cost_center,
                gl_code,
                currency,
                figures: sums.figures(&month),
            })
            .collect(),
        totals: totals
            .into_iter()
            .map(|(currency, sums)| CurrencyTotal {
                currency,
                figures: sums.figures(&month),
            })
            .collect(),
    })
}

/// What a holding costs in `month`, exact: its one-time cost when granted in the month, its monthly cost times
/// the days held. None when nothing is charged (a one-time item granted in an earlier month).
fn charge(holding: &Assignment, cost: &Cost, month: &Month, now: Timestamp) -> Option<Sums> {
    // Millionths: exact for any price with up to six decimals.
    let micros = (cost.amount * 1e6).round() as i128;
    match cost.recurrence {
        Recurrence::OneTime => {
            let granted_in_month =
                month.start() <= holding.granted_at && holding.granted_at < month.end();
            granted_in_month.then_some(Sums {
                one_time: micros * i128::from(month.days()),
                monthly: 0,
                holdings: 1,
            })
        }
        Recurrence::Monthly => {
            let days = days_held(holding, month, now);
            (days > 0).then_some(Sums {
                one_time: 0,
                monthly: micros * i128::from(days),
                holdings: 1,
            })
        }
    }
}

/// The UTC calendar days of `month` on which the holding was active at some moment: from the day of its grant to
/// the day it ended, both counted; while active, up to today (at most the month's last day).
fn days_held(holding: &Assignment, month: &Month, now: Timestamp) -> i64 {
    let last_held = match (holding.status, holding.ended_at) {
        (AssignmentStatus::Active, _) => now,
        // Access ends at `ended_at`: a holding ended at midnight was last held the day before.
        (_, Some(end)) => end
            .checked_sub_signed(Duration::nanoseconds(1))
            .unwrap_or(end),
        (_, None) => return 0,
    };
    let first = holding.granted_at.max(month.start()).date_naive();
    let last = last_held
        .min(
            month
                .end()
                .checked_sub_signed(Duration::nanoseconds(1))
                .unwrap_or(Timestamp::MAX_UTC),
        )
        .date_naive();
    ((last - first).num_days() + 1).max(0)
}

/// Median and 90th percentile (nearest rank) of some durations, shown in hours.
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    pub count: usize,
    pub median: Option<Duration>,
    pub p90: Option<Duration>,
}

impl Spread {
    fn of(mut values: Vec<Duration>) -> Self {
        values.sort();
        // Nearest rank: the smallest value with at least p% of the values at or below it.
        let rank = |percent: usize| {
            let n = values.len();
            values.get((percent * n).div_ceil(100).max(1) - 1).copied()
        };
        Spread {
            count: values.len(),
            median: rank(50),
            p90: rank(90),
        }
    }
}

impl Serialize for Spread {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Hours {
            count: usize,
            median_hours: Option<f64>,
            p90_hours: Option<f64>,
        }
        let hours = |d: Option<Duration>| {
            d.map(|d| (d.num_milliseconds() as f64 / 36_000.0).round() / 100.0)
        };
        Hours {
            count: self.count,
            median_hours: hours(self.median),
            p90_hours: hours(self.p90),
        }
        .serialize(s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub total: u32,
    /// Requests that reached a terminal status: the base of the rates.
    pub terminal: u32,
    /// Per status that occurs (wire names: `FULFILLED`, ...).
    pub by_status: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageWait {
    pub stage: String,
    #[serde(flatten)]
    pub wait: Spread,
}

/// Shares of the terminal requests, four decimals; null without any terminal request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rates {
    pub rejection: Option<f64>,
    pub expiry: Option<f64>,
    pub cancellation: Option<f64>,
}

/// How the requests created in `[from, to)` were fulfilled.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfilmentMetrics {
    pub from: Timestamp,
    pub to: Timestamp,
    pub requests: Volume,
    /// From creation to the FULFILLED timeline entry, over the fulfilled requests.
    pub time_to_fulfil: Spread,
    /// From an approval task's creation until it was decided or closed, per stage name (closed tasks only).
    pub stage_waits: Vec<StageWait>,
    /// The stage with the highest median wait (then the highest p90, then the first name).
    pub bottleneck: Option<String>,
    pub rates: Rates,
}

/// A period bound: an RFC 3339 time, or a date meaning its midnight UTC.
fn instant(field: &str, text: Option<&str>) -> Result<Timestamp, FieldError> {
    let text = text.ok_or_else(|| {
        FieldError::new(
            field,
            "is required: an RFC 3339 time or a date (YYYY-MM-DD)",
        )
    })?;
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d").map(midnight))
        .map_err(|_| FieldError::new(field, "must be an RFC 3339 time or a date (YYYY-MM-DD)"))
}

/// Fulfilment metrics of the requests created in `[from, to)`, a period of at most [`MAX_PERIOD_DAYS`].
pub async fn fulfilment(
    p: &Ports,
    caller: &Caller,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<FulfilmentMetrics> {
    require_reader(caller)?;
    let (from, to) = match (instant("from", from), instant("to", to)) {
        (Ok(from), Ok(to)) => (from, to),
        (from, to) => {
            return Err(Error::Validation(
                [from.err(), to.err()].into_iter().flatten().collect(),
            ));
        }
    };
    if from >= to {
        return Err(Error::validation("to", "must be after from"));
    }
    if to - from > Duration::days(MAX_PERIOD_DAYS) {
        return Err(Error::validation(
            "to",
            format!("must be at most {MAX_PERIOD_DAYS} days after from"),
        ));
    }
    let requests = p.requests.created_between(from, to).await?;
    let mut by_status: BTreeMap<String, u32> = BTreeMap::new();
    let mut to_fulfil = Vec::new();
    let mut waits: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    for req in &requests {
        *by_status.entry(req.status.to_string()).or_default() += 1;
        if let Some(done) = req
            .timeline
            .iter()
            .find(|e| e.status == RequestStatus::Fulfilled)
        {
            to_fulfil.push(done.at - req.created_at);
        }
        // Only requests that opened a stage have approval tasks to read.
        if req.stages.iter().any(|s| s.approval_id.is_some()) {
            for task in p.approvals.for_request(&req.request_id).await? {
                if let Some(closed) = closed_at(&task, req) {
                    waits
                        .entry(task.stage_name.clone())
                        .or_default()
                        .push(closed - task.created_at);
                }
            }
        }
    }
    let stage_waits: Vec<StageWait> = waits
        .into_iter()
        .map(|(stage, values)| StageWait {
            stage,
            wait: Spread::of(values),
        })
        .collect();
    // Names are in order, so among equal waits the first name wins (max_by_key keeps the last maximum).
    let bottleneck = stage_waits
        .iter()
        .rev()
        .max_by_key(|s| (s.wait.median, s.wait.p90))
        .map(|s| s.stage.clone());
    let count = |status: RequestStatus| requests.iter().filter(|r| r.status == status).count();
    let terminal = requests.iter().filter(|r| r.status.is_terminal()).count();
    let rate = |status| {
        (terminal > 0)
            .then(|| (count(status) as f64 / terminal as f64 * 10_000.0).round() / 10_000.0)
    };
    Ok(FulfilmentMetrics {
        from,
        to,
        requests: Volume {
            total: requests.len() as u32,
            terminal: terminal as u32,
            by_status,
        },
        time_to_fulfil: Spread::of(to_fulfil),
        stage_waits,
        bottleneck,
        rates: Rates {
            rejection: rate(RequestStatus::Rejected),
            expiry: rate(RequestStatus::Expired),
            cancellation: rate(RequestStatus::Cancelled),
        },
    })
}

/// When an approval task stopped waiting: its last decision when decided; when the request's end closed it
/// (cancelled, expired), the request's first terminal timeline entry. None while it waits.
fn closed_at(task: &ApprovalTask, req: &Request) -> Option<Timestamp> {
    match task.status {
        ApprovalStatus::Pending => None,
        ApprovalStatus::Approved | ApprovalStatus::Rejected => {
            task.decisions.iter().map(|d| d.at).max()
        }
        ApprovalStatus::Cancelled | ApprovalStatus::Expired => req
            .timeline
            .iter()
            .find(|e| e.status.is_terminal())
            .map(|e| e.at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> Timestamp {
        rfc3339.parse().expect("RFC 3339")
    }

    fn month(text: &str) -> Month {
        Month::parse(text).expect("a month")
    }

    fn holding(granted: &str, ended: Option<&str>) -> Assignment {
        Assignment {
            status: if ended.is_some() {
                AssignmentStatus::Returned
            } else {
                AssignmentStatus::Active
            },
            ended_at: ended.map(at),
            version: 1,
            ..Assignment::new("E1", "figma", at(granted))
        }
    }

    #[test]
    fn a_month_is_exactly_yyyy_mm() {
        assert_eq!(month("2026-02").days(), 28);
        assert_eq!(month("2040-02").days(), 29, "leap year");
        assert_eq!(month("2026-12").end(), at("2027-01-01T00:00:00Z"));
        for bad in [
            "",
            "2026-1",
            "2026-13",
            "2026-00",
            "26-01",
            "2026/01",
            "2026-01-01",
            "２０２６-01",
        ] {
            assert!(Month::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn days_held_count_every_utc_day_with_access_both_ends_included() {
        let now = at("2026-03-15T12:00:00Z");
        // Granted Jan 25, returned Feb 10 at 09:00: Jan 25..31 and Feb 1..10.
        let crossing = holding("2026-01-25T10:00:00Z", Some("2026-02-10T09:00:00Z"));
        assert_eq!(days_held(&crossing, &month("2026-01"), now), 7);
        assert_eq!(days_held(&crossing, &month("2026-02"), now), 10);
        assert_eq!(days_held(&crossing, &month("2026-03"), now), 0);
        // Ended at midnight: last held the day before.
        let midnight = holding("2026-01-25T10:00:00Z", Some("2026-02-01T00:00:00Z"));
        assert_eq!(days_held(&midnight, &month("2026-01"), now), 7);
        assert_eq!(days_held(&midnight, &month("2026-02"), now), 0);
        // Still active: a past month in full, the current month up to today.
        let active = holding("2026-01-31T23:00:00Z", None);
        assert_eq!(days_held(&active, &month("2026-01"), now), 1);
        assert_eq!(days_held(&active, &month("2026-02"), now), 28);
        assert_eq!(days_held(&active, &month("2026-03"), now), 15);
        // Granted and returned the same day: one day.
        let brief = holding("2026-02-03T08:00:00Z", Some("2026-02-03T17:00:00Z"));
        assert_eq!(days_held(&brief, &month("2026-02"), now), 1);
    }

    #[test]
    fn sums_stay_exact_and_round_half_away_from_zero_at_the_end() {
        let feb = month("2040-02"); // 29 days
        let share = |amount: f64, days: i128| Sums {
            one_time: 0,
            monthly: (amount * 1e6).round() as i128 * days,
            holdings: 1,
        };
        // 9 × 10/29 = 3.1034… and 15 × 10/29 = 5.1724…: 3.10 and 5.17, but together 240/29 = 8.2758… → 8.28.
        let mut total = share(9.0, 10);
        total.add(share(15.0, 10));
        assert_eq!(share(9.0, 10).figures(&feb).monthly, Cents(310));
        assert_eq!(share(15.0, 10).figures(&feb).monthly, Cents(517));
        assert_eq!(total.figures(&feb).total, Cents(828));
        assert_eq!(total.figures(&feb).holdings, 2);
        // 0.125 exactly: half away from zero.
        let eighth = Sums {
            one_time: 125_000 * 29,
            monthly: -125_000 * 29,
            holdings: 1,
        };
        let figures = eighth.figures(&feb);
        assert_eq!(
            (figures.one_time, figures.monthly, figures.total),
            (Cents(13), Cents(-13), Cents(0))
        );
    }

    #[test]
    fn cents_print_with_two_decimals_in_csv_and_as_numbers_in_json() {
        assert_eq!(Cents(2032).to_string(), "20.32");
        assert_eq!(Cents(5).to_string(), "0.05");
        assert_eq!(Cents(-130).to_string(), "-1.30");
        assert_eq!(serde_json::to_string(&Cents(2032)).unwrap(), "20.32");
        assert_eq!(serde_json::to_string(&Cents(5500)).unwrap(), "55.0");
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("CC-100"), "CC-100");
        assert_eq!(csv_field("R&D, Berlin"), "\"R&D, Berlin\"");
        assert_eq!(csv_field("the \"lab\""), "\"the \"\"lab\"\"\"");
        assert_eq!(csv_field("two\r\nlines"), "\"two\r\nlines\"");
    }

    #[test]
    fn csv_fields_a_spreadsheet_would_run_are_defused() {
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("-1+2"), "'-1+2");
        assert_eq!(csv_field("20.30"), "20.30");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let hours = |hs: &[i64]| Spread::of(hs.iter().map(|h| Duration::hours(*h)).collect());
        let ten = hours(&[10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(
            (ten.count, ten.median, ten.p90),
            (10, Some(Duration::hours(5)), Some(Duration::hours(9)))
        );
        let three = hours(&[1, 2, 5]);
        assert_eq!(
            (three.median, three.p90),
            (Some(Duration::hours(2)), Some(Duration::hours(5)))
        );
        let one = hours(&[4]);
        assert_eq!(
            (one.median, one.p90),
            (Some(Duration::hours(4)), Some(Duration::hours(4)))
        );
        let none = hours(&[]);
        assert_eq!((none.count, none.median, none.p90), (0, None, None));
        assert_eq!(
            serde_json::to_value(Spread::of(vec![Duration::minutes(90)])).unwrap(),
            serde_json::json!({"count": 1, "medianHours": 1.5, "p90Hours": 1.5})
        );
    }
}
