//! Use cases of evidence: attach a file (re-checking stage, deadline and submission), cite, download.
