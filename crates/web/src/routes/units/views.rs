//! The unit registry's view models.

use askama::Template;
use parindex_app::units::ImportRow;
use parindex_domain::unit::ImportProblem;
use parindex_store::units::{Unit, UnitGroup};

use super::forms::{GroupForm, UnitForm};
use crate::page::Page;

#[derive(Template)]
#[template(path = "units/units_list.html")]
pub struct ListPage {
    pub p: Page,
    pub units: Vec<Unit>,
    pub groups: Vec<UnitGroup>,
    pub q: String,
    pub group: Option<i64>,
    pub inactive: bool,
    pub can_manage: bool,
}

#[derive(Template)]
#[template(path = "units/unit_show.html")]
pub struct ShowPage {
    pub p: Page,
    pub unit: Unit,
    pub parent: Option<Unit>,
    pub successor: Option<Unit>,
    pub can_manage: bool,
    pub can_audit: bool,
}

#[derive(Template)]
#[template(path = "units/unit_form.html")]
pub struct FormPage {
    pub p: Page,
    pub form: UnitForm,
    /// (field, message); the field is empty for the form as a whole.
    pub errors: Vec<(String, String)>,
    pub groups: Vec<UnitGroup>,
    pub all_codes: Vec<(String, String)>,
    /// None when creating.
    pub unit_id: Option<i64>,
}

impl FormPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
    fn general_errors(&self) -> Vec<&str> {
        self.errors
            .iter()
            .filter(|(f, _)| f.is_empty())
            .map(|(_, m)| m.as_str())
            .collect()
    }
}

#[derive(Template)]
#[template(path = "units/unit_groups.html")]
pub struct GroupsPage {
    pub p: Page,
    pub groups: Vec<UnitGroup>,
    pub can_manage: bool,
    pub error: Option<String>,
    pub form: GroupForm,
}

#[derive(Template)]
#[template(path = "units/units_import.html")]
pub struct ImportPage {
    pub p: Page,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "units/units_import_report.html")]
pub struct ReportPage {
    pub p: Page,
    pub file_name: String,
    pub encoding: String,
    pub rows: Vec<ImportRow>,
    pub problems: Vec<ImportProblem>,
    pub stash_id: Option<i64>,
}
