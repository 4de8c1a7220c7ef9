// Shared by the build scripts of the crates whose tests need an outside service (`include!`d,
// so it is not a module of its own). Each function declares one cfg and sets it when the service
// is configured here, so that a test needing a missing service is reported by the test runner
// as ignored, with the reason, instead of passing without having run. Under `CI=true` every cfg
// is set: CI runs those tests, and a missing service fails them.

/// `CI=true` (any case), as CI systems set it.
#[allow(dead_code)]
fn test_services_ci() -> bool {
    println!("cargo::rerun-if-env-changed=CI");
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `parindex_pg`: `PARINDEX_TEST_DATABASE_URL` names a PostgreSQL server for the tests.
#[allow(dead_code)]
fn test_services_postgres() {
    println!("cargo::rustc-check-cfg=cfg(parindex_pg)");
    println!("cargo::rerun-if-env-changed=PARINDEX_TEST_DATABASE_URL");
    let configured = std::env::var("PARINDEX_TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty());
    if configured || test_services_ci() {
        println!("cargo::rustc-cfg=parindex_pg");
    }
}

/// `parindex_browser`: chromedriver is at `PARINDEX_CHROMEDRIVER` or Debian's path.
#[allow(dead_code)]
fn test_services_browser() {
    println!("cargo::rustc-check-cfg=cfg(parindex_browser)");
    println!("cargo::rerun-if-env-changed=PARINDEX_CHROMEDRIVER");
    let path = std::env::var("PARINDEX_CHROMEDRIVER")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "/usr/bin/chromedriver".to_owned());
    let path = std::path::Path::new(&path);
    // Watch the folder too: a driver installed later then re-runs this script.
    if let Some(dir) = path.parent().filter(|d| d.is_dir()) {
        println!("cargo::rerun-if-changed={}", dir.display());
    }
    if path.is_file() || test_services_ci() {
        println!("cargo::rustc-cfg=parindex_browser");
    }
}

/// `parindex_s3`: moto's S3 server can be started (`moto_server` on the PATH).
#[allow(dead_code)]
fn test_services_s3() {
    println!("cargo::rustc-check-cfg=cfg(parindex_s3)");
    println!("cargo::rerun-if-env-changed=PATH");
    let on_path = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| dir.join("moto_server").is_file())
    });
    if on_path || test_services_ci() {
        println!("cargo::rustc-cfg=parindex_s3");
    }
}
