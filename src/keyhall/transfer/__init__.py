"""Moving in and out: import and export of users, groups and password hashes (LDIF, CSV, JSON)."""
