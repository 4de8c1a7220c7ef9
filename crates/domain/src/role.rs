//! Roles a user can hold, and the scope (a unit or the whole province) each grant carries.

use serde::{Deserialize, Serialize};

/// The roles of the PAR evaluation (shared/DOMAIN.md §4). Stored by their `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Role {
    SystemAdmin,
    Secretariat,
    UnitOfficer,
    UnitHead,
    Appraiser,
    CouncilMember,
    ExternalProvider,
    SurveyOperator,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::SystemAdmin,
        Role::Secretariat,
        Role::UnitOfficer,
        Role::UnitHead,
        Role::Appraiser,
        Role::CouncilMember,
        Role::ExternalProvider,
        Role::SurveyOperator,
        Role::Viewer,
    ];

    /// Stable code used in the database and in URLs.
    pub fn code(self) -> &'static str {
        match self {
            Role::SystemAdmin => "system_admin",
            Role::Secretariat => "secretariat",
            Role::UnitOfficer => "unit_officer",
            Role::UnitHead => "unit_head",
            Role::Appraiser => "appraiser",
            Role::CouncilMember => "council_member",
            Role::ExternalProvider => "external_provider",
            Role::SurveyOperator => "survey_operator",
            Role::Viewer => "viewer",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Vietnamese label shown in the header and in user management.
    pub fn label_vi(self) -> &'static str {
        match self {
            Role::SystemAdmin => "Quản trị hệ thống",
            Role::Secretariat => "Thường trực (Sở Nội vụ)",
            Role::UnitOfficer => "Cán bộ đầu mối",
            Role::UnitHead => "Thủ trưởng đơn vị",
            Role::Appraiser => "Thành viên tổ thẩm định",
            Role::CouncilMember => "Thành viên hội đồng",
            Role::ExternalProvider => "Cơ quan cung cấp số liệu",
            Role::SurveyOperator => "Cán bộ điều tra XHH",
            Role::Viewer => "Lãnh đạo (chỉ xem)",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Role::SystemAdmin => "System administrator",
            Role::Secretariat => "Secretariat",
            Role::UnitOfficer => "Unit officer",
            Role::UnitHead => "Unit head",
            Role::Appraiser => "Appraiser",
            Role::CouncilMember => "Council member",
            Role::ExternalProvider => "External data provider",
            Role::SurveyOperator => "Survey operator",
            Role::Viewer => "Viewer",
        }
    }

    /// Unit-bound roles act only for their own unit: everything of another unit is invisible.
    pub fn is_unit_bound(self) -> bool {
        matches!(self, Role::UnitOfficer | Role::UnitHead)
    }

    /// Roles that must name a unit when granted. An appraiser names the agency they come
    /// from, which is how "an appraiser never appraises their own unit" is enforced later;
    /// an external data provider names its agency, and writes only the leaves whose provider
    /// (in the index set) is that agency.
    pub fn requires_unit(self) -> bool {
        matches!(
            self,
            Role::UnitOfficer | Role::UnitHead | Role::Appraiser | Role::ExternalProvider
        )
    }

    /// Roles whose grant may name a unit at all: the ones that must. Every other role is
    /// province-wide: a unit on such a grant would be shown in the header while granting
    /// nothing less than the whole province, so it is refused.
    pub fn may_name_unit(self) -> bool {
        self.requires_unit()
    }
}

/// One role held by a user, scoped to a unit or (unit_id = None) to the whole province.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleGrant {
    pub role: Role,
    pub unit_id: Option<i64>,
}

impl RoleGrant {
    /// Checks the grant's shape: unit-scoped roles need a unit; province-wide ones may not
    /// carry one except where the role allows a home agency (`Role::may_name_unit`).
    pub fn validate(&self) -> Result<(), crate::InvalidInput> {
        if self.role.requires_unit() && self.unit_id.is_none() {
            return Err(crate::InvalidInput::new(
                "unit_id",
                format!("Vai trò «{}» phải gắn với một đơn vị", self.role.label_vi()),
            ));
        }
        if self.unit_id.is_some() && !self.role.may_name_unit() {
            return Err(crate::InvalidInput::new(
                "unit_id",
                format!(
                    "Vai trò «{}» có phạm vi toàn tỉnh, không gắn với một đơn vị: hãy bỏ chọn đơn vị",
                    self.role.label_vi()
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::from_code(r.code()), Some(r));
        }
        assert_eq!(Role::from_code("root"), None);
    }

    #[test]
    fn unit_roles_need_a_unit() {
        assert!(
            RoleGrant {
                role: Role::UnitOfficer,
                unit_id: None
            }
            .validate()
            .is_err()
        );
        assert!(
            RoleGrant {
                role: Role::Viewer,
                unit_id: None
            }
            .validate()
            .is_ok()
        );
    }

    #[test]
    fn province_wide_roles_refuse_a_unit() {
        for role in [
            Role::SystemAdmin,
            Role::Secretariat,
            Role::CouncilMember,
            Role::SurveyOperator,
            Role::Viewer,
        ] {
            let err = RoleGrant {
                role,
                unit_id: Some(3),
            }
            .validate()
            .expect_err(role.code());
            assert_eq!(err.field, "unit_id");
            assert!(err.message.contains("toàn tỉnh"), "{}", err.message);
            assert!(
                RoleGrant {
                    role,
                    unit_id: None
                }
                .validate()
                .is_ok()
            );
        }
    }

    #[test]
    fn home_agency_roles_keep_their_unit() {
        // Unit-bound roles, the appraiser and the provider must name a unit.
        for role in [
            Role::UnitOfficer,
            Role::UnitHead,
            Role::Appraiser,
            Role::ExternalProvider,
        ] {
            let with = RoleGrant {
                role,
                unit_id: Some(3),
            };
            assert!(with.validate().is_ok());
            let without = RoleGrant {
                role,
                unit_id: None,
            };
            assert!(without.validate().is_err());
        }
    }
}
