//! Use cases of the unit registry: create, edit, deactivate, groups, import from a spreadsheet.
