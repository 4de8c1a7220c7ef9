//! Authorization before parsing: the role-level permission a state-changing route needs,
//! checked by the session layer before the handler reads the form. A unit officer posting a
//! malformed form to `/index-sets/3/publish` is told 403 (they may not publish anything),
//! not that the form lacks a field, which would tell them how to reach the handler.
//!
//! Only province-wide permissions are listed here (those that depend on the role alone);
//! each handler still asks the policy for the object itself, with its unit, as before. A
//! route missing from the table is simply checked in its handler, as it always was.

use axum::http::Method;
use parindex_domain::{Access, Action, Actor};

use crate::auth::SessionInfo;
use crate::error::WebError;

/// The actions a state-changing request to `path` requires, in the order the handler asks
/// them, if the route has any: for a unit's own routes, first that the unit is visible at all
/// (404 otherwise, so that its existence is not revealed), then the role-level permission.
pub fn required_actions(path: &str) -> Vec<Action> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let role_level = match segments.as_slice() {
        ["index-sets", ..] => Action::ManageIndexSets,
        ["users", ..] => Action::ManageUsers,
        ["units", ..] | ["unit-groups", ..] => Action::ManageUnits,
        ["periods"] => Action::ManagePeriods,
        ["periods", _, "units", _, "extension" | "reopen"] => Action::ManagePeriods,
        ["periods", _, "assignments", ..]
        | [
            "periods",
            _,
            "stage" | "explanation-deadline" | "publish" | "decision",
        ]
        | [
            "periods",
            _,
            "units",
            _,
            "explanation-extension" | "republish",
        ]
        | ["periods", _, "units", _, "corrections", ..] => Action::ManageAppraisal,
        [
            "periods",
            _,
            "survey",
            "settings" | "groups" | "questionnaires",
        ] => Action::ManageSurvey,
        ["questionnaires", _]
        | ["questionnaires", _, "questions", ..]
        | [
            "questionnaires",
            _,
            "status" | "new-version" | "links" | "paper",
        ] => Action::ManageSurvey,
        _ => return Vec::new(),
    };
    let mut actions = Vec::with_capacity(2);
    if let ["units", id, ..] = segments.as_slice()
        && let Ok(unit_id) = id.parse::<i64>()
    {
        actions.push(Action::ViewUnit { unit_id });
    }
    actions.push(role_level);
    actions
}

/// Refuses a state-changing request whose role may never do what the route does.
pub fn check(method: &Method, path: &str, session: &SessionInfo) -> Result<(), WebError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let actions = required_actions(path);
    if actions.is_empty() {
        return Ok(());
    }
    let Some(grant) = &session.active else {
        return Err(WebError::Forbidden);
    };
    let actor = Actor {
        user_id: session.user.id,
        grant: grant.grant(),
        own_units: session.own_units(),
    };
    for action in actions {
        match actor.may(action) {
            Access::Allowed => {}
            Access::Forbidden => return Err(WebError::Forbidden),
            Access::NotFound => return Err(WebError::NotFound),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_map_to_their_role_level_action() {
        assert_eq!(
            required_actions("/index-sets/3/publish"),
            [Action::ManageIndexSets]
        );
        assert_eq!(
            required_actions("/periods/1/stage"),
            [Action::ManageAppraisal]
        );
        assert_eq!(required_actions("/periods"), [Action::ManagePeriods]);
        assert_eq!(
            required_actions("/units/7/deactivate"),
            [Action::ViewUnit { unit_id: 7 }, Action::ManageUnits]
        );
        // Unit-level routes are left to their handlers.
        assert!(required_actions("/periods/1/units/2/leaves/1.1").is_empty());
        assert!(required_actions("/login").is_empty());
    }
}
