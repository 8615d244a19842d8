"""Distances: travel km between two positions, a site's distance from the service centre, remote or not,
and the line that says where a site is and how far."""

from __future__ import annotations

from typing import Any

from flask import current_app
from geopy.distance import great_circle

from ..core.i18n import _, locale_name


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

