//! Use cases of the home page: what each role sees first.
