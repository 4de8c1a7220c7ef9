//! Use cases of appraisal: the worklist, adjustments, explanations, comments, history.
