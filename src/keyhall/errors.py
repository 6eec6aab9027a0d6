"""Domain errors: each carries a stable code that every front maps to its own protocol."""

from __future__ import annotations


class KeyhallError(Exception):
    """Base of the errors a use case raises on bad input; the message is safe to show."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(KeyhallError):
    code = "invalid_input"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(KeyhallError):
    code = "not_found"


class Conflict(KeyhallError):
    code = "conflict"


class Forbidden(KeyhallError):
    code = "forbidden"
