"""What a position is: the places an address may mean, how precise they are, coordinates a person gives,
and the text helpers the gazetteers share."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ..core.errors import Invalid
from ..core.i18n import _

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


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.casefold()


def ascii_name(text: str) -> str:
    text = text.replace("\u2019", "'")
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(text))


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def countries(setting: str | None) -> frozenset[str]:
    """GEOCODER_COUNTRY as a set of ISO codes; empty means every country."""
    return frozenset(c.strip().upper() for c in (setting or "").split(",") if c.strip())



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
