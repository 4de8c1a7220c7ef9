//! Use cases of figures supplied by other agencies: import, confirm, enter directly.
