//! Use cases of survey review: scores, reports, quality checks, excluding responses.
