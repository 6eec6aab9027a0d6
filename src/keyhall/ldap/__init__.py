"""RFC 4511: Keyhall's read-only LDAPv3 front, starting with a sans-IO BER/LDAP codec.

The codec modules (``ber``, ``messages``, ``filters``, ``dn``, ``controls``,
``result_codes``) turn bytes into frozen dataclasses and back; they do no I/O and import
nothing outside this package.
"""
