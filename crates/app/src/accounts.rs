//! Use cases of one's own account: login (with growing delays), logout, password change, role switch.
