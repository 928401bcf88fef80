"""Occupancy truth: one definition of effective occupancy (有效入住率) beside the other figures people quote,
daily per-unit snapshots that never show a false 0 %, drill-down, and the monthly status-consistency audit."""
