"""Outbound notifications: a transactional outbox and the WeChat subscribe-message sender."""
