"""Customers' sites: placed on the map (geocoded or corrected by hand); booking deadlines follow them."""

from __future__ import annotations

from sqlalchemy import select

from .. import sla
from ..core import audit
from ..core.errors import Invalid, NotFound
from ..core.extensions import db
from ..core.i18n import N_, _
from ..core.models import User
from ..core.validate import is_id
from ..geo.distance import distance_from_centre_km, is_remote
from ..geo.geocoder import candidates, geocode, given_position
from ..geo.places import Place, Position, check_position
from ..models import CallStatus, Customer, RepairCall, Site

SITE_FIELDS = ("address", "latitude", "longitude", "distance_km", "remote", "place", "precision")


def get_site_or_404(site_id: object) -> Site:
    site = db.session.get(Site, site_id) if is_id(site_id) else None
    if site is None:
        raise NotFound(_("There is no site with id %(id)s.", id=site_id))
    return site


def site_of(customer: Customer | None, site_id: object) -> Site | None:
    """The customer's site with that id; another customer's site, or none, is None."""
    if customer is None or not is_id(site_id):
        return None
    site = db.session.get(Site, site_id)
    return site if site is not None and site.customer_id == customer.id else None


def _place(address: str, latitude: float | None, longitude: float | None) -> Position:
    """Where a site is: the coordinates a person gave (exact), else the address geocoded (422 when it is
    not found, fits several places, or names only a province or a country)."""
    if check_position(latitude, longitude):
        assert latitude is not None and longitude is not None
        return given_position(latitude, longitude)
    return geocode(address)


def _put(site: Site, position: Position) -> None:
    site.latitude, site.longitude, site.geocoded_by = position.latitude, position.longitude, position.source
    site.place, site.place_latin, site.precision = position.place, position.place_latin, position.precision
    site.distance_km = distance_from_centre_km(position.latitude, position.longitude)
    site.remote = is_remote(site.distance_km)


def add_site(actor: User, customer: Customer, *, address: str, latitude: float | None = None,
             longitude: float | None = None) -> Site:
    position = _place(address, latitude, longitude)
    site = Site(customer=customer, address=address)
    _put(site, position)
    db.session.add(site)
    audit.record(actor, site, "site.created", after=audit.snapshot(site, *SITE_FIELDS))
    return site


def update_site(actor: User, site: Site, *, address: str, latitude: float | None = None,
                longitude: float | None = None) -> Site:
    """A changed address is placed again (geocoded unless coordinates are given); the same address keeps
    its position (a correction made by hand stays)."""
    before = audit.snapshot(site, *SITE_FIELDS)
    if check_position(latitude, longitude) or address != site.address:
        _put(site, _place(address, latitude, longitude))
    site.address = address
    after = audit.snapshot(site, *SITE_FIELDS)
    if before != after:
        audit.record(actor, site, "site.updated", before=before, after=after)
        _deadlines_follow(actor, site, was_remote=bool(before["remote"]))
    return site


def site_candidates(site: Site) -> list[Place]:
    """The places the site's address may mean (the geocoder's readings), for the dispatcher to pick."""
    return candidates(site.address)


def place_site(actor: User, site: Site, *, code: str | None = None, latitude: float | None = None,
               longitude: float | None = None) -> Site:
    """The dispatcher corrects where a site is: one of the places its address may mean (`code`), or
    coordinates. The distance, the remote flag and so the booking deadline of calls to come follow."""
    if code:
        chosen = next((p for p in site_candidates(site) if p.code == code), None)
        if chosen is None:
            raise Invalid(_("That place is not one of those the address may mean; pick one from the list."),
                          code="unknown_place", fields={"code": _("pick a place from the list")})
        position = Position(chosen.latitude, chosen.longitude, "picked", chosen.precision, chosen.place,
                                chosen.place_latin)
    elif check_position(latitude, longitude):
        assert latitude is not None and longitude is not None
        position = given_position(latitude, longitude)
    else:
        raise Invalid(_("Pick a place from the list, or enter the latitude and the longitude."),
                      code="position_required", fields={"latitude": _("required")})
    before = audit.snapshot(site, *SITE_FIELDS)
    _put(site, position)
    after = audit.snapshot(site, *SITE_FIELDS)
    if before != after:
        audit.record(actor, site, "site.placed", before=before, after=after)
        _deadlines_follow(actor, site, was_remote=bool(before["remote"]))
    return site


def relocate_geocoded_sites(actor: User | None) -> list[tuple[Site, str | None]]:
    """Place again every live site the offline geocoder placed (after it changed): each with None when
    it was placed again, or the reason it was left for the dispatcher to correct on its page."""
    done: list[tuple[Site, str | None]] = []
    for site in db.session.scalars(select(Site).where(Site.archived_at.is_(None), Site.geocoded_by == "offline")
                                   .order_by(Site.id)):
        try:
            position = geocode(site.address)
        except Invalid as exc:
            done.append((site, exc.message))
            continue
        before = audit.snapshot(site, *SITE_FIELDS)
        _put(site, position)
        after = audit.snapshot(site, *SITE_FIELDS)
        if before != after:
            audit.record(actor, site, "site.placed", before=before, after=after)
            _deadlines_follow(actor, site, was_remote=bool(before["remote"]))
        done.append((site, None))
    return done


REASON_NOW_REMOTE = N_("site placed again: in a remote area")
REASON_NOT_REMOTE = N_("site placed again: not in a remote area")


def _deadlines_follow(actor: User | None, site: Site, *, was_remote: bool) -> None:
    """A site found to be (or not to be) in a remote area moves the booking deadline of its calls still
    waiting for a visit: 24 h or the remote allowance, counted from when the customer called."""
    if site.remote == was_remote:
        return
    waiting = db.session.scalars(select(RepairCall).where(
        RepairCall.site_id == site.id, RepairCall.status == CallStatus.NEW, RepairCall.on_site.is_(True),
        RepairCall.booking_deadline.is_not(None)))
    reason = REASON_NOW_REMOTE if site.remote else REASON_NOT_REMOTE
    for call in waiting:
        before = audit.snapshot(call, "booking_deadline")
        call.booking_deadline = sla.booking_deadline(call.received_at, site.remote)
        audit.record(actor, call, "call.booking_deadline", before=before,
                     after=audit.snapshot(call, "booking_deadline"), reason=reason)

