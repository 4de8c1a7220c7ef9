//! The route × role access matrix, generated from the router's own list
//! (`parindex_web::routes::all()`): every route, for every seeded role and for an anonymous
//! visitor, with its path parameters filled from a fixture (the role's own unit and a foreign
//! one). A new route is covered as soon as it exists: the test fails on a route it has no
//! path-parameter filler or no access rule for, until both are added here.
//!
//! Asserted for every request: never a 5xx. An anonymous visitor is sent to the login page
//! except on the open and public routes. A role the route is not for (the domain policy,
//! `Actor::may`, refuses the route's action) is refused with 403 or 404, never a success; a POST
//! may instead be refused as 400/422 when its form is rejected before the handler runs (the
//! empty form sent here fails the typed form). The hand-written expectations of the former
//! 25-route table are kept as exact spot checks on top.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use parindex_domain::authz::{Access, Action, Actor};
use parindex_domain::{Role, RoleGrant};
use parindex_store::AuditActor;
use parindex_store::appraisal::NewNotification;
use parindex_web::routes::table::{RouteInfo, Stack};

use crate::http_survey_collect::{known_link, open_questionnaire};
use crate::support::{ACCOUNTS, TestApp, TestClient, TestResponse};
use crate::web_test;

const OK: StatusCode = StatusCode::OK;
const NO: StatusCode = StatusCode::FORBIDDEN;
const NF: StatusCode = StatusCode::NOT_FOUND;

/// Exact expected status of some GET routes, per account (in ACCOUNTS order:
/// admin, thuky, canbo.stp, truong.stp, thamdinh, hoidong, cungcap, khaosat, lanhdao).
fn spot_checks(app: &TestApp) -> Vec<(String, [StatusCode; 9])> {
    let stp = app.seed.unit_stp;
    let snv = app.seed.unit_snv;
    let admin = app.seed.users["admin"];
    vec![
        ("/".into(), [OK; 9]),
        ("/account".into(), [OK; 9]),
        ("/units".into(), [OK; 9]),
        ("/unit-groups".into(), [OK; 9]),
        (format!("/units/{stp}"), [OK; 9]),
        (
            format!("/units/{snv}"),
            [OK, OK, NF, NF, OK, OK, OK, OK, OK],
        ),
        ("/units/new".into(), [OK, OK, NO, NO, NO, NO, NO, NO, NO]),
        ("/units/import".into(), [OK, OK, NO, NO, NO, NO, NO, NO, NO]),
        (
            format!("/units/{stp}/edit"),
            [OK, OK, NO, NO, NO, NO, NO, NO, NO],
        ),
        (
            format!("/units/{snv}/edit"),
            [OK, OK, NF, NF, NO, NO, NO, NO, NO],
        ),
        ("/users".into(), [OK, NO, NO, NO, NO, NO, NO, NO, NO]),
        ("/users/new".into(), [OK, NO, NO, NO, NO, NO, NO, NO, NO]),
        (
            format!("/users/{admin}"),
            [OK, NO, NO, NO, NO, NO, NO, NO, NO],
        ),
        ("/audit".into(), [OK, OK, NO, NO, NO, NO, NO, NO, NO]),
        ("/units/999999".into(), [NF, NF, NF, NF, NF, NF, NF, NF, NF]),
        ("/index-sets".into(), [OK; 9]),
        ("/index-sets/format".into(), [OK; 9]),
        ("/index-sets/999999".into(), [NF; 9]),
        ("/appraisal".into(), [NO, NO, NO, NO, OK, NO, NO, NO, NO]),
        ("/notifications".into(), [OK; 9]),
        ("/external".into(), [OK, OK, NO, NO, NO, NO, OK, NO, NO]),
        // Results: the secretariat, the council and leadership (and the administrator).
        ("/results".into(), [OK, OK, NO, NO, NO, OK, NO, NO, OK]),
        (
            "/periods/999999/ranking".into(),
            [NF, NF, NO, NO, NO, NF, NO, NO, NF],
        ),
        (
            "/periods/999999/matrix".into(),
            [NF, NF, NO, NO, NO, NF, NO, NO, NF],
        ),
        (
            "/periods/999999/ranking.xlsx".into(),
            [NF, NF, NO, NO, NO, NF, NO, NO, NF],
        ),
    ]
}

/// Who a route is for.
enum Rule {
    /// Anyone, without logging in (the login page, the public results, survey links).
    Public,
    /// Any logged-in user; what they see depends on who they are.
    SignedIn,
    /// Only these roles.
    Roles(&'static [Role]),
    /// Only these accounts (another's notification is not found).
    Accounts(&'static [&'static str]),
    /// The policy must allow every one of these actions.
    All(Vec<Action>),
    /// The policy must allow at least one of these actions.
    Any(Vec<Action>),
}

/// The rule of a route; `unit` is the unit its path names (or the own unit when none).
fn rule(method: &Method, path: &str, unit: i64) -> Option<Rule> {
    use Action::*;
    let post = method == Method::POST;
    let one = |a: Action| Some(Rule::All(vec![a]));
    match path {
        "/login" | "/locale/{code}" | "/s/{token}" => Some(Rule::Public),
        p if p.starts_with("/public") => Some(Rule::Public),
        // Outside the session layer: probes, static files, the open data API.
        "/healthz" | "/readyz" | "/static/{file}" | "/survey.css" => Some(Rule::Public),
        p if p.starts_with("/api/v1/") => Some(Rule::Public),
        "/"
        | "/account"
        | "/account/password"
        | "/account/role"
        | "/account/logout-all"
        | "/logout"
        | "/notifications"
        | "/notifications/read-all"
        | "/self-assessment" => Some(Rule::SignedIn),
        "/notifications/{id}/read" => Some(Rule::Accounts(&["canbo.stp"])),
        "/appraisal" => Some(Rule::Roles(&[Role::Appraiser])),
        "/audit" => one(ViewAuditLog),
        "/units" | "/unit-groups" if !post => one(ListUnits),
        "/units/{id}" if !post => one(ViewUnit { unit_id: unit }),
        "/units/{id}" | "/units/{id}/edit" => {
            Some(Rule::All(vec![ManageUnits, ViewUnit { unit_id: unit }]))
        }
        p if p.starts_with("/units") || p == "/unit-groups" => one(ManageUnits),
        p if p.starts_with("/users") => one(ManageUsers),
        "/index-sets"
        | "/index-sets/format"
        | "/index-sets/diff"
        | "/index-sets/{id}"
        | "/index-sets/{id}/export/{format}"
            if !post =>
        {
            one(ViewIndexSets)
        }
        p if p.starts_with("/index-sets") => one(ManageIndexSets),
        "/evidence/{id}" => one(ViewEvidence { unit_id: unit }),
        "/external" | "/periods/{id}/external" | "/periods/{id}/external/import" => {
            one(EnterExternalValues)
        }
        p if p.starts_with("/periods/{id}/external/") => one(EnterExternalValues),
        "/periods"
        | "/periods/{id}"
        | "/periods/{id}/board.xlsx"
        | "/periods/{id}/units/{unit_id}/extension"
        | "/periods/{id}/units/{unit_id}/reopen" => one(ManagePeriods),
        "/results"
        | "/periods/{id}/ranking"
        | "/periods/{id}/ranking.xlsx"
        | "/periods/{id}/ranking.pdf"
        | "/periods/{id}/matrix"
        | "/periods/{id}/results.csv"
        | "/periods/{id}/results.json"
        | "/periods/{id}/results" => one(ViewProvisionalResults),
        "/periods/{id}/decision.pdf" => {
            Some(Rule::Any(vec![ManageAppraisal, ViewProvisionalResults]))
        }
        "/periods/{id}/units/{unit_id}/scorecard"
        | "/periods/{id}/units/{unit_id}/scorecard.pdf" => Some(Rule::Any(vec![
            ViewPublishedScorecard { unit_id: unit },
            ViewProvisionalResults,
        ])),
        "/periods/{id}/assignments"
        | "/periods/{id}/assignments/{assignment_id}/remove"
        | "/periods/{id}/stage"
        | "/periods/{id}/explanation-deadline"
        | "/periods/{id}/units/{unit_id}/explanation-extension"
        | "/periods/{id}/publish"
        | "/periods/{id}/decision"
        | "/periods/{id}/units/{unit_id}/republish" => one(ManageAppraisal),
        p if p.starts_with("/periods/{id}/units/{unit_id}/corrections") => one(ManageAppraisal),
        "/periods/{id}/units/{unit_id}/sheet" | "/periods/{id}/units/{unit_id}/report/{format}" => {
            one(ViewSelfAssessment { unit_id: unit })
        }
        "/periods/{id}/units/{unit_id}/leaves/{code}"
        | "/periods/{id}/units/{unit_id}/leaves/{code}/cite"
        | "/periods/{id}/units/{unit_id}/leaves/{code}/evidence"
        | "/periods/{id}/units/{unit_id}/citations/{citation_id}/delete" => {
            one(EditSelfAssessment { unit_id: unit })
        }
        "/periods/{id}/units/{unit_id}/submit" => one(SubmitSelfAssessment { unit_id: unit }),
        "/periods/{id}/units/{unit_id}/appraisal" => one(ViewAppraisal { unit_id: unit }),
        "/periods/{id}/units/{unit_id}/appraisal/{code}" => one(AppraiseUnit { unit_id: unit }),
        "/periods/{id}/units/{unit_id}/adjustments"
        | "/periods/{id}/units/{unit_id}/adjustments/{adj_id}/remove" => Some(Rule::All(vec![
            ViewAppraisal { unit_id: unit },
            ManageAppraisal,
        ])),
        "/periods/{id}/units/{unit_id}/explanation"
        | "/periods/{id}/units/{unit_id}/explanation/{code}"
        | "/periods/{id}/units/{unit_id}/explanation/{code}/evidence" => {
            one(ExplainLeaves { unit_id: unit })
        }
        "/periods/{id}/units/{unit_id}/explanation/submit" => {
            one(SubmitExplanations { unit_id: unit })
        }
        "/periods/{id}/units/{unit_id}/leaves/{code}/comments" => {
            one(CommentOnLeaf { unit_id: unit })
        }
        "/periods/{id}/units/{unit_id}/history" => one(ViewLeafHistory { unit_id: unit }),
        "/survey"
        | "/periods/{id}/survey"
        | "/questionnaires/{qid}"
        | "/questionnaires/{qid}/print"
            if !post =>
        {
            Some(Rule::Any(vec![ReviewSurvey, ManageSurvey]))
        }
        "/periods/{id}/survey/scores"
        | "/periods/{id}/survey/report"
        | "/periods/{id}/survey/report.xlsx"
        | "/periods/{id}/survey/quality" => one(ReviewSurvey),
        "/survey-responses/{rid}/exclude" | "/survey-responses/{rid}/include" => {
            one(ExcludeSurveyResponse)
        }
        p if p.starts_with("/periods/{id}/survey/")
            || p.starts_with("/questionnaires/{qid}")
            || p == "/import-jobs/{id}" =>
        {
            one(ManageSurvey)
        }
        _ => None,
    }
}

/// The objects the path parameters point at, in one role's app.
struct Fixture {
    period: i64,
    set: i64,
    qid: i64,
    assignment: i64,
    notification: i64,
    /// A user the administrator may disable, and one of their grants.
    target_user: i64,
    target_grant: i64,
}

const LINK_TOKEN: &str = "matrixmatrixmatrixmatrix01";

async fn fixture(app: &TestApp) -> Fixture {
    let (period, qid) = open_questionnaire(app).await;
    known_link(app, qid, LINK_TOKEN, None).await;
    let set = app.store().period_sets(period).await.unwrap()[0].1;
    let officer = app.seed.users["canbo.stp"];
    let target_user = app.seed.users["lanhdao"];
    let mut tx = app
        .store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap();
    tx.add_assignments(
        period,
        &[(app.seed.users["thamdinh"], app.seed.unit_stp, "1.1".into())],
    )
    .await
    .unwrap();
    tx.notify(
        &[officer],
        &NewNotification {
            kind: "test",
            dedupe_key: Some("matrix".into()),
            title: "Thông báo".into(),
            body: "Nội dung".into(),
            link: "/".into(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    Fixture {
        period,
        set,
        qid,
        assignment: app.store().assignments(period).await.unwrap()[0].id,
        notification: app.store().notifications(officer, 10).await.unwrap()[0].id,
        target_user,
        target_grant: app.store().user_grants(target_user).await.unwrap()[0].id,
    }
}

/// The route's path with every parameter filled, or the name of the one there is no filler
/// for. `unit` fills the unit parameters.
fn fill(path: &str, fx: &Fixture, unit: i64) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').ok_or("unclosed {")? + open;
        out.push_str(&rest[..open]);
        let name = &rest[open + 1..close];
        let before = &path[..path.len() - rest.len() + open];
        let value = match (name, before) {
            ("id", b) if b.ends_with("/periods/") => fx.period.to_string(),
            ("id", b) if b.ends_with("/index-sets/") => fx.set.to_string(),
            ("id", "/units/") => unit.to_string(),
            ("id", "/users/") => fx.target_user.to_string(),
            ("id", "/notifications/") => fx.notification.to_string(),
            // No such file or job: the answer must still be a refusal or a 404, never a 5xx.
            ("id", "/evidence/") | ("id", "/import-jobs/") => "999999".into(),
            ("unit_id", _) => unit.to_string(),
            ("qid", _) => fx.qid.to_string(),
            ("assignment_id", _) => fx.assignment.to_string(),
            ("grant_id", _) => fx.target_grant.to_string(),
            ("code", "/locale/") => "en".into(),
            ("code", b) if b.starts_with("/index-sets/") => "1.1".into(),
            ("code", b) if b.starts_with("/questionnaires/") => "Q1".into(),
            ("code", b) if b.contains("/external/") => "2.1.3".into(),
            ("code", _) => "1.1.1".into(),
            ("format", b) if b.starts_with("/index-sets/") => "yaml".into(),
            ("format", _) => "pdf".into(),
            ("file", "/static/") => "app.css".into(),
            ("token", "/s/") => LINK_TOKEN.into(),
            ("token", _) | ("sha256", _) => "0".repeat(64),
            ("stash_id", _) | ("rid", _) | ("citation_id", _) | ("adj_id", _) => "999999".into(),
            _ => return Err(format!("{{{name}}} after {before}")),
        };
        out.push_str(&value);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// What the policy says about `rule` for this account: None when the rule does not decide
/// (signed-in or public routes), else whether the account is refused.
fn refused(rule: &Rule, username: &str, actor: &Actor) -> Option<bool> {
    let allows = |a: &Action| actor.may(*a) == Access::Allowed;
    match rule {
        Rule::Public | Rule::SignedIn => None,
        Rule::Roles(roles) => Some(!roles.contains(&actor.role())),
        Rule::Accounts(names) => Some(!names.contains(&username)),
        Rule::All(actions) => Some(!actions.iter().all(allows)),
        Rule::Any(actions) => Some(!actions.iter().any(allows)),
    }
}

/// Sends one request of the walk: GETs as they are, POSTs with the session's CSRF token and
/// an empty form, uploads as an empty PDF.
async fn send(client: &mut TestClient, route: &RouteInfo, path: &str, csrf: &str) -> TestResponse {
    if route.method == Method::GET {
        client.get(path).await
    } else if route.stack == Stack::Upload {
        client.upload(path, "file", "x.pdf", b"%PDF-1.4\n").await
    } else {
        let body = serde_urlencoded::to_string([("csrf", csrf)]).unwrap();
        client
            .send(
                Request::post(path)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
    }
}

/// Routes that end the session come last, so that the walk goes on logged in.
fn walk_order(routes: &[RouteInfo]) -> Vec<RouteInfo> {
    let mut routes = routes.to_vec();
    routes.sort_by_key(|r| {
        matches!(
            r.path,
            "/logout" | "/account/logout-all" | "/account/password"
        ) && r.method == Method::POST
    });
    routes
}

/// Walks every route for one account (None: anonymous) in an app of its own, so that what one
/// role's POSTs change does not change another's answers. Returns the failures.
async fn walk(app: &TestApp, account: Option<usize>) -> Vec<String> {
    let fx = fixture(app).await;
    let mut failures = Vec::new();
    let (username, mut client, actor) = match account {
        Some(i) => {
            let (username, role, unit) = ACCOUNTS[i];
            let mut client = app.client();
            // Each account from its own address, so that login throttling never mixes them.
            client.ip = format!("127.0.1.{}:50000", i + 1).parse().unwrap();
            let response = client.login(username, crate::support::PASSWORD).await;
            assert_eq!(response.status, StatusCode::SEE_OTHER, "login {username}");
            let unit_id = unit.map(|c| match c {
                "STP" => app.seed.unit_stp,
                "SNV" => app.seed.unit_snv,
                other => panic!("no seeded unit {other}"),
            });
            let actor = Actor {
                user_id: app.seed.users[username],
                grant: RoleGrant { role, unit_id },
                own_units: unit_id.into_iter().collect(),
            };
            // The former table's exact answers, before the walk changes anything.
            for (path, expected) in spot_checks(app) {
                let got = client.get(&path).await.status;
                if got != expected[i] {
                    failures.push(format!(
                        "{username} GET {path}: expected {}, got {got}",
                        expected[i]
                    ));
                }
            }
            (username, client, Some(actor))
        }
        None => {
            let mut client = app.client();
            for (path, _) in spot_checks(app) {
                let r = client.get(&path).await;
                if r.status != StatusCode::SEE_OTHER || !r.location().starts_with("/login") {
                    failures.push(format!(
                        "anonymous GET {path}: {} → {}",
                        r.status,
                        r.location()
                    ));
                }
            }
            ("anonymous", client, None)
        }
    };
    let mut csrf = client.csrf().await;
    let routes = parindex_web::routes::all();
    for route in walk_order(routes.list()) {
        let units: &[i64] = if route.path.contains("{unit_id}")
            || route.path.starts_with("/units/{id}")
            || route.path == "/evidence/{id}"
        {
            &[app.seed.unit_stp, app.seed.unit_snv]
        } else {
            &[app.seed.unit_stp]
        };
        for &unit in units {
            let what = format!("{username} {} {} (unit {unit})", route.method, route.path);
            let path = match fill(route.path, &fx, unit) {
                Ok(path) => path,
                Err(missing) => {
                    failures.push(format!("{what}: no path-parameter filler for {missing}"));
                    continue;
                }
            };
            let Some(rule) = rule(&route.method, route.path, unit) else {
                failures.push(format!("{what}: no access rule; add the route to `rule`"));
                continue;
            };
            let r = send(&mut client, &route, &path, &csrf).await;
            let got = r.status;
            if got.is_server_error() {
                failures.push(format!("{what}: {got}: {}", r.body));
                continue;
            }
            let open = route.stack == Stack::Open || matches!(rule, Rule::Public);
            match &actor {
                None if open => {
                    if got == StatusCode::SEE_OTHER && r.location().starts_with("/login") {
                        failures.push(format!("{what}: open, but sent to the login page"));
                    }
                }
                None => {
                    if got != StatusCode::SEE_OTHER || !r.location().starts_with("/login") {
                        failures.push(format!("{what}: {got} → {:?}, not to /login", r.location()));
                    }
                }
                Some(actor) => {
                    let refusal = [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND];
                    let form_refusal = [StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY];
                    if refused(&rule, username, actor) == Some(true)
                        && !refusal.contains(&got)
                        && !(route.method == Method::POST && form_refusal.contains(&got))
                    {
                        failures.push(format!(
                            "{what}: not for this role, but {got} → {:?}",
                            r.location()
                        ));
                    }
                }
            }
            // A route that ended the session: log in again for the rest.
            if actor.is_some() && got == StatusCode::SEE_OTHER && r.location().starts_with("/login")
            {
                let i = account.unwrap();
                client.ip = format!("127.0.2.{}:50000", i + 1).parse().unwrap();
                client.cookies.clear();
                let again = client.login(username, crate::support::PASSWORD).await;
                assert_eq!(
                    again.status,
                    StatusCode::SEE_OTHER,
                    "login {username} again"
                );
                csrf = client.csrf().await;
            }
        }
    }
    failures
}

web_test!(
    every_route_answers_every_role_as_the_policy_says,
    |app: TestApp| async move {
        let backend = app.store().backend();
        let mut failures: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut accounts: Vec<Option<usize>> = (0..ACCOUNTS.len()).map(Some).collect();
        accounts.push(None);
        for account in accounts {
            let own = TestApp::new(backend).await;
            let found = walk(&own, account).await;
            own.cleanup().await;
            let name = account.map_or("anonymous", |i| ACCOUNTS[i].0);
            if !found.is_empty() {
                failures.insert(name.to_owned(), found);
            }
        }
        let report: Vec<String> = failures.into_values().flatten().collect();
        assert!(
            report.is_empty(),
            "{} failures:\n{}",
            report.len(),
            report.join("\n")
        );
        app
    }
);
