//! Use cases of in-app notifications: list, mark read.
