"""Accounts on the web: second factors, passkeys, login throttling, self-service, reset links."""
