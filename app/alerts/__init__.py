"""Urging units: due-soon, overdue and daily-digest alerts (docs/alerts.md)."""
