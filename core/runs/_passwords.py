"""Password hashes for the small-team sign-in (a list of names and hashes in the app's secrets, no database):
`hashlib.scrypt` with a random salt, compared in constant time with `hmac.compare_digest`.

A hash reads `scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>`; `python -m core hash-password` prints one.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1      # ~16 MB and ~50 ms per check on a laptop core
_DKLEN = 32
_MAX_MEMORY = 64 * 1024 * 1024


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_DKLEN, maxmem=_MAX_MEMORY)


def hash_password(password: str) -> str:
    """A salted scrypt hash of `password`, in the form the secrets file keeps."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    encode = lambda raw: base64.b64encode(raw).decode("ascii")  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt)}${encode(digest)}"


_DUMMY = None


def check_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches the stored hash. An unknown user (stored None) or a malformed hash costs the same
    scrypt work and answers False, so timing does not tell which names exist."""
    global _DUMMY
    try:
        scheme, n, r, p, salt, digest = str(stored).split("$")
        if scheme != "scrypt":
            raise ValueError(scheme)
        n, r, p = int(n), int(r), int(p)
        salt, expected = base64.b64decode(salt, validate=True), base64.b64decode(digest, validate=True)
        if not (2 <= n <= 2 ** 20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16 and len(expected) == _DKLEN):
            raise ValueError("parameters out of range")
    except (ValueError, TypeError):
        _DUMMY = _DUMMY or hash_password(secrets.token_hex(8))
        check_password(_DUMMY, password)
        return False
    return hmac.compare_digest(_scrypt(password, salt, n, r, p), expected)
