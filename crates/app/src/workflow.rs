//! Use cases of the appraisal workflow: assignments, stage changes, deadlines, corrections.
