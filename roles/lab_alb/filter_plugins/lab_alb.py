"""Filters of the lab_alb role."""

from __future__ import annotations

import base64
import hashlib

_BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def lab_alb_htpasswd(users, salt_seed, rounds=10) -> str:
    """An htpasswd file of users ([{name, password}]) with bcrypt ($2b$) hashes, as oauth2-proxy reads it.

    Each salt is the first 16 bytes of SHA-256(salt_seed, name, password), so the same logins give the
    same file (an unchanged file on a rerun) and a changed password gets a new salt. bcrypt reads at
    most 72 bytes of a password: a longer one is refused rather than cut.
    """
    import bcrypt

    lines = []
    for user in users:
        name, password = str(user["name"]), str(user["password"]).encode("utf-8")
        if ":" in name or not name:
            raise ValueError(f"login name {name!r} is empty or holds ':'")
        if len(password) > 72:
            raise ValueError(f"the password of {name} is longer than bcrypt's 72 bytes")
        digest = hashlib.sha256(f"{salt_seed}\0{name}\0".encode() + password).digest()[:16]
        salt = (
            base64.b64encode(digest).decode("ascii")[:22].translate(str.maketrans(_BASE64_ALPHABET, _BCRYPT_ALPHABET))
        )
        hashed = bcrypt.hashpw(password, f"$2b${int(rounds):02d}${salt}".encode("ascii")).decode("ascii")
        lines.append(f"{name}:{hashed}\n")
    return "".join(lines)


class FilterModule:
    """The role's filters."""

    def filters(self):
        return {"lab_alb_htpasswd": lab_alb_htpasswd}
