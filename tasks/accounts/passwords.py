"""Passwords, hashed with Argon2 (pwdlib): the hash is a PHC string that carries its own parameters,
so raising them later re-hashes each password at its owner's next sign-in."""

from __future__ import annotations

from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from cascade.errors import InvalidValue
from templates import message


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(),))


@lru_cache(maxsize=1)
def _decoy() -> str:
    """A hash to check a password against when there is no account, so that a wrong name takes as long as a wrong password."""
    return _hasher().hash("no account has this password")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, stored: str | None) -> tuple[bool, str | None]:
    """Whether `password` matches `stored` (None: always no, in the same time), and the new hash to store
    when the stored one was made with older parameters."""
    if stored is None:
        _hasher().verify(password, _decoy())
        return False, None
    return _hasher().verify_and_update(password, stored)


def check_new_password(password: str, *, min_length: int, email: str) -> None:
    """Raise InvalidValue (Vietnamese) unless `password` is long enough and is not the address itself."""
    if len(password) < min_length:
        raise InvalidValue(message("accounts.password_short", length=min_length))
    if password.strip().lower() in {email.lower(), email.split("@", maxsplit=1)[0].lower()}:
        raise InvalidValue(message("accounts.password_is_name"))
