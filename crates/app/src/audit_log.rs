//! Use cases of the audit log: listing and filtering, verifying the chain.
