"""The configured geocoder (offline by default, GEOCODER=nominatim for a web one) behind geopy's interface,
and the cache: every address found is looked up once, kept with what it was understood as."""

from __future__ import annotations

from typing import Any

from flask import current_app
from geopy.location import Location
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..core.errors import Invalid
from ..core.extensions import db
from ..core.i18n import _, locale_name
from ..models import GeocodeCache
from .chinese import nearest_district
from .gazetteer import OfflineGazetteer
from .places import CITY, COUNTRY, DISTRICT, EXACT, PROVINCE, TOO_VAGUE, Place, Position


def make_geocoder() -> Any:
    kind = current_app.config["GEOCODER"]
    if kind == "offline":
        return OfflineGazetteer(current_app.config["GEOCODER_COUNTRY"])
    from geopy.extra.rate_limiter import RateLimiter
    from geopy.geocoders import get_geocoder_for_service

    cls = get_geocoder_for_service(kind)
    options: dict[str, Any] = {"user_agent": current_app.config["GEOCODER_USER_AGENT"]}
    if current_app.config.get("GEOCODER_DOMAIN"):
        options["domain"] = current_app.config["GEOCODER_DOMAIN"]
    geocoder = cls(**options)
    limited = RateLimiter(geocoder.geocode, min_delay_seconds=current_app.config["GEOCODER_MIN_DELAY_SECONDS"],
                          max_retries=1, swallow_exceptions=True)
    return _Limited(limited)


class _Limited:
    def __init__(self, geocode: Any) -> None:
        self.geocode = geocode


# What a web geocoder's answer type says of its precision (Nominatim's addresstype, Photon's type).
_WEB_PRECISION = {"country": COUNTRY, "state": PROVINCE, "province": PROVINCE, "region": PROVINCE,
                  "city": CITY, "town": CITY, "municipality": CITY, "village": DISTRICT,
                  "county": DISTRICT, "district": DISTRICT, "city_district": DISTRICT, "borough": DISTRICT,
                  "suburb": DISTRICT, "quarter": DISTRICT, "neighbourhood": DISTRICT}


def _details(location: Location) -> dict[str, Any]:
    """What a geocoder's answer was understood as, for the cache and the site."""
    raw: dict[str, Any] = location.raw if isinstance(location.raw, dict) else {}
    if "precision" in raw and "code" in raw:  # the offline geocoder says it all
        return {k: raw.get(k) for k in ("place", "place_latin", "precision", "code", "ambiguous", "candidates")}
    found = raw.get("properties")
    properties: dict[str, Any] = found if isinstance(found, dict) else {}
    kind = raw.get("addresstype") or raw.get("type") or properties.get("type") or ""
    text = location.address[:200]
    return {"place": text, "place_latin": text, "precision": _WEB_PRECISION.get(str(kind), EXACT),
            "code": f"web:{raw.get('place_id') or properties.get('osm_id') or ''}", "ambiguous": False,
            "candidates": []}


def _lookup(address: str) -> GeocodeCache:
    """The cached answer for an address, asking the configured geocoder once on a miss."""
    provider = current_app.config["GEOCODER"]
    query = " ".join(address.split())[:500]
    cached = db.session.scalar(select(GeocodeCache).where(GeocodeCache.provider == provider,
                                                          GeocodeCache.query == query))
    if cached is not None:
        return cached
    try:
        found = make_geocoder().geocode(query, exactly_one=False)
    except Exception:  # a real geocoder's network trouble is "not found" to the person typing
        current_app.logger.warning("geocoder %s failed for %r", provider, query, exc_info=True)
        found = None
    locations = [loc for loc in (found or []) if loc is not None]
    details = _details(locations[0]) if locations else None
    if details is not None and not details["candidates"]:
        details["candidates"] = [{**{k: v for k, v in _details(loc).items() if k not in ("ambiguous", "candidates")},
                                  "latitude": loc.latitude, "longitude": loc.longitude} for loc in locations[:8]]
    cached = GeocodeCache(provider=provider, query=query,
                          latitude=locations[0].latitude if locations else None,
                          longitude=locations[0].longitude if locations else None,
                          display_name=(locations[0].address[:500] if locations else None), details=details)
    if locations:  # misses are not cached: a better gazetteer or a typo fix may find it later
        try:
            with db.session.begin_nested():  # another request may have cached the same address meanwhile
                db.session.add(cached)
        except IntegrityError:
            pass
    return cached


def candidates(address: str) -> list[Place]:
    """The places an address may mean, best first (the site page offers them as corrections)."""
    cached = _lookup(address)
    out = []
    for c in ((cached.details or {}).get("candidates") or []):
        try:
            out.append(Place(float(c["latitude"]), float(c["longitude"]), str(c["precision"]), str(c["place"]),
                             str(c.get("place_latin") or c["place"]), str(c.get("code") or "")))
        except (KeyError, TypeError, ValueError):
            continue
    return [p for p in out if p.precision not in TOO_VAGUE]


def geocode(address: str) -> Position:
    """The position of an address, from the cache or the configured geocoder. Invalid (422) when it is
    not found, fits several places equally (with them named), or is only a province or a country."""
    provider = current_app.config["GEOCODER"]
    cached = _lookup(address)
    details = cached.details or {}
    if cached.latitude is None or cached.longitude is None:
        raise Invalid(_("We could not find this address on the map. Add the city or district, "
                        "or enter the coordinates."), code="address_not_found",
                      fields={"address": _("could not be geocoded; add a city or district, or coordinates")})
    if details.get("ambiguous"):
        latin = locale_name() == "en"
        names = _("; ").join(str(c.get("place_latin") if latin else c.get("place"))
                             for c in details.get("candidates") or [])
        raise Invalid(_("This address fits several places (%(places)s). Add the city, or enter the "
                        "coordinates.", places=names), code="address_ambiguous",
                      fields={"address": _("fits several places; add the city")})
    if details.get("precision") in TOO_VAGUE:
        raise Invalid(_("This address only names a province or a country (%(place)s). Add the city and "
                        "district, or enter the coordinates.", place=_place_text(details)),
                      code="address_too_vague",
                      fields={"address": _("too vague: add the city and district, or coordinates")})
    return Position(cached.latitude, cached.longitude, provider, details.get("precision"),
                    details.get("place") or cached.display_name, details.get("place_latin"))


def given_position(latitude: float, longitude: float) -> Position:
    """Coordinates a person gave: exact, named after the district they lie in where that is known."""
    near = nearest_district(latitude, longitude)
    return Position(latitude, longitude, "given", EXACT, near.place if near else None,
                    near.place_latin if near else None)



def _place_text(details: dict[str, Any]) -> str:
    latin = details.get("place_latin")
    return str(latin if latin and locale_name() == "en" else details.get("place") or "")

