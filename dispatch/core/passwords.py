"""What a new password must be, and the one way a password is checked at login.

One rule for every way a password is set: the user's own change (account page, API), the admin's
(pages, API) and the shell's (`flask users`): at least MIN_LENGTH characters, and not one of the
common passwords people and password-guessing tools try first (common_passwords.txt, read once, no
network), nor one of them with digits or signs stuck to its ends ("Password2026!").

`verify` checks a password against a user's hash, or, for a username nobody has, against a dummy hash
made the same way: a refusal costs one hash either way, so the time it takes does not tell an attacker
which usernames exist.
"""

from __future__ import annotations

import secrets
import string
from functools import cache
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from .errors import Invalid
from .i18n import _
from .models import User

MIN_LENGTH = 12
MAX_LENGTH = 200  # the forms' and the API's limit: a longer one is refused before it costs a hash
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")
_ENDS = string.digits + string.punctuation + " "


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("# "))


def is_common(password: str) -> bool:
    """On the list (case aside), on it once digits and signs are taken off both ends, or one or two
    characters repeated ("aaaaaaaaaaaa", "abababababab")."""
    lowered = password.lower()
    words = common_passwords()
    if lowered in words or len(set(lowered)) <= 2:
        return True
    core = lowered.strip(_ENDS)
    return bool(core) and core != lowered and core in words


def check_new_password(password: str, field: str = "password") -> None:
    """Raise Invalid (on `field`) unless `password` may be set."""
    if len(password) < MIN_LENGTH:
        raise Invalid(_("The password must have at least %(n)d characters.", n=MIN_LENGTH),
                      fields={field: _("at least %(n)d characters", n=MIN_LENGTH)})
    if len(password) > MAX_LENGTH:
        raise Invalid(_("%(field)s must be at most %(n)d characters.", field=_("Password"), n=MAX_LENGTH),
                      fields={field: _("at most %(n)d characters", n=MAX_LENGTH)})
    if is_common(password):
        raise Invalid(_("This password is one of the most common ones, which are guessed first. "
                        "Choose another."), fields={field: _("too common")})


@cache
def _dummy_hash() -> str:
    # Made the way real hashes are (werkzeug's default method), once per process.
    return generate_password_hash(secrets.token_urlsafe(16))


def verify(user: User | None, password: str) -> bool:
    """The password is the user's; for no user, the same work against a dummy hash, and False."""
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(user.password_hash, password)
