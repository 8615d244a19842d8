"""Evidence that can't be quietly changed: the keyed hashes of what customers sign, and what `flask audit
verify` re-checks on the technicians' side.

What a customer signs (a visit's voucher, a carry-back's receipt and its return) is sealed by HMAC-SHA256
with EVIDENCE_KEY, a server key kept outside the database: someone who rewrites a signed row cannot make
a matching hash without the key (a plain SHA-256 they can recompute). The key is the EVIDENCE_KEY setting
or environment variable; else a random key in the instance folder (`evidence_key`, made once, mode 0600).
Several app servers must share one key: set EVIDENCE_KEY. Keep it with (not in) the backups: without it no
keyed hash can be checked.

Each sealed row says how its hash was made (`hash_scheme`): "hmac-sha256", or "sha256" for the rows
sealed before keys (migration 0019_evidence). A plain row is only accepted when the audit trail (itself
hash-chained and append-only) recorded that very hash when the row was signed, so turning a keyed row
into a "plain" one, or rewriting an old one, is still found.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import or_, select

from dispatch.core.audit_chain import Problem
from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent

from .models import HASH_KEYED, HASH_PLAIN, CarryBack, Signature

KEY_FILE = "evidence_key"
MIN_KEY_LENGTH = 32


class EvidenceKeyError(RuntimeError):
    """The key is missing or too short to seal anything."""


def _read_or_create_key_file(folder: Path) -> str:
    path = folder / KEY_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        # Written whole to a private temporary file, then linked into place: two processes starting at
        # once both end up with the one key that won the link.
        tmp = folder / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
            with contextlib.suppress(FileExistsError):  # another process made it first: theirs it is
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8").strip()


def evidence_key() -> bytes:
    """This app's evidence key (read once per app)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    key: bytes | None = app.extensions.get("evidence_key")
    if key is None:
        raw = app.config.get("EVIDENCE_KEY") or os.environ.get("EVIDENCE_KEY") \
            or _read_or_create_key_file(Path(app.instance_path))
        if len(raw) < MIN_KEY_LENGTH:
            raise EvidenceKeyError(f"EVIDENCE_KEY must be at least {MIN_KEY_LENGTH} characters "
                                   "(e.g. python -c 'import secrets; print(secrets.token_hex(32))').")
        key = app.extensions["evidence_key"] = raw.encode("utf-8")
    return key


def digest(scheme: str | None, data: bytes) -> str | None:
    """The hash of `data` as `scheme` makes it (None for an unknown scheme)."""
    if scheme == HASH_KEYED:
        return hmac.new(evidence_key(), data, hashlib.sha256).hexdigest()
    if scheme == HASH_PLAIN:
        return hashlib.sha256(data).hexdigest()
    return None


def seal(text: str) -> str:
    """The keyed hash of signed content (canonical JSON), as every new seal is made."""
    return digest(HASH_KEYED, text.encode("utf-8")) or ""


def seal_bytes(data: bytes) -> str:
    return digest(HASH_KEYED, data) or ""


def matches(scheme: str | None, data: str | bytes | None, stored: str | None) -> bool:
    """Whether `data` still hashes to `stored` under `scheme` (compared in constant time)."""
    if stored is None or data is None:
        return False
    made = digest(scheme, data.encode("utf-8") if isinstance(data, str) else data)
    return made is not None and hmac.compare_digest(made, stored)


# ----------------------------------------------------------------------------- audit verify


def _recorded(table: str, record_id: int, action: str, field: str) -> set[str]:
    """The hashes the audit trail recorded for this record when it was signed."""
    afters = db.session.scalars(select(AuditEvent.after).where(
        AuditEvent.entity_type == table, AuditEvent.entity_id == record_id, AuditEvent.action == action))
    return {after[field] for after in afters if isinstance(after, dict) and after.get(field)}


def _check(kind: str, record_id: int, what: str, column: str, scheme: str | None, data: str | bytes | None,
           stored: str | None, audited: tuple[str, str] | None) -> Iterator[Problem]:
    if scheme not in (HASH_KEYED, HASH_PLAIN):
        yield Problem(kind, record_id, f"{what} has an unknown hash scheme {scheme!r} ({column})")
    elif not matches(scheme, data, stored):
        yield Problem(kind, record_id, f"{what} no longer matches its hash ({column})")
    elif scheme == HASH_PLAIN and audited is not None and stored not in _recorded(kind_table(kind), record_id,
                                                                                    *audited):
        yield Problem(kind, record_id, f"{what} has a plain SHA-256 hash the audit trail never recorded for it "
                                       f"({column}): rewritten and hashed again")


def kind_table(kind: str) -> str:
    return {"signature": Signature.__tablename__, "carry_back": CarryBack.__tablename__}[kind]


def _photos_match(cb: CarryBack) -> bool:
    """The receipt's photos are the ones signed for: each photo's bytes still hash to its recorded SHA-256,
    and those are the hashes inside the (keyed) signed content."""
    try:
        signed: Any = json.loads(cb.receipt_signed_content or "{}").get("photos", [])
    except ValueError:
        return False
    photos = [(p.sha256, hashlib.sha256(p.image or b"").hexdigest()) for p in cb.photos]
    return all(recorded == actual for recorded, actual in photos) and \
        sorted(recorded for recorded, _actual in photos) == sorted(signed)


def check_signed_records() -> Iterator[Problem]:
    """Every signed voucher, receipt and return against its stored hash (`flask audit verify`)."""
    options = {"yield_per": 500, "populate_existing": True}
    for sig in db.session.scalars(select(Signature).order_by(Signature.id).execution_options(**options)):
        yield from _check("signature", sig.id, f"the signed voucher of visit {sig.visit_id}", "content_sha256",
                          sig.hash_scheme, sig.signed_content, sig.content_sha256,
                          ("visit.signed", "content_sha256"))
        yield from _check("signature", sig.id, f"the signature image of visit {sig.visit_id}", "image_sha256",
                          sig.hash_scheme, sig.image_png, sig.image_sha256, None)
    sealed = or_(CarryBack.receipt_sha256.is_not(None), CarryBack.return_sha256.is_not(None))
    for cb in db.session.scalars(select(CarryBack).where(sealed).order_by(CarryBack.id)
                                 .execution_options(**options)):
        if cb.receipt_sha256 is not None:
            yield from _check("carry_back", cb.id, f"the signed receipt {cb.number}", "receipt_sha256",
                              cb.receipt_hash_scheme, cb.receipt_signed_content, cb.receipt_sha256,
                              ("carry_back.receipt_signed", "receipt_sha256"))
            if not _photos_match(cb):
                yield Problem("carry_back", cb.id, f"the photos of the signed receipt {cb.number} are not the "
                                                   "ones signed for (a photo was changed, added or removed)")
        if cb.return_sha256 is not None:
            yield from _check("carry_back", cb.id, f"the signed return of {cb.number}", "return_sha256",
                              cb.return_hash_scheme, cb.return_signed_content, cb.return_sha256,
                              ("carry_back.returned", "return_sha256"))
