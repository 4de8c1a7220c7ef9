//! Declares and sets the cfgs that mark which test services are configured here (see
//! `build-support/test_services.rs`), so the tests needing a missing one are reported ignored.

include!("../../build-support/test_services.rs");

fn main() {
    test_services_postgres();
    test_services_s3();
}
