//! Builders for the data most tests start from: the shipped departments index set and an open
//! evaluation period over it, created the way the secretariat creates it (the form), so that
//! each test file states only what it changes.

use axum::http::StatusCode;
use parindex_domain::IndexSet;
use parindex_store::AuditActor;
use parindex_store::index_sets::IndexSetContent;

use super::TestApp;

/// The shipped illustrative index set of the departments (group SO).
pub const SO_YAML: &str = include_str!("../../../../../data/index-sets/minh-hoa-2021-so.yaml");

/// The shipped departments set as the domain reads it.
pub fn so_set() -> IndexSet {
    let doc = parindex_formats::parse_index_set_file(SO_YAML.as_bytes()).unwrap();
    IndexSet::from_doc(&doc, None).unwrap()
}

/// Stores the shipped departments set as the 2026 set of group SO and publishes it (setup
/// only, straight in the store); returns its id.
pub async fn publish_so_set(app: &TestApp) -> i64 {
    let doc = parindex_formats::parse_index_set_file(SO_YAML.as_bytes()).unwrap();
    let mut tx = app
        .store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap();
    let set = tx
        .create_index_set(
            &IndexSetContent {
                code: doc.code.clone(),
                year: 2026,
                unit_group: "SO".into(),
                title: doc.title.clone(),
                illustrative: true,
                definition: serde_json::to_string(&doc).unwrap(),
                node_count: 123,
            },
            None,
        )
        .await
        .unwrap();
    tx.publish_index_set(set.id, 1).await.unwrap();
    tx.commit().await.unwrap();
    set.id
}

/// Publishes the shipped departments set and opens a period around today (self-assessment
/// open since yesterday, closing in 10 days) over every unit of the group; returns its id.
pub async fn open_period(app: &TestApp) -> i64 {
    period(app).open().await
}

/// A period to open, with the defaults of `open_period`; the methods change one thing each.
pub fn period(app: &TestApp) -> PeriodBuilder<'_> {
    PeriodBuilder {
        app,
        fields: Vec::new(),
        units: Vec::new(),
    }
}

/// See `period`.
pub struct PeriodBuilder<'a> {
    app: &'a TestApp,
    /// Extra form fields of the new-period form.
    fields: Vec<(String, String)>,
    units: Vec<i64>,
}

impl PeriodBuilder<'_> {
    /// Bonus and penalty caps, in points.
    pub fn caps(self, bonus: &str, penalty: &str) -> Self {
        self.field("bonus_cap", bonus).field("penalty_cap", penalty)
    }

    /// The number of appraisal rounds.
    pub fn rounds(self, rounds: u32) -> Self {
        self.field("appraisal_rounds", &rounds.to_string())
    }

    /// The explanation deadline, `days` from today.
    pub fn explanation_due_in(self, days: i64) -> Self {
        let due = date_in(days);
        self.field("explanation_due", &due)
    }

    /// Only these units take part (all units of the group when none is given).
    pub fn units(mut self, units: &[i64]) -> Self {
        self.units.extend_from_slice(units);
        self
    }

    /// Any other field of the new-period form.
    pub fn field(mut self, name: &str, value: &str) -> Self {
        self.fields.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Publishes the departments set and creates the period through the form as the
    /// secretariat; returns the period's id.
    pub async fn open(self) -> i64 {
        let set_id = publish_so_set(self.app).await.to_string();
        let mut fields: Vec<(String, String)> = vec![
            ("name".into(), "Đánh giá CCHC năm 2026".into()),
            ("year".into(), "2026".into()),
            ("self_open".into(), date_in(-1)),
            ("self_close".into(), date_in(10)),
            ("set_SO".into(), set_id),
        ];
        fields.extend(self.fields);
        fields.extend(
            self.units
                .iter()
                .map(|u| (format!("unit_{u}"), "on".into())),
        );
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut secretariat = self.app.login_as("thuky").await;
        let r = secretariat.post("/periods", &fields).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        r.location()
            .trim_start_matches("/periods/")
            .split('?')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }
}

/// Today plus `days`, as the forms write dates (dd/mm/yyyy).
pub fn date_in(days: i64) -> String {
    let today = time::OffsetDateTime::now_utc().date();
    parindex_domain::text::format_date_vi(today + time::Duration::days(days))
}
