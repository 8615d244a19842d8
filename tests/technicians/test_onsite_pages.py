"""The technician's phone pages without JavaScript: every action is a plain form that works."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from billing.models import Payment
from dispatch.core.extensions import db
from dispatch.models import Visit
from technicians.models import Signature, WorkRecord
from tests.billing.helpers import call_of, catalogue
from tests.technicians.helpers import png_b64, today_visit


def test_today_lists_visits_with_map_and_phone_links(client, login, dispatcher, technician):
    call = call_of("charged", dispatcher)
    visit = today_visit(dispatcher, call, technician)
    login(technician)
    page = client.get("/t/").get_data(as_text=True)
    assert visit.slip_number in page and call.customer.name in page
    assert 'href="geo:31.230400,121.473700' in page  # opens the phone's map app
    assert 'href="tel:13812345678"' in page
    assert "is-next" in page
    assert 'class="brand" href="/t/"' in page  # the company name leads home: Today, not the desk
    assert "<iframe" not in page and "<img" not in page  # links only: nothing is loaded from a map service
    tomorrow = client.get("/t/?day=tomorrow").get_data(as_text=True)
    assert visit.slip_number not in tomorrow and "No visits tomorrow" in tomorrow
    # Other roles do not get the phone pages.
    login(dispatcher)
    assert client.get("/t/").status_code == 403


def test_a_visit_through_plain_forms(client, login, dispatcher, technician):
    catalogue(dispatcher)
    call = call_of("charged", dispatcher)
    visit = today_visit(dispatcher, call, technician)
    login(technician)
    url = f"/t/visits/{visit.id}"
    page = client.get(url).get_data(as_text=True)
    # Each action names its JSON endpoint for the offline outbox.
    for action, label in (("on-my-way", "On my way"), ("arrive", "Arrived")):
        assert f'data-api="/api/v1/visits/{visit.id}/{action}" data-offline-label="{label}"' in page
    assert page.index("On my way") < page.index("Arrived") < page.index("Complete")

    assert client.post(f"{url}/on-my-way").status_code == 302
    assert client.post(f"{url}/arrive").status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert f'data-api="/api/v1/visits/{visit.id}/complete"' in page
    for name in ("work_summary", "labor_minutes", "parts-0-sku", "parts-0-quantity", "outcome"):
        assert f'name="{name}"' in page
    assert 'data-arrived-at="' in page and '<option value="CAP-45-5">' in page

    # Invalid: the form comes back with the problems marked, nothing saved.
    r = client.post(f"{url}/complete", data={"work_summary": "", "labor_minutes": "x", "outcome": "fixed"})
    assert r.status_code == 422 and "has-error" in r.get_data(as_text=True)
    r = client.post(f"{url}/complete", data={"work_summary": "Fixed", "labor_minutes": "30", "outcome": "fixed",
                                             "parts-0-sku": "NOPE", "parts-0-quantity": "1"})
    assert r.status_code == 422 and "unknown sku NOPE" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(WorkRecord.id))) == 0

    r = client.post(f"{url}/complete", data={
        "work_summary": "Changed the capacitor.", "labor_minutes": "60", "outcome": "fixed",
        "parts-0-sku": "CAP-45-5", "parts-0-quantity": "2", "parts-1-sku": "", "parts-1-quantity": "1"})
    assert r.status_code == 302
    page = client.get(url).get_data(as_text=True)
    # 80.00 + 120.00 + 70.00 = 270.00, tax 35.10, total 305.10
    assert "305.10" in page and "charged: call-out, labor and parts are due" in page
    assert 'value="305.10"' in page  # the payment form offers what is due

    key = re.search(r'name="request_key" type="hidden" value="(\w+)"', page).group(1)
    form = {"amount": "305.10", "method": "cash", "request_key": key}
    assert client.post(f"{url}/payments", data=form).status_code == 302
    assert client.post(f"{url}/payments", data=form).status_code == 302  # a double tap: still one payment
    assert db.session.scalar(select(func.count(Payment.id))) == 1
    page = client.get(url).get_data(as_text=True)
    receipt = db.session.scalar(select(Payment.receipt_number))
    assert receipt in page

    sign_page = client.get(f"{url}/sign").get_data(as_text=True)
    assert 'id="signature-pad"' in sign_page and "signature_pad.umd.min.js" in sign_page
    assert f'data-api="/api/v1/visits/{visit.id}/signature"' in sign_page
    r = client.post(f"{url}/signature", data={"signer_name": "Mr. Gao", "image_png_base64": "",
                                              "technician_confirmed": "y"})
    assert r.status_code == 422 and "has not signed" in r.get_data(as_text=True)
    r = client.post(f"{url}/signature", data={"signer_name": "Mr. Gao",
                                              "image_png_base64": "data:image/png;base64," + png_b64()})
    assert r.status_code == 422  # the technician's confirmation is missing
    r = client.post(f"{url}/signature", data={"signer_name": "Mr. Gao", "technician_confirmed": "y",
                                              "image_png_base64": "data:image/png;base64," + png_b64()})
    assert r.status_code == 302
    sig = db.session.scalar(select(Signature))
    page = client.get(url).get_data(as_text=True)
    assert sig.content_sha256 in page and "Signed off: read-only." in page
    assert f'href="/api/v1/visits/{visit.id}/slip.pdf"' in page
    assert 'name="work_summary"' not in page  # no form to change the record any more
    r = client.post(f"{url}/complete", data={"work_summary": "Changed", "labor_minutes": "5", "outcome": "fixed"})
    assert r.status_code == 409
    assert db.session.get(Visit, visit.id).status == "completed"


def test_other_technicians_visit_page_is_404(client, login, dispatcher, technician):
    from tests.factories import make_user

    visit = today_visit(dispatcher, call_of("charged", dispatcher), technician)
    login(make_user("technician", username="sam"))
    assert client.get(f"/t/visits/{visit.id}").status_code == 404
    assert client.post(f"/t/visits/{visit.id}/arrive").status_code == 404
    assert client.get(f"/t/visits/{visit.id}/sign").status_code == 404


def test_demo_technician_has_a_day_in_several_states(runner, client, login):
    from dispatch.core.models import User

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    db.session.expire_all()
    tech = db.session.scalar(select(User).where(User.username == "technician"))
    login(tech)
    statuses = set(db.session.scalars(select(Visit.status).where(Visit.technician_id == tech.id)))
    assert {"scheduled", "on_site", "completed"} <= statuses
    page = client.get("/t/").get_data(as_text=True)
    assert "On site" in page and "is-next" in page  # the visit in progress now is on top
    sig = db.session.scalar(select(Signature))
    assert sig is not None and sig.signer_name == "Ms. Tang"
    assert client.get(f"/t/visits/{sig.visit_id}").status_code == 200
    assert "No visits tomorrow" not in client.get("/t/?day=tomorrow").get_data(as_text=True)
    assert "Calibrated the clamp meter" in client.get("/t/admin-time").get_data(as_text=True)


def test_visit_page_links_to_its_slip(client, login, technician, dispatcher):
    from datetime import timedelta

    from dispatch.core.extensions import db
    from dispatch.core.timeutil import utcnow
    from dispatch.scheduling import booking
    from tests.factories import make_call

    call = make_call(dispatcher)
    start = utcnow() + timedelta(hours=1)
    visit = booking.book_visit(dispatcher, call, technician, start, start + timedelta(hours=1))
    db.session.commit()
    login(technician)
    page = client.get(f"/t/visits/{visit.id}").get_data(as_text=True)
    href = f"/api/v1/visits/{visit.id}/slip.pdf"
    assert href in page
    response = client.get(href)
    assert response.status_code == 200 and response.mimetype == "application/pdf"


def _completed_charged_visit(client, login, dispatcher, technician) -> tuple[Visit, str]:
    catalogue(dispatcher)
    visit = today_visit(dispatcher, call_of("charged", dispatcher), technician)
    login(technician)
    url = f"/t/visits/{visit.id}"
    assert client.post(f"{url}/arrive").status_code == 302
    assert client.post(f"{url}/complete", data={"work_summary": "Changed the capacitor.", "labor_minutes": "60",
                                                "outcome": "fixed"}).status_code == 302
    return visit, url


def test_a_repeated_payment_form_replays_the_first_answer(client, login, dispatcher, technician):
    visit, url = _completed_charged_visit(client, login, dispatcher, technician)
    first = client.post(f"{url}/payments", data={"amount": "10.00", "method": "cash", "request_key": "tap-1"})
    again = client.post(f"{url}/payments", data={"amount": "10.00", "method": "cash", "request_key": "tap-1"},
                        follow_redirects=True)
    assert first.status_code == 302 and first.headers["Location"].endswith(f"{url}#payment")
    receipt = db.session.scalar(select(Payment.receipt_number))
    assert db.session.scalar(select(func.count(Payment.id))) == 1
    # The repeat gets the first answer's message: the receipt of the one payment.
    assert again.status_code == 200 and f"recorded: receipt {receipt}" in again.get_data(as_text=True)
    # A new form (a new key) is a new payment; the header works as the hidden field does.
    assert client.post(f"{url}/payments", data={"amount": "5.00", "method": "cash"},
                       headers={"Idempotency-Key": "hdr-1"}).status_code == 302
    assert client.post(f"{url}/payments", data={"amount": "5.00", "method": "cash"},
                       headers={"Idempotency-Key": "hdr-1"}).status_code == 302
    assert db.session.scalar(select(func.count(Payment.id))) == 2


def test_a_refused_payment_keeps_its_key_free_for_the_corrected_form(client, login, dispatcher, technician):
    visit, url = _completed_charged_visit(client, login, dispatcher, technician)
    refused = client.post(f"{url}/payments", data={"amount": "99999.00", "method": "cash", "request_key": "k-7"},
                          follow_redirects=True)
    assert refused.status_code == 200 and db.session.scalar(select(func.count(Payment.id))) == 0
    assert client.post(f"{url}/payments", data={"amount": "10.00", "method": "cash",
                                                "request_key": "k-7"}).status_code == 302
    assert db.session.scalar(select(func.count(Payment.id))) == 1


def test_the_visit_page_offers_the_actions_the_services_allow(dispatcher, technician):
    from billing.services.charges import charges_for_call
    from dispatch.scheduling.booking import cancel_visit
    from technicians.services import progress, signoff, work
    from technicians.services.actions import visit_actions

    def actions(visit: Visit):
        return visit_actions(visit, technician, record=work.work_record(visit), signature=signoff.signature(visit),
                             sheet=charges_for_call(visit.call))

    visit = today_visit(dispatcher, call_of("charged", dispatcher), technician)
    first = actions(visit)
    assert first.on_my_way and first.arrive and not first.complete and not first.pay and not first.sign
    progress.arrive(technician, visit)
    on_site = actions(visit)
    assert not on_site.on_my_way and not on_site.arrive and on_site.complete and not on_site.pay
    work.complete(technician, visit, work_summary="Done", labor_minutes=30, parts=[], outcome="fixed")
    done = actions(visit)
    assert done.complete and done.pay and done.sign
    assert not visit_actions(visit, dispatcher, record=work.work_record(visit), signature=None,
                             sheet=charges_for_call(visit.call)).complete  # the desk records no work
    from tests.factories import make_user

    other = today_visit(dispatcher, call_of("free", dispatcher), make_user("technician", username="sam"))
    cancel_visit(dispatcher, other, "not needed")
    assert not any(vars(actions(other)).values())
