"""rawdb's benchmark runner: deterministic datasets, cases and reports."""
