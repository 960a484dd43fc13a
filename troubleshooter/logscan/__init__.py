"""`troubleshooter logs`: the log scanner as a command of its own (checks/logs does the work)."""
