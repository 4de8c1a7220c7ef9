//! Use cases of evaluation periods: create, show the board, extensions and reopening.
