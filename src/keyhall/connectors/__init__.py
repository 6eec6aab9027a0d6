"""External directories: users and groups from LDAP / Active Directory (seeds 000 and 004)."""
