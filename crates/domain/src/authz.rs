//! Authorization policy: which actor may take which action on which object. Pure; every
//! route asks this before it reads or changes anything.

use crate::role::{Role, RoleGrant};

/// Who is acting: the user and the role grant they are using right now (shown in the header).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: i64,
    pub grant: RoleGrant,
    /// Every unit that any of the person's grants is bound to (their own units, whatever the
    /// role in use): an appraiser never appraises, nor reads the evidence of, one of these.
    pub own_units: Vec<i64>,
}

/// Things a user can try to do. Object-level actions carry the unit they touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See the unit registry (unit-bound roles see only their own unit in it).
    ListUnits,
    /// Open one unit's page.
    ViewUnit { unit_id: i64 },
    /// Create, edit, deactivate or import units and unit groups.
    ManageUnits,
    /// Create users, grant roles, reset passwords, disable accounts.
    ManageUsers,
    /// Browse the audit log.
    ViewAuditLog,
    /// Read index sets (every role: units score against them, appraisers check by them).
    ViewIndexSets,
    /// Create, import, edit, publish, clone and map index sets.
    ManageIndexSets,
    /// Set up evaluation periods, grant extensions, reopen submissions, see the progress board.
    ManagePeriods,
    /// Read a unit's self-assessment sheet.
    ViewSelfAssessment { unit_id: i64 },
    /// Enter facts and notes on a unit's self-assessment sheet.
    EditSelfAssessment { unit_id: i64 },
    /// Approve and submit a unit's self-assessment (the unit head).
    SubmitSelfAssessment { unit_id: i64 },
    /// Open a unit's evidence files: only that unit, its assigned appraisers, the secretariat
    /// and the council (not the read-only viewer, not the system administrator).
    ViewEvidence { unit_id: i64 },
    /// Assign appraisers, move the period through its stages, record the approval decision,
    /// publish, reopen a published unit and correct it.
    ManageAppraisal,
    /// Appraise a unit's leaves (appraisers; the assignment is checked by the handler with
    /// the stored assignments, and an appraiser never appraises their own unit).
    AppraiseUnit { unit_id: i64 },
    /// See a unit's appraisal: the unit itself (remarks and flags), appraisers, the
    /// secretariat and the council.
    ViewAppraisal { unit_id: i64 },
    /// Answer flagged leaves in the explanation round (the unit's officers and head).
    ExplainLeaves { unit_id: i64 },
    /// Submit the unit's explanations (the unit head).
    SubmitExplanations { unit_id: i64 },
    /// Write in a leaf's comment thread.
    CommentOnLeaf { unit_id: i64 },
    /// Every value a leaf took, with who, when and why: the secretariat and the council.
    ViewLeafHistory { unit_id: i64 },
    /// Enter or import external leaves' values for all units (providers, the secretariat).
    EnterExternalValues,
    /// See the provisional results and the appraisers' workload (secretariat, council, viewer).
    ViewProvisionalResults,
    /// See a unit's published scorecard (leaf by leaf): those who see provisional results,
    /// and the unit's own officers and head. The handler checks that the period is published;
    /// before publication only `ViewProvisionalResults` opens a scorecard.
    ViewPublishedScorecard { unit_id: i64 },
    /// Set up the survey (groups, questionnaires, sampling), generate links, key in paper
    /// forms and import spreadsheets: the secretariat and the survey operator.
    ManageSurvey,
    /// See the survey's scores, quality flags and report; exclude responses (the secretariat
    /// only, see `ExcludeSurveyResponse`).
    ReviewSurvey,
    /// Exclude a response from scoring, with a reason.
    ExcludeSurveyResponse,
}

/// The policy's answer. `NotFound` is used for objects outside the actor's scope, so the
/// existence of another unit's data is not revealed (a foreign object answers 404).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Allowed,
    Forbidden,
    NotFound,
}

impl Actor {
    pub fn role(&self) -> Role {
        self.grant.role
    }

    /// Whether `unit_id` is one of the person's own units, through the grant in use or any
    /// other grant they hold (an officer of a unit who is also an appraiser elsewhere).
    pub fn is_own_unit(&self, unit_id: i64) -> bool {
        self.grant.unit_id == Some(unit_id) || self.own_units.contains(&unit_id)
    }

    /// An appraiser acting on one of their own units: a conflict of interest.
    fn appraises_own_unit(&self, unit_id: i64) -> bool {
        self.grant.role == Role::Appraiser && self.is_own_unit(unit_id)
    }

    /// Decides whether this actor may take `action`.
    pub fn may(&self, action: Action) -> Access {
        let role = self.grant.role;
        let allowed = match action {
            Action::ListUnits => true,
            Action::ViewUnit { unit_id } => {
                if role.is_unit_bound() && self.grant.unit_id != Some(unit_id) {
                    return Access::NotFound;
                }
                true
            }
            Action::ManageUnits => matches!(role, Role::SystemAdmin | Role::Secretariat),
            Action::ManageUsers => matches!(role, Role::SystemAdmin),
            Action::ViewAuditLog => matches!(role, Role::SystemAdmin | Role::Secretariat),
            Action::ViewIndexSets => true,
            Action::ManageIndexSets => matches!(role, Role::SystemAdmin | Role::Secretariat),
            Action::ManagePeriods => matches!(role, Role::SystemAdmin | Role::Secretariat),
            Action::ViewSelfAssessment { unit_id } => {
                if role.is_unit_bound() {
                    if self.grant.unit_id != Some(unit_id) {
                        return Access::NotFound;
                    }
                    true
                } else if self.appraises_own_unit(unit_id) {
                    // Their own agency's sheet (by any of their grants) is not theirs to read
                    // as an appraiser.
                    return Access::Forbidden;
                } else {
                    // Appraisers (only on units assigned to them: the handler checks the
                    // stored assignments), the secretariat and the council read a unit's
                    // sheet; the survey operator and external providers have no business there.
                    matches!(
                        role,
                        Role::SystemAdmin
                            | Role::Secretariat
                            | Role::Appraiser
                            | Role::CouncilMember
                            | Role::Viewer
                    )
                }
            }
            Action::ViewEvidence { unit_id } => {
                if role.is_unit_bound() {
                    if self.grant.unit_id != Some(unit_id) {
                        return Access::NotFound;
                    }
                    true
                } else if self.appraises_own_unit(unit_id) {
                    return Access::Forbidden;
                } else {
                    // Issue 4: the unit, the appraisers (assigned ones, checked by the handler),
                    // the secretariat and the council; not the system administrator.
                    matches!(
                        role,
                        Role::Secretariat | Role::Appraiser | Role::CouncilMember
                    )
                }
            }
            Action::ManageAppraisal => matches!(role, Role::SystemAdmin | Role::Secretariat),
            Action::AppraiseUnit { unit_id } => {
                if self.appraises_own_unit(unit_id) {
                    // Their own unit, by any of their grants: a conflict of interest, refused
                    // outright.
                    return Access::Forbidden;
                }
                if role.is_unit_bound() && self.grant.unit_id != Some(unit_id) {
                    return Access::NotFound;
                }
                role == Role::Appraiser
            }
            Action::ViewAppraisal { unit_id } | Action::CommentOnLeaf { unit_id } => {
                if role.is_unit_bound() {
                    if self.grant.unit_id != Some(unit_id) {
                        return Access::NotFound;
                    }
                    true
                } else if self.appraises_own_unit(unit_id) {
                    // The appraisal page shows the unit's sheet and evidence.
                    return Access::Forbidden;
                } else {
                    let viewers = matches!(
                        role,
                        Role::SystemAdmin | Role::Secretariat | Role::Appraiser
                    );
                    match action {
                        Action::ViewAppraisal { .. } => viewers || role == Role::CouncilMember,
                        _ => viewers,
                    }
                }
            }
            Action::ExplainLeaves { unit_id } | Action::SubmitExplanations { unit_id } => {
                if role.is_unit_bound() && self.grant.unit_id != Some(unit_id) {
                    return Access::NotFound;
                }
                match action {
                    Action::ExplainLeaves { .. } => role.is_unit_bound(),
                    _ => role == Role::UnitHead,
                }
            }
            Action::ViewLeafHistory { unit_id } => {
                if role.is_unit_bound() && self.grant.unit_id != Some(unit_id) {
                    return Access::NotFound;
                }
                matches!(
                    role,
                    Role::SystemAdmin | Role::Secretariat | Role::CouncilMember
                )
            }
            Action::EnterExternalValues => matches!(
                role,
                Role::SystemAdmin | Role::Secretariat | Role::ExternalProvider
            ),
            Action::ViewProvisionalResults => matches!(
                role,
                Role::SystemAdmin | Role::Secretariat | Role::CouncilMember | Role::Viewer
            ),
            Action::ViewPublishedScorecard { unit_id } => {
                if role.is_unit_bound() {
                    if self.grant.unit_id != Some(unit_id) {
                        return Access::NotFound;
                    }
                    true
                } else {
                    matches!(
                        role,
                        Role::SystemAdmin | Role::Secretariat | Role::CouncilMember | Role::Viewer
                    )
                }
            }
            Action::ManageSurvey => matches!(
                role,
                Role::SystemAdmin | Role::Secretariat | Role::SurveyOperator
            ),
            Action::ReviewSurvey => matches!(
                role,
                Role::SystemAdmin
                    | Role::Secretariat
                    | Role::SurveyOperator
                    | Role::CouncilMember
                    | Role::Viewer
            ),
            Action::ExcludeSurveyResponse => {
                matches!(role, Role::SystemAdmin | Role::Secretariat)
            }
            Action::EditSelfAssessment { unit_id } | Action::SubmitSelfAssessment { unit_id } => {
                if role.is_unit_bound() && self.grant.unit_id != Some(unit_id) {
                    return Access::NotFound;
                }
                match action {
                    Action::EditSelfAssessment { .. } => role.is_unit_bound(),
                    _ => role == Role::UnitHead,
                }
            }
        };
        if allowed {
            Access::Allowed
        } else {
            Access::Forbidden
        }
    }

    /// The only unit a unit-bound actor can see, or None when the actor sees every unit.
    pub fn unit_restriction(&self) -> Option<i64> {
        if self.grant.role.is_unit_bound() {
            // A unit-bound grant always has a unit (RoleGrant::validate); -1 matches nothing
            // should bad data ever slip through, failing closed.
            Some(self.grant.unit_id.unwrap_or(-1))
        } else {
            None
        }
    }
}

/// Whether the provider named on an external leaf (free text in the index set, such as
/// "Sở Tài chính" or "Văn phòng UBND tỉnh (Hệ thống thông tin giải quyết TTHC)") is the agency
/// a provider's grant names: its code, its name, or its name followed by a parenthesis (the
/// agency's system). Case and spacing do not matter; diacritics do, since agencies'
/// names differ by them.
pub fn provider_is_agency(provider: &str, agency_code: &str, agency_name: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let provider = norm(provider);
    let name = norm(agency_name);
    if provider.is_empty() {
        return false;
    }
    provider == norm(agency_code)
        || (!name.is_empty()
            && (provider == name
                || provider
                    .strip_prefix(&name)
                    .is_some_and(|rest| rest.trim_start().starts_with('('))))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_provider_is_its_agency_by_code_or_name() {
        use super::provider_is_agency;
        assert!(provider_is_agency("Sở Tài chính", "STC", "Sở Tài chính"));
        assert!(provider_is_agency(
            "  sở  tài chính ",
            "STC",
            "Sở Tài chính"
        ));
        assert!(provider_is_agency("STC", "STC", "Sở Tài chính"));
        assert!(provider_is_agency(
            "Văn phòng UBND tỉnh (Hệ thống thông tin giải quyết TTHC)",
            "VP",
            "Văn phòng UBND tỉnh"
        ));
        assert!(!provider_is_agency("Sở Tài chính", "STP", "Sở Tư pháp"));
        assert!(!provider_is_agency(
            "Sở Tư pháp và Tài chính",
            "STP",
            "Sở Tư pháp"
        ));
        assert!(!provider_is_agency("", "STP", "Sở Tư pháp"));
    }

    use super::*;

    fn actor(role: Role, unit_id: Option<i64>) -> Actor {
        Actor {
            user_id: 1,
            grant: RoleGrant { role, unit_id },
            own_units: unit_id.into_iter().collect(),
        }
    }

    #[test]
    fn an_appraiser_never_acts_on_a_unit_any_of_their_grants_is_bound_to() {
        // An officer of unit 7 who is also an appraiser from unit 3.
        let appraiser = Actor {
            user_id: 1,
            grant: RoleGrant {
                role: Role::Appraiser,
                unit_id: Some(3),
            },
            own_units: vec![3, 7],
        };
        for unit_id in [3, 7] {
            for action in [
                Action::AppraiseUnit { unit_id },
                Action::ViewEvidence { unit_id },
                Action::ViewSelfAssessment { unit_id },
                Action::ViewAppraisal { unit_id },
            ] {
                assert_eq!(appraiser.may(action), Access::Forbidden, "{action:?}");
            }
        }
        assert_eq!(
            appraiser.may(Action::AppraiseUnit { unit_id: 8 }),
            Access::Allowed
        );
        assert_eq!(
            appraiser.may(Action::ViewEvidence { unit_id: 8 }),
            Access::Allowed
        );
        // The same person as the unit's officer still works on their own unit.
        let officer = Actor {
            grant: RoleGrant {
                role: Role::UnitOfficer,
                unit_id: Some(7),
            },
            ..appraiser
        };
        assert_eq!(
            officer.may(Action::ViewEvidence { unit_id: 7 }),
            Access::Allowed
        );
    }

    #[test]
    fn unit_officer_sees_only_own_unit() {
        let a = actor(Role::UnitOfficer, Some(7));
        assert_eq!(a.may(Action::ViewUnit { unit_id: 7 }), Access::Allowed);
        assert_eq!(a.may(Action::ViewUnit { unit_id: 8 }), Access::NotFound);
        assert_eq!(a.may(Action::ManageUnits), Access::Forbidden);
        assert_eq!(a.unit_restriction(), Some(7));
    }

    #[test]
    fn evidence_is_for_the_unit_its_appraisers_the_secretariat_and_the_council() {
        let appraiser = actor(Role::Appraiser, Some(3));
        for action in [
            Action::ViewEvidence { unit_id: 3 },
            Action::ViewSelfAssessment { unit_id: 3 },
        ] {
            // Never their own agency through the appraiser's grant.
            assert_eq!(appraiser.may(action), Access::Forbidden);
        }
        assert_eq!(
            appraiser.may(Action::ViewEvidence { unit_id: 4 }),
            Access::Allowed
        );
        assert_eq!(
            actor(Role::SystemAdmin, None).may(Action::ViewEvidence { unit_id: 4 }),
            Access::Forbidden
        );
        assert_eq!(
            actor(Role::Viewer, None).may(Action::ViewEvidence { unit_id: 4 }),
            Access::Forbidden
        );
        for role in [Role::Secretariat, Role::CouncilMember] {
            assert_eq!(
                actor(role, None).may(Action::ViewEvidence { unit_id: 4 }),
                Access::Allowed
            );
        }
    }

    #[test]
    fn appraisal_permissions_follow_the_roles() {
        let appraiser = actor(Role::Appraiser, Some(3));
        assert_eq!(
            appraiser.may(Action::AppraiseUnit { unit_id: 4 }),
            Access::Allowed
        );
        assert_eq!(
            appraiser.may(Action::AppraiseUnit { unit_id: 3 }),
            Access::Forbidden
        );
        assert_eq!(
            appraiser.may(Action::ViewLeafHistory { unit_id: 4 }),
            Access::Forbidden
        );
        let officer = actor(Role::UnitOfficer, Some(7));
        assert_eq!(
            officer.may(Action::AppraiseUnit { unit_id: 7 }),
            Access::Forbidden
        );
        assert_eq!(
            officer.may(Action::AppraiseUnit { unit_id: 8 }),
            Access::NotFound
        );
        assert_eq!(
            officer.may(Action::ExplainLeaves { unit_id: 7 }),
            Access::Allowed
        );
        assert_eq!(
            officer.may(Action::ExplainLeaves { unit_id: 8 }),
            Access::NotFound
        );
        assert_eq!(
            officer.may(Action::SubmitExplanations { unit_id: 7 }),
            Access::Forbidden
        );
        assert_eq!(
            actor(Role::UnitHead, Some(7)).may(Action::SubmitExplanations { unit_id: 7 }),
            Access::Allowed
        );
        assert_eq!(
            officer.may(Action::ViewAppraisal { unit_id: 8 }),
            Access::NotFound
        );
        // A unit sees its own published scorecard, never another's, nor provisional results.
        assert_eq!(
            actor(Role::UnitHead, Some(7)).may(Action::ViewPublishedScorecard { unit_id: 7 }),
            Access::Allowed
        );
        assert_eq!(
            officer.may(Action::ViewPublishedScorecard { unit_id: 8 }),
            Access::NotFound
        );
        assert_eq!(
            officer.may(Action::ViewProvisionalResults),
            Access::Forbidden
        );
        assert_eq!(
            actor(Role::Appraiser, None).may(Action::ViewPublishedScorecard { unit_id: 7 }),
            Access::Forbidden
        );
        let council = actor(Role::CouncilMember, None);
        assert_eq!(
            council.may(Action::ViewLeafHistory { unit_id: 8 }),
            Access::Allowed
        );
        assert_eq!(council.may(Action::ManageAppraisal), Access::Forbidden);
        assert_eq!(
            council.may(Action::CommentOnLeaf { unit_id: 8 }),
            Access::Forbidden
        );
        let provider = actor(Role::ExternalProvider, Some(2));
        assert_eq!(provider.may(Action::EnterExternalValues), Access::Allowed);
        assert_eq!(
            provider.may(Action::ViewAppraisal { unit_id: 2 }),
            Access::Forbidden
        );
    }

    #[test]
    fn only_admin_manages_users() {
        for role in Role::ALL {
            let expected = if role == Role::SystemAdmin {
                Access::Allowed
            } else {
                Access::Forbidden
            };
            assert_eq!(
                actor(role, Some(1)).may(Action::ManageUsers),
                expected,
                "{role:?}"
            );
        }
    }
}
