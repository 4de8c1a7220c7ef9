//! The router's tower-http layers on real pages: gzip when the client asks for it.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::support::TestApp;
use crate::web_test;

web_test!(pages_are_gzipped_on_request, |app: TestApp| async move {
    let mut client = app.client();
    let r = client
        .send(
            Request::get("/login")
                .header(header::ACCEPT_ENCODING, "gzip")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-encoding"), "gzip");
    assert!(r.header("content-type").starts_with("text/html"));
    // The security headers are still there on a compressed answer.
    assert!(!r.header("content-security-policy").is_empty());
    // Without the request header, the page is sent as it is.
    let r = client.get("/login").await;
    assert_eq!(r.header("content-encoding"), "");
    assert!(r.body.contains("<form"), "{}", r.body);
    app
});
