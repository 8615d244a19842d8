"""Issue 10: the desk's call page shows what was done on site (work record, parts, signature and the signed
voucher) and the money (charges, payments), lent by technicians and billing through the factory's hook."""

from __future__ import annotations

from decimal import Decimal

from billing.services.parts import PartUse
from billing.services.payments import record_onsite_payment
from dispatch.core.extensions import db
from technicians.services import progress, signoff, work
from tests.billing.helpers import call_of, catalogue, set_prices
from tests.technicians.helpers import png_b64, today_visit


def test_call_page_shows_work_parts_charges_payments_and_voucher(app, client, login, dispatcher, technician, admin):
    catalogue(admin)
    set_prices(admin)
    call = call_of("charged", dispatcher)
    visit = today_visit(dispatcher, call, technician)
    login(dispatcher)
    before = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert 'id="work-done"' not in before and 'id="call-charges"' not in before

    progress.arrive(technician, visit)
    work.complete(technician, visit, work_summary="Replaced the run capacitor", labor_minutes=45,
                  parts=[PartUse("CAP-45-5", Decimal("1"))], outcome="fixed")
    signoff.sign(technician, visit, signer_name="Mr Wang", image_png_base64=png_b64())
    payment = record_onsite_payment(technician, call, visit, amount="100.00", method="cash")
    db.session.commit()

    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    done = page[page.index('id="work-done"'):]
    assert "Replaced the run capacitor" in done and "45 min" in done and "Fixed" in done
    assert "Run capacitor" in done and "Mr Wang" in done
    assert f'href="/api/v1/visits/{visit.id}/slip.pdf"' in done and "Signed service voucher" in done
    money = page[page.index('id="call-charges"'):]
    assert "Total due" in money and payment.receipt_number in money and "100.00" in money
    assert "12.40" not in page  # the part's cost stays with finance

    # dispatch itself imports neither package: the panels come from the factory's hook.
    from billing.panels import charges_panel
    from technicians.panels import work_panel

    assert {work_panel, charges_panel} <= set(app.extensions["dispatch.call_panels"])
