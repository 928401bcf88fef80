"""Lease expiry reminders: 90/60/30-day tiers per property type."""
