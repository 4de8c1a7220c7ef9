//! Use cases of user administration: create, grant and revoke roles, reset passwords, disable.
