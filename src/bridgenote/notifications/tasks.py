"""Background jobs and event subscriptions."""
