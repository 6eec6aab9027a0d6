"""Keyhall: one account for every self-hosted app."""

__version__ = "0.1.0"
