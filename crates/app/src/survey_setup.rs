//! Use cases of the survey setup: settings, respondent groups, questionnaires and questions.
