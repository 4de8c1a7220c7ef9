//! Use cases of a unit's sheet: load it, save a leaf (self-assessment and appraisal), submit.
