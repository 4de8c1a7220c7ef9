//! Server-side sessions: load the session behind a cookie, touch it, end it.
