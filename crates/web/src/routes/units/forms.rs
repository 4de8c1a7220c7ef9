//! The unit registry's forms and queries, as typed.

use parindex_app::units::{GroupInput, UnitInput};
use parindex_store::units::Unit;
use serde::Deserialize;

use crate::page::date_vi;

#[derive(Deserialize)]
pub struct ListQuery {
    pub q: Option<String>,
    pub group: Option<String>,
    pub inactive: Option<String>,
    pub ok: Option<String>,
}

/// The unit form as typed; every field text, so a bad value can be shown back as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UnitForm {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub name_vi: String,
    #[serde(default)]
    pub name_en: String,
    #[serde(default)]
    pub group_id: String,
    #[serde(default)]
    pub parent_code: String,
    #[serde(default)]
    pub valid_from: String,
    #[serde(default)]
    pub valid_to: String,
    #[serde(default)]
    pub successor_code: String,
    #[serde(default)]
    pub version: String,
}

impl UnitForm {
    pub fn from_unit(unit: &Unit, parent: Option<&Unit>, successor: Option<&Unit>) -> UnitForm {
        UnitForm {
            code: unit.code.clone(),
            name_vi: unit.name_vi.clone(),
            name_en: unit.name_en.clone().unwrap_or_default(),
            group_id: unit.group_id.to_string(),
            parent_code: parent.map(|u| u.code.clone()).unwrap_or_default(),
            valid_from: date_vi(&unit.valid_from),
            valid_to: unit.valid_to.as_deref().map(date_vi).unwrap_or_default(),
            successor_code: successor.map(|u| u.code.clone()).unwrap_or_default(),
            version: unit.version.to_string(),
        }
    }

    pub fn input(&self) -> UnitInput {
        UnitInput {
            code: self.code.clone(),
            name_vi: self.name_vi.clone(),
            name_en: self.name_en.clone(),
            group_id: self.group_id.clone(),
            parent_code: self.parent_code.clone(),
            valid_from: self.valid_from.clone(),
            valid_to: self.valid_to.clone(),
            successor_code: self.successor_code.clone(),
        }
    }
}

#[derive(Deserialize)]
pub struct VersionForm {
    pub version: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct GroupForm {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub name_vi: String,
    #[serde(default)]
    pub name_en: String,
    #[serde(default)]
    pub sort_order: String,
}

impl GroupForm {
    pub fn input(&self) -> GroupInput {
        GroupInput {
            code: self.code.clone(),
            name_vi: self.name_vi.clone(),
            name_en: self.name_en.clone(),
            sort_order: self.sort_order.clone(),
        }
    }
}
