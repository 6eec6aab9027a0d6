"""What a user may change about themselves: names and email (unless locked), and an avatar.

Avatars are sniffed from their first bytes, never trusted from the upload's declared type, and
only raster formats are accepted: an SVG can carry script.
"""

from __future__ import annotations

from keyhall.errors import InvalidInput

AVATAR_MAX_BYTES = 256 * 1024
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
)


def avatar_type(data: bytes) -> str:
    """The image type of an upload, or InvalidInput naming what is accepted."""
    if not data:
        raise InvalidInput("choose an image file", field="avatar")
    if len(data) > AVATAR_MAX_BYTES:
        raise InvalidInput(
            f"the image is too large: at most {AVATAR_MAX_BYTES // 1024} KiB", field="avatar"
        )
    for magic, offset, kind in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic and (
            kind != "image/webp" or data[:4] == b"RIFF"
        ):
            return kind
    raise InvalidInput("the image must be PNG, JPEG, GIF or WebP", field="avatar")
