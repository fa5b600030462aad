"""Staff accounts, login, roles, the audit log and the staff area's blueprint."""
