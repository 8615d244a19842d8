"""Issue 15: `flask audit verify` re-checks every signed voucher against its stored hash and names the one
rewritten behind the app's back."""

from __future__ import annotations

from sqlalchemy import text

from dispatch.core.extensions import db
from technicians.services import progress, signoff, work
from tests.factories import make_call
from tests.technicians.helpers import png_b64, today_visit


def _signed(dispatcher, technician):
    visit = today_visit(dispatcher, make_call(dispatcher), technician)
    progress.arrive(technician, visit)
    work.complete(technician, visit, work_summary="Cleaned the condenser", labor_minutes=30, parts=[],
                  outcome="fixed")
    return signoff.sign(technician, visit, signer_name="Mr Wang", image_png_base64=png_b64()).signature


def test_verify_passes_with_an_intact_voucher(runner, dispatcher, technician):
    _signed(dispatcher, technician)
    db.session.flush()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_verify_names_a_voucher_whose_content_was_rewritten(runner, dispatcher, technician):
    sig = _signed(dispatcher, technician)
    db.session.flush()
    forged = sig.signed_content.replace("Cleaned the condenser", "Replaced the compressor")
    assert forged != sig.signed_content
    db.session.execute(text("UPDATE signatures SET signed_content = :c WHERE id = :id"), {"c": forged, "id": sig.id})
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"signature #{sig.id}: the signed voucher of visit {sig.visit_id} no longer matches" in result.output


def test_verify_names_a_voucher_whose_signature_image_was_swapped(runner, dispatcher, technician):
    sig = _signed(dispatcher, technician)
    db.session.flush()
    db.session.execute(text("UPDATE signatures SET image_png = :p WHERE id = :id"), {"p": b"\x89PNG other", "id": sig.id})
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"signature #{sig.id}: the signature image of visit {sig.visit_id}" in result.output
