//! The index sets shipped with parindex, compiled into the binary. They are illustrative: the
//! official shape of Decision 2450/QĐ-UBND with illustrative content, labelled as such.

/// (file name, YAML text) of every shipped set.
pub const SHIPPED_INDEX_SETS: &[(&str, &str)] = &[
    (
        "minh-hoa-2021-so.yaml",
        include_str!("../../../data/index-sets/minh-hoa-2021-so.yaml"),
    ),
    (
        "minh-hoa-2021-huyen.yaml",
        include_str!("../../../data/index-sets/minh-hoa-2021-huyen.yaml"),
    ),
];
