"""API: customers and what they own (sites, equipment, contracts)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_login import current_user

from ..core.apiutil import api_view, body, paginate
from ..core.i18n import _
from ..core.security import DESK, allow, mask_phone
from ..core.validate import Fields
from ..models import Customer, Site
from ..schemas import contract_json, customer_json, equipment_json, place_json, site_json
from ..services import contracts, customers, sites
from .blueprint import CUSTOMER, SITE, bp, load_by_id


@bp.post("/customers")
@allow(DESK)
@api_view
def create_customer() -> Any:
    f = Fields(body())
    name = f.text("name")
    phone = f.text("phone", max_length=40)
    contact = f.text("contact_name", required=False)
    email = f.text("email", required=False)
    notes = f.text("notes", required=False, max_length=2000)
    confirm = f.boolean("confirm_duplicate")
    f.check(_("The customer cannot be saved."))
    try:
        customer = customers.create_customer(current_user, name=name or "", phone=phone or "",
                                             contact_name=contact, email=email, notes=notes,
                                             confirm_duplicate=confirm)
    except customers.PossibleDuplicate as exc:
        # The customers already on file come back with the refusal; `"confirm_duplicate": true` creates anyway.
        # Raised, not answered: the edge rolls back, and a resend racing the first send gets the first answer.
        exc.extra["matches"] = [{"id": c.id, "name": c.name, "phone": mask_phone(c.phone)} for c in exc.matches]
        raise
    return customer_json(customer), 201


@bp.get("/customers")
@allow(DESK)
@api_view
def list_customers() -> Any:
    return paginate(customers.search_customers(request.args.get("q")), Customer.id, customer_json)


@bp.get("/customers/<int:customer_id>")
@allow(DESK)
@api_view
def get_customer(customer_id: int) -> Any:
    customer = customers.get_customer_or_404(customer_id)
    data = customer_json(customer)
    data["equipment"] = [equipment_json(e) for e in customer.equipment]
    data["contracts"] = [contract_json(c) for c in customer.contracts]
    return data


@bp.patch("/customers/<int:customer_id>")
@allow(DESK)
@api_view
def update_customer(customer_id: int) -> Any:
    customer = customers.get_customer_or_404(customer_id)
    data = body()
    f = Fields(data)
    changes: dict[str, Any] = {}
    for key, limit in (("name", 200), ("phone", 40), ("contact_name", 200), ("email", 200), ("notes", 2000)):
        if key in data:
            changes[key] = f.text(key, required=key in ("name", "phone"), max_length=limit)
    f.check(_("The customer cannot be saved."))
    customers.update_customer(current_user, customer, **changes)
    return customer_json(customer)


@bp.post("/customers/<int:customer_id>/sites")
@allow(DESK)
@api_view
def create_site(customer_id: int) -> Any:
    customer = customers.get_customer_or_404(customer_id)
    f = Fields(body())
    address = f.text("address", max_length=500)
    lat = f.number("latitude", required=False, minimum=-90, maximum=90)
    lon = f.number("longitude", required=False, minimum=-180, maximum=180)
    f.check(_("The site cannot be saved."))
    site = sites.add_site(current_user, customer, address=address or "", latitude=lat, longitude=lon)
    return site_json(site), 201


@bp.get("/sites/<int:site_id>")
@allow(DESK)
@api_view
def get_site(site_id: int) -> Any:
    """A site with the places its address may mean (`candidates`), best first."""
    site = sites.get_site_or_404(site_id)
    return {**site_json(site), "candidates": [place_json(p) for p in sites.site_candidates(site)]}


@bp.post("/sites/<int:site_id>/place")
@allow(DESK)
@api_view
def place_site(site_id: int) -> Any:
    """Correct where a site is: `{"code"}` of one of its candidates, or `{"latitude", "longitude"}`."""
    site = sites.get_site_or_404(site_id)
    f = Fields(body())
    code = f.text("code", required=False, max_length=40)
    lat = f.number("latitude", required=False, minimum=-90, maximum=90)
    lon = f.number("longitude", required=False, minimum=-180, maximum=180)
    f.check(_("The site cannot be placed."))
    sites.place_site(current_user, site, code=code, latitude=lat, longitude=lon)
    return site_json(site)


place_site.openapi_status = "200"  # type: ignore[attr-defined]  # changes state, creates nothing (openapi.py)


@bp.post("/equipment")
@allow(DESK)
@api_view
def create_equipment() -> Any:
    f = Fields(body())
    model = f.text("model")
    serial = f.text("serial_number")
    warranty = f.date("warranty_until", required=False)
    f.check(_("The equipment cannot be saved."))
    customer = load_by_id(Customer, f.data.get("customer_id"), CUSTOMER, "customer_id")
    site = load_by_id(Site, f.data.get("site_id"), SITE, "site_id")
    equipment = customers.add_equipment(current_user, customer, site, model=model or "",
                                        serial_number=serial or "", warranty_until=warranty)
    return equipment_json(equipment), 201


@bp.get("/equipment/<int:equipment_id>")
@allow(DESK)
@api_view
def get_equipment(equipment_id: int) -> Any:
    return equipment_json(customers.get_equipment_or_404(equipment_id))


@bp.post("/contracts")
@allow(DESK)
@api_view
def create_contract() -> Any:
    f = Fields(body())
    number = f.text("number", max_length=60)
    starts = f.date("starts_on")
    ends = f.date("ends_on")
    covers_parts = f.boolean("covers_parts")
    equipment_ids = f.id_list("equipment_ids")
    notes = f.text("notes", required=False, max_length=2000)
    billing_period = f.choice("billing_period", contracts.BILLING_PERIODS, required=False)
    f.check(_("The contract cannot be saved."))
    customer = load_by_id(Customer, f.data.get("customer_id"), CUSTOMER, "customer_id")
    assert starts is not None and ends is not None
    contract = contracts.create_contract(current_user, customer, number=number or "", starts_on=starts,
                                         ends_on=ends, equipment_ids=equipment_ids, covers_parts=covers_parts,
                                         notes=notes, fee=f.data.get("fee"), billing_period=billing_period)
    return contract_json(contract), 201
