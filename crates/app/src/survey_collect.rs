//! Use cases of survey collection: links, paper entry, the public form.
