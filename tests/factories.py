"""Test data made through the services, committed, with cheap password hashing."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from dispatch import services
from dispatch.core.extensions import db
from dispatch.core.models import User
from dispatch.models import Customer, Equipment, RepairCall, Site

FAST_HASH = "pbkdf2:sha256:1"
PASSWORD = "correct-horse-42"
_counter = {"n": 0}


def _next() -> int:
    _counter["n"] += 1
    return _counter["n"]


def make_user(role: str, username: str | None = None, password: str = PASSWORD, **kw: Any) -> User:
    username = username or f"{role}{_next()}"
    user = services.create_user(None, username=username, password=password, name=kw.pop("name", username.title()),
                                role=role, password_method=FAST_HASH, **kw)
    db.session.commit()
    return user


def make_customer(actor: User | None = None, name: str | None = None, phone: str = "13812345678", **kw: Any) -> Customer:
    customer = services.create_customer(actor, name=name or f"Customer {_next()}", phone=phone, **kw)  # type: ignore[arg-type]
    db.session.commit()
    return customer


def make_site(customer: Customer, address: str = "100 Century Avenue, Pudong, Shanghai",
              latitude: float | None = 31.2304, longitude: float | None = 121.4737) -> Site:
    site = services.add_site(None, customer, address=address, latitude=latitude, longitude=longitude)  # type: ignore[arg-type]
    db.session.commit()
    return site


def make_equipment(customer: Customer, site: Site, model: str = "Carrier 30XA", serial: str | None = None,
                   warranty_until: date | None = None) -> Equipment:
    equipment = services.add_equipment(None, customer, site, model=model,  # type: ignore[arg-type]
                                       serial_number=serial or f"SN-{_next():05d}", warranty_until=warranty_until)
    db.session.commit()
    return equipment


def make_call(actor: User, customer: Customer | None = None, site: Site | None = None,
              equipment: Equipment | None = None, priority: str = "normal", received_at: datetime | None = None,
              **kw: Any) -> RepairCall:
    customer = customer or make_customer()
    site = site or make_site(customer)
    call = services.create_call(actor, customer=customer, site=site, equipment=equipment,
                                channel=kw.pop("channel", "phone"), problem_type=kw.pop("problem_type", "not cooling"),
                                priority=priority, description=kw.pop("description", "Unit blows warm air."),
                                received_at=received_at, **kw)
    db.session.commit()
    return call
