//! Use cases of survey imports: upload, mapping, starting the job, following it.
