"""Test data through factory_boy, made by the real services (so audit events, categories and
geocoding happen as in the app), committed, with cheap password hashing.

The factories' `_create` calls the service instead of the model's constructor: a record made for a
test goes through the same rules as one made by a user. `make_*` are the short forms the tests use.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import factory

from dispatch.core.extensions import db
from dispatch.core.models import User
from dispatch.models import Customer, Equipment, RepairCall, Site
from dispatch.services.calls import create_call
from dispatch.services.customers import add_equipment, create_customer
from dispatch.services.sites import add_site
from dispatch.services.users import create_user

FAST_HASH = "pbkdf2:sha256:1"
PASSWORD = "correct-horse-42"


class ServiceFactory(factory.Factory):
    """A factory whose records are made by a service function and committed."""

    class Meta:
        abstract = True

    @classmethod
    def _make(cls, **kwargs: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        record = cls._make(**kwargs)
        db.session.commit()
        return record


class UserFactory(ServiceFactory):
    class Meta:
        model = User

    role = "dispatcher"
    username = factory.LazyAttributeSequence(lambda o, n: f"{o.role}{n}")
    name = factory.LazyAttribute(lambda o: o.username.title())
    password = PASSWORD

    @classmethod
    def _make(cls, **kwargs: Any) -> User:
        return create_user(None, password_method=FAST_HASH, **kwargs)


class CustomerFactory(ServiceFactory):
    class Meta:
        model = Customer

    actor = None
    name = factory.Sequence(lambda n: f"Customer {n}")
    phone = "13812345678"

    @classmethod
    def _make(cls, actor: User | None = None, **kwargs: Any) -> Customer:
        kwargs.setdefault("confirm_duplicate", True)  # tests make many customers with one phone on purpose
        return create_customer(actor, **kwargs)  # type: ignore[arg-type]


class SiteFactory(ServiceFactory):
    class Meta:
        model = Site

    customer = factory.SubFactory(CustomerFactory)
    address = "100 Century Avenue, Pudong, Shanghai"
    latitude: float | None = 31.2304
    longitude: float | None = 121.4737

    @classmethod
    def _make(cls, customer: Customer, **kwargs: Any) -> Site:
        return add_site(None, customer, **kwargs)  # type: ignore[arg-type]


class EquipmentFactory(ServiceFactory):
    class Meta:
        model = Equipment

    customer = factory.SubFactory(CustomerFactory)
    site = factory.SubFactory(SiteFactory, customer=factory.SelfAttribute("..customer"))
    model = "Carrier 30XA"
    serial_number = factory.Sequence(lambda n: f"SN-{n:05d}")
    warranty_until: date | None = None

    @classmethod
    def _make(cls, customer: Customer, site: Site | None, **kwargs: Any) -> Equipment:
        return add_equipment(None, customer, site, **kwargs)  # type: ignore[arg-type]


class RepairCallFactory(ServiceFactory):
    class Meta:
        model = RepairCall

    actor = factory.SubFactory(UserFactory)
    customer = factory.SubFactory(CustomerFactory)
    site = factory.SubFactory(SiteFactory, customer=factory.SelfAttribute("..customer"))
    equipment: Equipment | None = None
    channel = "phone"
    problem_type = "not cooling"
    priority = "normal"
    description = "Unit blows warm air."
    received_at: datetime | None = None

    @classmethod
    def _make(cls, actor: User, **kwargs: Any) -> RepairCall:
        return create_call(actor, **kwargs)


def make_user(role: str, username: str | None = None, password: str = PASSWORD, **kw: Any) -> User:
    if username is not None:
        kw["username"] = username
    return UserFactory(role=role, password=password, **kw)


def make_customer(actor: User | None = None, name: str | None = None, phone: str = "13812345678",
                  **kw: Any) -> Customer:
    if name is not None:
        kw["name"] = name
    return CustomerFactory(actor=actor, phone=phone, **kw)


def make_site(customer: Customer, address: str = "100 Century Avenue, Pudong, Shanghai",
              latitude: float | None = 31.2304, longitude: float | None = 121.4737) -> Site:
    return SiteFactory(customer=customer, address=address, latitude=latitude, longitude=longitude)


def make_equipment(customer: Customer, site: Site, model: str = "Carrier 30XA", serial: str | None = None,
                   warranty_until: date | None = None) -> Equipment:
    kw: dict[str, Any] = {"serial_number": serial} if serial is not None else {}
    return EquipmentFactory(customer=customer, site=site, model=model, warranty_until=warranty_until, **kw)


def make_call(actor: User, customer: Customer | None = None, site: Site | None = None,
              equipment: Equipment | None = None, priority: str = "normal", received_at: datetime | None = None,
              **kw: Any) -> RepairCall:
    if customer is not None:
        kw["customer"] = customer
    if site is not None:
        kw["site"] = site
    return RepairCallFactory(actor=actor, equipment=equipment, priority=priority, received_at=received_at, **kw)
