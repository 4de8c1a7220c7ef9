//! What every page template gets: language, CSRF token, the header (province, user, role in
//! use, unit) and the navigation that follows the role; plus display helpers.

use parindex_domain::Action;

use crate::AppState;
use crate::auth::{CurrentUser, RequestCtx};
use crate::i18n::Lang;

/// One entry of the navigation bar.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
    /// A count shown next to the label (unread notifications); 0 shows nothing.
    pub badge: i64,
}

/// A role the user can switch to, for the header's switcher.
#[derive(Debug, Clone)]
pub struct GrantOption {
    pub id: i64,
    pub label: String,
    pub active: bool,
}

/// The logged-in user as the header shows them.
#[derive(Debug, Clone)]
pub struct PageUser {
    pub username: String,
    pub full_name: String,
    pub role_label: String,
    pub unit_label: Option<String>,
    pub grants: Vec<GrantOption>,
}

/// The frame of every page.
#[derive(Debug, Clone)]
pub struct Page {
    pub lang: Lang,
    pub csrf: String,
    pub title: String,
    pub province: String,
    pub demo: bool,
    pub user: Option<PageUser>,
    pub nav: Vec<NavItem>,
    /// A one-line confirmation after a redirect ("Đã lưu").
    pub notice: Option<&'static str>,
    pub path_and_query: String,
}

impl Page {
    /// A page for an anonymous visitor (login, errors before login).
    pub fn anonymous(state: &AppState, ctx: &RequestCtx, title_key: &str) -> Page {
        let mut page = Page {
            lang: ctx.lang,
            csrf: ctx.csrf.clone(),
            title: ctx.lang.t(title_key).to_owned(),
            province: state.config.province_name.clone(),
            demo: state.config.demo,
            user: None,
            nav: Vec::new(),
            notice: None,
            path_and_query: ctx.path_and_query.clone(),
        };
        if let Some(session) = &ctx.session {
            page.user = Some(page_user(ctx.lang, session));
        }
        page
    }

    /// A page for a logged-in user, with the navigation their role allows.
    pub fn for_user(state: &AppState, user: &CurrentUser, title_key: &str) -> Page {
        let mut page = Page::anonymous(state, &user.ctx, title_key);
        let lang = user.ctx.lang;
        let path = user
            .ctx
            .path_and_query
            .split('?')
            .next()
            .unwrap_or("/")
            .to_owned();
        let unit_bound = user
            .session
            .active
            .as_ref()
            .is_some_and(|g| g.role.is_unit_bound());
        let is_appraiser = user
            .session
            .active
            .as_ref()
            .is_some_and(|g| g.role == parindex_domain::Role::Appraiser);
        let candidates: [(&'static str, &'static str, bool); 13] = [
            ("/", "nav.home", true),
            ("/self-assessment", "nav.self_assessment", unit_bound),
            ("/appraisal", "nav.appraisal", is_appraiser),
            ("/periods", "nav.periods", user.can(Action::ManagePeriods)),
            (
                "/external",
                "nav.external",
                user.can(Action::EnterExternalValues),
            ),
            (
                "/survey",
                "nav.survey",
                user.can(Action::ManageSurvey) || user.can(Action::ReviewSurvey),
            ),
            (
                "/results",
                "nav.results",
                user.can(Action::ViewProvisionalResults),
            ),
            ("/notifications", "nav.notifications", true),
            ("/units", "nav.units", user.can(Action::ListUnits)),
            (
                "/index-sets",
                "nav.index_sets",
                user.can(Action::ViewIndexSets),
            ),
            ("/users", "nav.users", user.can(Action::ManageUsers)),
            ("/audit", "nav.audit", user.can(Action::ViewAuditLog)),
            ("/account", "nav.account", true),
        ];
        page.nav = candidates
            .into_iter()
            .filter(|(_, _, shown)| *shown)
            .map(|(href, key, _)| NavItem {
                href,
                label: lang.t(key),
                current: if href == "/" {
                    path == "/"
                } else {
                    path.starts_with(href)
                },
                badge: if href == "/notifications" {
                    user.session.unread_notifications
                } else {
                    0
                },
            })
            .collect();
        page
    }

    /// Sets the confirmation line from a known `ok=` key (unknown keys show nothing).
    pub fn with_notice(mut self, ok: Option<&str>) -> Page {
        self.notice = ok.and_then(notice_key).map(|k| self.lang.t(k));
        self
    }

    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    /// The path to come back to after switching language.
    pub fn here(&self) -> String {
        url_encode(&self.path_and_query)
    }
}

fn page_user(lang: Lang, session: &crate::auth::SessionInfo) -> PageUser {
    let grant_label = |g: &parindex_store::users::StoredGrant| match &g.unit_name_vi {
        Some(unit) => format!("{} — {}", lang.role(g.role), unit),
        None => lang.role(g.role).to_owned(),
    };
    PageUser {
        username: session.user.username.clone(),
        full_name: session.user.full_name.clone(),
        role_label: session
            .active
            .as_ref()
            .map(|g| lang.role(g.role).to_owned())
            .unwrap_or_else(|| lang.t("header.no_role").to_owned()),
        unit_label: session.active.as_ref().and_then(|g| g.unit_name_vi.clone()),
        grants: session
            .grants
            .iter()
            .map(|g| GrantOption {
                id: g.id,
                label: grant_label(g),
                active: session.active.as_ref().is_some_and(|a| a.id == g.id),
            })
            .collect(),
    }
}

/// Maps the `ok=` parameter of a redirect to its message key.
fn notice_key(ok: &str) -> Option<&'static str> {
    Some(match ok {
        "saved" => "notice.saved",
        "created" => "notice.created",
        "deactivated" => "notice.deactivated",
        "reactivated" => "notice.reactivated",
        "imported" => "notice.imported",
        "password_changed" => "notice.password_changed",
        "role_switched" => "notice.role_switched",
        "role_granted" => "notice.role_granted",
        "role_revoked" => "notice.role_revoked",
        "disabled" => "notice.disabled",
        "enabled" => "notice.enabled",
        "group_created" => "notice.group_created",
        "published" => "notice.published",
        "set_imported" => "notice.set_imported",
        "submitted" => "notice.submitted",
        "evidence_added" => "notice.evidence_added",
        "evidence_removed" => "notice.evidence_removed",
        "reopened" => "notice.reopened",
        "deleted" => "notice.deleted",
        _ => return None,
    })
}

/// Everything but the unreserved characters of RFC 3986 and `/` is escaped in query values.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// Percent-encodes a value for a query string.
pub fn url_encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// A redirect target from user input, kept only if it is a path on this site (no open
/// redirect). Browsers drop tabs and line breaks from a URL and read `\\` as `/`, so
/// `/\t/evil.example` or `/\\evil.example` would leave the site as `//evil.example`: any
/// control character, any white space and any backslash refuses the target, as does a second
/// leading slash or a dot segment. A refused target becomes `/`.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_local_path(n) => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn is_local_path(n: &str) -> bool {
    n.starts_with('/')
        && !n.starts_with("//")
        && n.len() <= 2048
        && !n
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\' || is_invisible(c))
        && !n.contains("://")
        && !has_dot_segment(n)
}

/// A `.` or `..` segment (also written `%2e`) in the path: a browser removes it, so
/// `/..//evil.example` is read as `//evil.example`, a second leading slash after all.
fn has_dot_segment(n: &str) -> bool {
    let path = n.split(['?', '#']).next().unwrap_or("");
    path.split('/').any(|segment| {
        let segment = segment.to_ascii_lowercase().replace("%2e", ".");
        segment == "." || segment == ".."
    })
}

/// Format characters a browser may ignore in a URL (zero-width, direction marks).
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

pub use parindex_domain::text::{date_vi, datetime_vi, day_start_ms};

/// Today's date in Vietnam.
pub fn today_vi() -> time::Date {
    time::OffsetDateTime::now_utc()
        .to_offset(parindex_domain::text::VIETNAM)
        .date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_local_only() {
        assert_eq!(safe_next(Some("/units?q=a")), "/units?q=a");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(Some("/\t/evil.example/")), "/");
        assert_eq!(safe_next(Some("/\r\nSet-Cookie: x=1")), "/");
        assert_eq!(safe_next(Some("/ /evil")), "/");
        assert_eq!(safe_next(Some("/periods/1")), "/periods/1");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(url_encode("/units?q=a b&c"), "/units%3Fq%3Da%20b%26c");
        assert_eq!(url_encode("Sở-1_2.3~"), "S%E1%BB%9F-1_2.3~");
        assert_eq!(url_encode("a+b%"), "a%2Bb%25");
    }

    #[test]
    fn vietnamese_time() {
        // 2021-09-06T00:00:00Z is 07:00 in Vietnam.
        assert_eq!(datetime_vi(1_630_886_400_000), "06/09/2021 07:00");
        assert_eq!(date_vi("2021-09-06"), "06/09/2021");
    }
}
