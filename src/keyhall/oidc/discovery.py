"""OpenID Connect Discovery 1.0 §3 and RFC 8414: the provider metadata. It advertises only
what works, and the issuer is byte-identical everywhere it appears."""

from __future__ import annotations

from typing import Any

from keyhall.oidc.claims import EXTRA_CLAIMS
from keyhall.oidc.clients import SIGNING_ALGS, SUPPORTED_SCOPES

PROMPT_VALUES = ("none", "login", "consent", "select_account")


def metadata(issuer: str) -> dict[str, Any]:
    auth_methods = ["client_secret_basic", "client_secret_post", "none"]
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/auth",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/me",
        "jwks_uri": f"{issuer}/jwks",
        "revocation_endpoint": f"{issuer}/token/revocation",
        "introspection_endpoint": f"{issuer}/token/introspection",
        "end_session_endpoint": f"{issuer}/session/end",
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(SIGNING_ALGS),
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": list(PROMPT_VALUES),
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "amr",
            "sid",
            "at_hash",
            *EXTRA_CLAIMS,
        ],
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
        "claim_types_supported": ["normal"],
        "ui_locales_supported": ["en-US"],
    }
