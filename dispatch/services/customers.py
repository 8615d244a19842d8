"""Customers and what they own: sites (placed on the map), equipment and service contracts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError

from .. import geo
from ..core import audit
from ..core.errors import Conflict, Invalid, NotFound
from ..core.extensions import db
from ..core.i18n import N_, _
from ..core.models import User
from ..core.validate import is_id
from ..models import Contract, Customer, Equipment, Site

MAX_SEARCH = 200


# ----------------------------------------------------------------------------- loaders


def _get_or_404(model: Any, object_id: object, missing: str) -> Any:
    obj = db.session.get(model, object_id) if is_id(object_id) else None
    if obj is None:
        raise NotFound(_(missing, id=object_id))
    return obj


def get_customer_or_404(customer_id: object) -> Customer:
    customer: Customer = _get_or_404(Customer, customer_id, N_("There is no customer with id %(id)s."))
    return customer


def get_site_or_404(site_id: object) -> Site:
    site: Site = _get_or_404(Site, site_id, N_("There is no site with id %(id)s."))
    return site


def get_equipment_or_404(equipment_id: object) -> Equipment:
    equipment: Equipment = _get_or_404(Equipment, equipment_id, N_("There is no equipment with id %(id)s."))
    return equipment


def pickable_customer(customer_id: object) -> Customer | None:
    """The customer a form names, if the desk may take a call for them: junk, unknown and archived ids
    are no customer (the form says "pick the customer"), never an error page."""
    try:
        cid = int(customer_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    customer = db.session.get(Customer, cid) if is_id(cid) else None
    return customer if customer is not None and customer.archived_at is None else None


def _owned(model: Any, object_id: object, customer: Customer | None) -> Any:
    if customer is None or not is_id(object_id):
        return None
    obj = db.session.get(model, object_id)
    return obj if obj is not None and obj.customer_id == customer.id else None


def site_of(customer: Customer | None, site_id: object) -> Site | None:
    """The customer's site with that id; another customer's site, or none, is None."""
    site: Site | None = _owned(Site, site_id, customer)
    return site


def equipment_of(customer: Customer | None, equipment_id: object) -> Equipment | None:
    """The customer's equipment with that id; another customer's, or none, is None."""
    equipment: Equipment | None = _owned(Equipment, equipment_id, customer)
    return equipment


# ----------------------------------------------------------------------------- customers


def create_customer(actor: User, *, name: str, phone: str, contact_name: str | None = None,
                    email: str | None = None, notes: str | None = None) -> Customer:
    customer = Customer(name=name, phone=phone, contact_name=contact_name, email=email, notes=notes)
    db.session.add(customer)
    audit.record(actor, customer, "customer.created", after=audit.snapshot(customer, "name", "phone"))
    return customer


def update_customer(actor: User, customer: Customer, **changes: Any) -> Customer:
    fields = [k for k in ("name", "phone", "contact_name", "email", "notes") if k in changes]
    before = audit.snapshot(customer, *fields)
    for key in fields:
        setattr(customer, key, changes[key])
    after = audit.snapshot(customer, *fields)
    if before != after:
        audit.record(actor, customer, "customer.updated", before=before, after=after)
    return customer


def searchable(q: str) -> str:
    """A search term the database accepts: PostgreSQL text cannot hold NUL."""
    return q.replace("\x00", "").strip()[:MAX_SEARCH]


def search_customers(q: str | None) -> Select[Any]:
    stmt = select(Customer).where(Customer.archived_at.is_(None))
    if q:
        term = searchable(q)
        digits = "".join(ch for ch in term if ch.isdigit())
        conditions = [Customer.name.icontains(term, autoescape=True),
                      Customer.contact_name.icontains(term, autoescape=True)]
        if len(digits) >= 3:
            conditions.append(func.replace(func.replace(Customer.phone, " ", ""), "-", "").like(f"%{digits}%"))
        stmt = stmt.where(or_(*conditions))
    return stmt


def find_customers(q: str | None, limit: int) -> list[Customer]:
    """The intake's matches for what has been typed, by name."""
    return list(db.session.scalars(search_customers(q).order_by(Customer.name).limit(limit)))


# ----------------------------------------------------------------------------- sites


def add_site(actor: User, customer: Customer, *, address: str, latitude: float | None = None,
             longitude: float | None = None) -> Site:
    if geo.check_position(latitude, longitude):
        source = "given"
    else:
        position = geo.geocode(address)
        latitude, longitude, source = position.latitude, position.longitude, position.source
    assert latitude is not None and longitude is not None
    distance = geo.distance_from_centre_km(latitude, longitude)
    site = Site(customer=customer, address=address, latitude=latitude, longitude=longitude,
                distance_km=distance, remote=geo.is_remote(distance), geocoded_by=source)
    db.session.add(site)
    audit.record(actor, site, "site.created", after=audit.snapshot(site, "address", "latitude", "longitude",
                                                                   "distance_km", "remote"))
    return site


def update_site(actor: User, site: Site, *, address: str, latitude: float | None = None,
                longitude: float | None = None) -> Site:
    """A changed address is placed again (geocoded unless coordinates are given)."""
    before = audit.snapshot(site, "address", "latitude", "longitude", "distance_km", "remote")
    if geo.check_position(latitude, longitude):
        source = "given"
    elif address == site.address:
        latitude, longitude, source = site.latitude, site.longitude, site.geocoded_by or "given"
    else:
        position = geo.geocode(address)
        latitude, longitude, source = position.latitude, position.longitude, position.source
    assert latitude is not None and longitude is not None
    site.address = address
    site.latitude, site.longitude, site.geocoded_by = latitude, longitude, source
    site.distance_km = geo.distance_from_centre_km(latitude, longitude)
    site.remote = geo.is_remote(site.distance_km)
    after = audit.snapshot(site, "address", "latitude", "longitude", "distance_km", "remote")
    if before != after:
        audit.record(actor, site, "site.updated", before=before, after=after)
    return site


# ----------------------------------------------------------------------------- equipment


def add_equipment(actor: User, customer: Customer, site: Site | None, *, model: str, serial_number: str,
                  warranty_until: date | None) -> Equipment:
    if site is None:
        raise Invalid(_("Pick (or add) the site where it stands first."),
                      fields={"site_id": _("Pick (or add) the site where it stands first.")})
    if site.customer_id != customer.id:
        raise Invalid(_("That site belongs to another customer."),
                      fields={"site_id": _("not this customer's site")})
    _check_serial_free(model, serial_number)
    equipment = Equipment(customer=customer, site=site, model=model, serial_number=serial_number,
                          warranty_until=warranty_until)
    db.session.add(equipment)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise _duplicate_serial(model, serial_number) from None
    audit.record(actor, equipment, "equipment.created",
                 after=audit.snapshot(equipment, "model", "serial_number", "warranty_until"))
    return equipment


def update_equipment(actor: User, equipment: Equipment, **changes: Any) -> Equipment:
    fields = [k for k in ("model", "serial_number", "warranty_until", "site_id") if k in changes]
    if "model" in changes or "serial_number" in changes:
        model = changes.get("model", equipment.model)
        serial = changes.get("serial_number", equipment.serial_number)
        if (model, serial) != (equipment.model, equipment.serial_number):
            _check_serial_free(model, serial)
    if "site_id" in changes and site_of(equipment.customer, changes["site_id"]) is None:
        raise Invalid(_("That site belongs to another customer."),
                      fields={"site_id": _("not this customer's site")})
    before = audit.snapshot(equipment, *fields)
    for key in fields:
        setattr(equipment, key, changes[key])
    after = audit.snapshot(equipment, *fields)
    if before != after:
        audit.record(actor, equipment, "equipment.updated", before=before, after=after)
    return equipment


def _check_serial_free(model: str, serial_number: str) -> None:
    taken = db.session.scalar(select(Equipment.id).where(Equipment.model == model,
                                                         Equipment.serial_number == serial_number))
    if taken is not None:
        raise _duplicate_serial(model, serial_number)


def _duplicate_serial(model: str, serial_number: str) -> Conflict:
    return Conflict(_("A %(model)s with serial number %(serial)s is already registered.", model=model,
                      serial=serial_number),
                    code="duplicate_serial", fields={"serial_number": _("already registered for this model")})


# ----------------------------------------------------------------------------- contracts


def create_contract(actor: User, customer: Customer, *, number: str, starts_on: date, ends_on: date,
                    equipment_ids: Sequence[int] = (), covers_parts: bool = False,
                    notes: str | None = None) -> Contract:
    if ends_on < starts_on:
        raise Invalid(_("The contract ends before it starts."), code="invalid_period",
                      fields={"ends_on": _("must be on or after the start date")})
    if db.session.scalar(select(Contract.id).where(Contract.number == number)) is not None:
        raise Conflict(_("Contract number %(number)s already exists.", number=number), code="duplicate_contract",
                       fields={"number": _("already exists")})
    equipment = []
    for eid in equipment_ids:
        item = equipment_of(customer, eid)
        if item is None:
            raise Invalid(_("Equipment %(id)s is not this customer's.", id=eid),
                          fields={"equipment_ids": _("unknown %(id)s", id=eid)})
        equipment.append(item)
    contract = Contract(customer=customer, number=number, starts_on=starts_on, ends_on=ends_on,
                        covers_parts=covers_parts, notes=notes, equipment=equipment)
    db.session.add(contract)
    audit.record(actor, contract, "contract.created",
                 after={**audit.snapshot(contract, "number", "starts_on", "ends_on", "covers_parts"),
                        "equipment_ids": [e.id for e in equipment]})
    return contract
