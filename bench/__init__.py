"""Load generators and peer set-ups for Keyhall's benchmarks (see bench/README.md).

A package so that `bench/ldap.py` is the module `bench.ldap` and never shadows python-ldap's
`ldap` for the type checker or for code imported by a benchmark; run it as `python -m bench.ldap`.
"""
