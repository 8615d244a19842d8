"""Issue 15, evidence that can't be quietly changed: what a customer signs (a visit's voucher, a carry-back's
receipt and return) is sealed by HMAC-SHA256 with a server key kept outside the database. Rewriting a row
behind the app's back and recomputing a plain SHA-256 is named by `flask audit verify`; records sealed
before keys (plain SHA-256) still verify, and rewriting them is named too."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from sqlalchemy import text

from dispatch.core import audit
from dispatch.core.extensions import db
from dispatch.core.timeutil import local_today
from technicians.evidence import KEY_FILE, evidence_key, seal
from technicians.models import HASH_KEYED, HASH_PLAIN, CarryBack, Signature
from technicians.services import progress, signoff, work
from tests.billing.helpers import call_of
from tests.factories import make_call
from tests.technicians.helpers import png, png_b64, today_visit


def plain(value: str | bytes) -> str:
    return hashlib.sha256(value.encode("utf-8") if isinstance(value, str) else value).hexdigest()


def _completed(dispatcher: Any, technician: Any) -> Any:
    visit = today_visit(dispatcher, make_call(dispatcher), technician)
    progress.arrive(technician, visit)
    work.complete(technician, visit, work_summary="Cleaned the condenser", labor_minutes=30, parts=[],
                  outcome="fixed")
    return visit


def _signed(dispatcher: Any, technician: Any) -> Signature:
    visit = _completed(dispatcher, technician)
    sig = signoff.sign(technician, visit, signer_name="Mr Wang", image_png_base64=png_b64()).signature
    db.session.flush()
    return sig


def _verify(runner: Any) -> Any:
    db.session.commit()  # the command rolls back what it read; what the test made stays
    return runner.invoke(args=["audit", "verify"])


def test_a_voucher_is_sealed_with_the_server_key(app, api, runner, dispatcher, technician):
    sig = _signed(dispatcher, technician)
    key = evidence_key()
    assert sig.hash_scheme == HASH_KEYED
    assert sig.content_sha256 == hmac.new(key, sig.signed_content.encode(), hashlib.sha256).hexdigest()
    assert sig.image_sha256 == hmac.new(key, sig.image_png, hashlib.sha256).hexdigest()
    assert sig.content_sha256 != plain(sig.signed_content)  # nobody without the key can make it
    if not app.config.get("EVIDENCE_KEY") and not os.environ.get("EVIDENCE_KEY"):
        # Kept outside the database: a file of the instance folder, readable by the server's user alone.
        path = Path(app.instance_path) / KEY_FILE
        assert path.read_text().strip().encode() == key
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        # Made once: another app on the same instance folder seals with the same key.
        from dispatch import create_app

        other = create_app({"TESTING": True, "DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": "x"})
        with other.app_context():
            assert other.instance_path == app.instance_path and evidence_key() == key
    # The API and the printed voucher still show the hash.
    assert api(technician).get(f"/api/v1/visits/{sig.visit_id}").status_code == 200
    pdf = api(dispatcher).get(f"/api/v1/visits/{sig.visit_id}/slip.pdf")
    assert pdf.status_code == 200
    printed = "".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages).split())
    assert sig.content_sha256 in printed
    assert _verify(runner).exit_code == 0


def test_a_rewritten_voucher_with_a_recomputed_sha256_is_named(runner, dispatcher, technician):
    sig = _signed(dispatcher, technician)
    forged = sig.signed_content.replace("Cleaned the condenser", "Replaced the compressor")
    assert forged != sig.signed_content
    # What someone with the database but not the key can do: new content, its SHA-256 as the hash.
    db.session.execute(text("UPDATE signatures SET signed_content = :c, content_sha256 = :h WHERE id = :id"),
                       {"c": forged, "h": plain(forged), "id": sig.id})
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"signature #{sig.id}: the signed voucher of visit {sig.visit_id} no longer matches its hash" \
        in result.output


def test_a_voucher_passed_off_as_an_old_plain_one_is_named(runner, dispatcher, technician):
    """Marking the rewritten row as sealed before keys (plain SHA-256) does not help: the audit trail
    recorded the hash the row had when it was signed."""
    sig = _signed(dispatcher, technician)
    forged = sig.signed_content.replace("Cleaned the condenser", "Replaced the compressor")
    db.session.execute(text("UPDATE signatures SET signed_content = :c, content_sha256 = :h, "
                            "image_sha256 = :i, hash_scheme = 'sha256' WHERE id = :id"),
                       {"c": forged, "h": plain(forged), "i": plain(sig.image_png), "id": sig.id})
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"signature #{sig.id}: the signed voucher of visit {sig.visit_id} has a plain SHA-256 hash the " \
           "audit trail never recorded" in result.output


def test_a_voucher_sealed_before_keys_still_verifies_and_its_rewrite_is_named(runner, dispatcher, technician):
    """A row signed before migration 0019 (plain SHA-256, as the audit trail recorded it then)."""
    visit = _completed(dispatcher, technician)
    record = work.work_record(visit)
    content = signoff.canonical_json(signoff.signed_content(visit, record, "Mr Wang"))
    image = png()
    sig = Signature(visit=visit, signer_name="Mr Wang", image_png=image, image_sha256=plain(image),
                    signed_content=content, content_sha256=plain(content), hash_scheme=HASH_PLAIN,
                    technician_id=technician.id, technician_confirmed_at=visit.end)
    db.session.add(sig)
    audit.record(technician, sig, "visit.signed", after={"visit_id": visit.id, "signer_name": "Mr Wang",
                                                         "content_sha256": sig.content_sha256})
    result = _verify(runner)
    assert result.exit_code == 0, result.output

    forged = content.replace("Cleaned the condenser", "Replaced the compressor")
    db.session.execute(text("UPDATE signatures SET signed_content = :c, content_sha256 = :h WHERE id = :id"),
                       {"c": forged, "h": plain(forged), "id": sig.id})
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"signature #{sig.id}: the signed voucher of visit {visit.id} has a plain SHA-256 hash the audit " \
           "trail never recorded" in result.output


def _signed_and_returned(api: Any, dispatcher: Any, technician: Any) -> CarryBack:
    """A carry-back through the API: a photo, the customer's receipt signature, received at the desk,
    picked up (signed) unrepaired."""
    call = call_of("charged", dispatcher)
    visit = today_visit(dispatcher, call, technician)
    tech, desk = api(technician), api(dispatcher)
    assert tech.post(f"/api/v1/visits/{visit.id}/arrive").status_code == 200
    r = tech.post(f"/api/v1/visits/{visit.id}/complete", json={
        "work_summary": "Compressor does not start; taken to the workshop.", "labor_minutes": 30,
        "outcome": "carry_back"})
    assert r.status_code == 200, r.json
    r = tech.post(f"/api/v1/visits/{visit.id}/carry-back", json={
        "item": "Split air conditioner indoor unit", "model": "KFR-35GW", "serial_number": "SN-CB-1",
        "accessories": "remote control", "condition": "scratched", "stated_fault": "blows warm air",
        "promised_return_on": (local_today() + timedelta(days=10)).isoformat()})
    assert r.status_code == 201, r.json
    cb_id = r.json["id"]
    r = tech.post(f"/api/v1/carry-backs/{cb_id}/photos", json={"photos": [base64.b64encode(png()).decode()]})
    assert r.status_code == 201, r.json
    r = tech.post(f"/api/v1/carry-backs/{cb_id}/receipt-signature",
                  json={"signer_name": "Mr. Gao", "image_png_base64": png_b64()})
    assert r.status_code == 201, r.json
    assert desk.post(f"/api/v1/carry-backs/{cb_id}/receive").status_code == 200
    r = desk.post(f"/api/v1/carry-backs/{cb_id}/return", json={
        "signer_name": "Mr. Gao", "image_png_base64": png_b64(shade=40), "method": "pickup",
        "reason": "the customer takes it back unrepaired"})
    assert r.status_code == 200, r.json
    cb = db.session.get(CarryBack, cb_id)
    db.session.refresh(cb)
    return cb


def test_carry_back_receipt_return_and_photos_rewritten_are_named(api, runner, dispatcher, technician):
    cb = _signed_and_returned(api, dispatcher, technician)
    assert cb.receipt_hash_scheme == cb.return_hash_scheme == HASH_KEYED
    assert cb.receipt_sha256 == seal(cb.receipt_signed_content) != plain(cb.receipt_signed_content)
    assert cb.return_sha256 == seal(cb.return_signed_content) != plain(cb.return_signed_content)
    assert _verify(runner).exit_code == 0

    receipt = cb.receipt_signed_content.replace("scratched", "as new")
    returned = cb.return_signed_content.replace("Mr. Gao", "Mr. Li")
    assert receipt != cb.receipt_signed_content and returned != cb.return_signed_content
    db.session.execute(text("UPDATE carry_backs SET receipt_signed_content = :r, receipt_sha256 = :rh, "
                            "return_signed_content = :t, return_sha256 = :th WHERE id = :id"),
                       {"r": receipt, "rh": plain(receipt), "t": returned, "th": plain(returned), "id": cb.id})
    photo = png(shade=99)
    db.session.execute(text("UPDATE carry_back_photos SET image = :p, sha256 = :h WHERE carry_back_id = :id"),
                       {"p": photo, "h": plain(photo), "id": cb.id})
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"carry_back #{cb.id}: the signed receipt {cb.number} no longer matches its hash" in result.output
    assert f"carry_back #{cb.id}: the signed return of {cb.number} no longer matches its hash" in result.output
    assert f"carry_back #{cb.id}: the photos of the signed receipt {cb.number} are not the ones signed for" \
        in result.output
