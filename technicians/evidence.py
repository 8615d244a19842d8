"""What `flask audit verify` re-checks on the technicians' side: every signed record against its stored hash.

A visit's voucher (Signature: the signed canonical content and the signature image), a carry-back's receipt
and its return. The hashes are recomputed with the functions that made them (services.signoff)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from sqlalchemy import or_, select

from dispatch.core.audit_chain import Problem
from dispatch.core.extensions import db

from .models import CarryBack, Signature
from .services.signoff import content_hash


def check_signed_records() -> Iterator[Problem]:
    for sig in db.session.scalars(select(Signature).order_by(Signature.id).execution_options(yield_per=500, populate_existing=True)):
        if content_hash(sig.signed_content or "") != sig.content_sha256:
            yield Problem("signature", sig.id, f"the signed voucher of visit {sig.visit_id} no longer matches "
                                               "its hash (content_sha256)")
        if hashlib.sha256(sig.image_png or b"").hexdigest() != sig.image_sha256:
            yield Problem("signature", sig.id, f"the signature image of visit {sig.visit_id} no longer matches "
                                               "its hash (image_sha256)")
    sealed = or_(CarryBack.receipt_sha256.is_not(None), CarryBack.return_sha256.is_not(None))
    for cb in db.session.scalars(select(CarryBack).where(sealed).order_by(CarryBack.id)
                                 .execution_options(yield_per=500, populate_existing=True)):
        if cb.receipt_sha256 is not None and content_hash(cb.receipt_signed_content or "") != cb.receipt_sha256:
            yield Problem("carry_back", cb.id, "the signed receipt no longer matches its hash (receipt_sha256)")
        if cb.return_sha256 is not None and content_hash(cb.return_signed_content or "") != cb.return_sha256:
            yield Problem("carry_back", cb.id, "the signed return no longer matches its hash (return_sha256)")
