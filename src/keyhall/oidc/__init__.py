"""The OpenID Connect provider: one spec (or one section of one) per module."""
