"""The directory: users, groups and memberships, with the use cases every front calls."""
