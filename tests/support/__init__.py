"""Real peers for the tests: Keyhall itself as a process, a throwaway PostgreSQL cluster."""
