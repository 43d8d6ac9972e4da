"""Following the cycle day by day: milestones, reminders, overdue notices, escalations, the daily tick's artifacts."""
