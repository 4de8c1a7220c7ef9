//! Use cases of index sets: import, edit drafts, publish, clone, map codes between years.
