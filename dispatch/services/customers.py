"""Customers and their equipment (sites are in sites.py, service contracts in contracts.py)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..core import audit
from ..core.errors import Conflict, Invalid, NotFound
from ..core.extensions import db
from ..core.i18n import N_, _
from ..core.models import User
from ..core.validate import is_id
from ..models import Customer, Equipment, Site
from .sites import site_of

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


def equipment_of(customer: Customer | None, equipment_id: object) -> Equipment | None:
    """The customer's equipment with that id; another customer's, or none, is None."""
    equipment: Equipment | None = _owned(Equipment, equipment_id, customer)
    return equipment


# ----------------------------------------------------------------------------- customers


# A phone number as people write it: digits, spaces, + - ( ) . /, and an extension (ext. 12, x12, 转12).
_PHONE = re.compile(r"^\+?[0-9 ()./-]+?(?:\s*(?:ext\.?|x|#|转|分机)\s*[0-9]{1,6})?$", re.IGNORECASE)
PHONE_PATTERN = _PHONE.pattern


def digits_of(phone: str | None) -> str:
    return "".join(ch for ch in (phone or "") if ch.isascii() and ch.isdigit())


def check_phone(phone: str | None, field: str = "phone") -> str:
    """The phone as typed (trimmed), or 422: `<b>123</b>` is not a phone number."""
    phone = (phone or "").strip()
    main = re.split(r"(?i)\s*(?:ext\.?|x|#|转|分机)\s*(?=[0-9]+$)", phone)[0]
    if not phone or not _PHONE.match(phone) or not 5 <= len(digits_of(main)) <= 20:
        raise Invalid(_("“%(phone)s” is not a phone number: use digits, spaces, + - ( ) and an extension "
                        "(e.g. 021-6888 1234 ext. 12).", phone=phone[:60]),
                      code="invalid_phone", fields={field: _("digits, spaces, + - ( ) and an extension only")})
    return phone


class PossibleDuplicate(Conflict):
    """The customer being created may already be on file: the desk confirms before a second one is made."""

    code = "possible_duplicate"

    def __init__(self, matches: list[Customer]) -> None:
        self.matches = matches
        names = _(", ").join(c.name for c in matches[:5])
        super().__init__(_("Possible duplicate: %(names)s already on file with this name or phone. Open it, or "
                           "confirm that this is a different customer.", names=names),
                         fields={"name": _("possible duplicate")})


def possible_duplicates(name: str | None, phone: str | None, *, exclude: Customer | None = None,
                        limit: int = 10) -> list[Customer]:
    """Customers on file with the same name (case and spaces aside) or the same phone (digits compared;
    a country or trunk prefix aside, so +86 138 1234 5678 is 13812345678)."""
    conditions = []
    key = " ".join((name or "").split()).lower()
    if key:
        conditions.append(func.lower(func.trim(Customer.name)) == key)
    digits = digits_of(phone)
    if len(digits) >= 5:
        conditions.append(Customer.phone.contains(digits[-4:], autoescape=True))
    if not conditions:
        return []
    stmt = select(Customer).where(Customer.archived_at.is_(None), or_(*conditions)).order_by(Customer.id)
    if exclude is not None and exclude.id is not None:
        stmt = stmt.where(Customer.id != exclude.id)
    found = []
    for customer in db.session.scalars(stmt.limit(500)):
        theirs = digits_of(customer.phone)
        same_phone = len(digits) >= 5 and len(theirs) >= 5 and (
            theirs == digits or (min(len(theirs), len(digits)) >= 7
                                 and (theirs.endswith(digits) or digits.endswith(theirs))))
        if same_phone or " ".join(customer.name.split()).lower() == key:
            found.append(customer)
        if len(found) >= limit:
            break
    return found


def create_customer(actor: User, *, name: str, phone: str, contact_name: str | None = None,
                    email: str | None = None, notes: str | None = None,
                    confirm_duplicate: bool = False) -> Customer:
    """A new customer; one whose name or phone is already on file is refused (409 possible_duplicate)
    unless the desk confirms it is someone else."""
    phone = check_phone(phone)
    if not confirm_duplicate:
        matches = possible_duplicates(name, phone)
        if matches:
            raise PossibleDuplicate(matches)
    customer = Customer(name=name, phone=phone, contact_name=contact_name, email=email, notes=notes)
    db.session.add(customer)
    audit.record(actor, customer, "customer.created", after=audit.snapshot(customer, "name", "phone"))
    return customer


def update_customer(actor: User, customer: Customer, **changes: Any) -> Customer:
    fields = [k for k in ("name", "phone", "contact_name", "email", "notes") if k in changes]
    if "phone" in changes:
        changes["phone"] = check_phone(changes["phone"])
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
    """Customers by name, contact, phone digits, or the address of one of their sites; each with its sites (the
    lists show them) read in one more statement, not one per customer."""
    stmt = select(Customer).options(selectinload(Customer.sites)).where(Customer.archived_at.is_(None))
    if q:
        term = searchable(q)
        digits = "".join(ch for ch in term if ch.isdigit())
        conditions = [Customer.name.icontains(term, autoescape=True),
                      Customer.contact_name.icontains(term, autoescape=True),
                      Customer.id.in_(select(Site.customer_id).where(Site.archived_at.is_(None),
                                                                     Site.address.icontains(term, autoescape=True)))]
        if len(digits) >= 3:
            conditions.append(func.replace(func.replace(Customer.phone, " ", ""), "-", "").like(f"%{digits}%"))
        stmt = stmt.where(or_(*conditions))
    return stmt


def find_customers(q: str | None, limit: int) -> list[Customer]:
    """The intake's matches for what has been typed, by name."""
    return list(db.session.scalars(search_customers(q).order_by(Customer.name).limit(limit)))


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
