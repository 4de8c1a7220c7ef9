//! Use cases of the decision and publication: record the decision, publish, republish.
