//! Joins the translation catalogue from every `src/locales/*.tsv` file (one per route area, so
//! that areas add keys without touching each other's files) into one file in OUT_DIR. Also sets
//! the cfgs marking which test services are configured here (`build-support/test_services.rs`),
//! so the tests needing a missing one are reported ignored.

use std::fs;
use std::path::Path;

include!("../../build-support/test_services.rs");

fn main() {
    test_services_postgres();
    test_services_browser();
    let dir = Path::new("src/locales");
    println!("cargo::rerun-if-changed=src/locales");
    let mut files: Vec<_> = fs::read_dir(dir)
        .expect("src/locales")
        .map(|e| e.expect("locales entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
        .collect();
    files.sort();
    let mut joined = String::new();
    for file in files {
        println!("cargo::rerun-if-changed={}", file.display());
        joined.push_str(&format!("# file\t{}\n", file.display()));
        joined.push_str(&fs::read_to_string(&file).expect("read locale file"));
        if !joined.ends_with('\n') {
            joined.push('\n');
        }
    }
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("catalogue.tsv");
    fs::write(out, joined).expect("write catalogue");
}
