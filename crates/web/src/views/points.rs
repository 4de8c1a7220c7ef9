//! Points shown the Vietnamese way (a comma for decimals), for pages and templates.

use parindex_domain::Points;

/// Thousandths of a point as shown on a page.
pub fn pts(milli: i64) -> String {
    Points::from_millipoints(milli).display_vi()
}

/// The same for a template, which passes references.
pub fn points(milli: &i64) -> String {
    pts(*milli)
}
