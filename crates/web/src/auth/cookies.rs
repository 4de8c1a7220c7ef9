//! Reading and writing the few cookies parindex uses, through the `cookie` crate.

use axum::http::HeaderMap;
use cookie::{Cookie, SameSite};

pub const SESSION: &str = "parindex_session";
/// Before login there is no session to hold the CSRF token; this cookie does (double submit).
pub const PRE_SESSION_CSRF: &str = "parindex_csrf";
pub const LANG: &str = "parindex_lang";

/// The value of cookie `name`, if the request carries it.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

/// A `Set-Cookie` value: HttpOnly and SameSite=Lax always, Secure over HTTPS.
pub fn set(name: &str, value: &str, secure: bool, max_age_secs: Option<i64>) -> String {
    let mut cookie = Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure);
    if let Some(age) = max_age_secs {
        cookie = cookie.max_age(time::Duration::seconds(age));
    }
    cookie.build().to_string()
}

/// A `Set-Cookie` value that deletes the cookie.
pub fn clear(name: &str, secure: bool) -> String {
    set(name, "", secure, Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_cookie_among_several_headers() {
        let mut headers = HeaderMap::new();
        headers.append("cookie", "a=1; parindex_lang=en".parse().unwrap());
        headers.append("cookie", "parindex_session=abc".parse().unwrap());
        assert_eq!(get(&headers, LANG).as_deref(), Some("en"));
        assert_eq!(get(&headers, SESSION).as_deref(), Some("abc"));
        assert_eq!(get(&headers, PRE_SESSION_CSRF), None);
    }

    #[test]
    fn set_cookie_attributes() {
        let value = set(SESSION, "t", true, None);
        for part in [
            "parindex_session=t",
            "Path=/",
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
        ] {
            assert!(value.contains(part), "{value}");
        }
        assert!(!set(LANG, "vi", false, Some(60)).contains("Secure"));
        assert!(clear(SESSION, false).contains("Max-Age=0"));
    }
}
