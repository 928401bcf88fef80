"""Deposit refunds: the six-node workflow, deductions, SLAs and escalation."""
