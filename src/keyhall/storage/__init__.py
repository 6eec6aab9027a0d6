"""Storage: the only package that knows SQL. SQLite by default, PostgreSQL for several nodes."""
