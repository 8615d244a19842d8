"""Sites: distance from the service centre, the remote flag, the offline gazetteer and its cache."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from dispatch import geo
from dispatch.core.extensions import db
from dispatch.models import GeocodeCache, Site
from tests.factories import make_customer


@pytest.fixture
def desk(api: Any, dispatcher: Any) -> Any:
    return api(dispatcher)


@pytest.fixture
def customer() -> Any:
    return make_customer(name="上海测试设备有限公司")


def cache_rows() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(GeocodeCache.id))) or 0


def add_site(desk: Any, customer: Any, **body: Any) -> Any:
    return desk.post(f"/api/v1/customers/{customer.id}/sites", json=body)


def test_site_with_coordinates_gets_distance_and_remote_flag(desk, customer):
    near = add_site(desk, customer, address="1601 Nanjing West Road, Jing'an", latitude=31.2243, longitude=121.4480)
    assert near.status_code == 201, near.get_json()
    data = near.get_json()
    assert (data["latitude"], data["longitude"]) == (31.2243, 121.448)
    assert 2.0 < data["distance_km"] < 3.0
    assert data["remote"] is False
    assert data["geocoded_by"] == "given"

    far = add_site(desk, customer, address="5 Xinghu Street, Suzhou", latitude=31.30, longitude=120.72).get_json()
    assert 70 < far["distance_km"] < 80
    assert far["remote"] is True
    assert cache_rows() == 0  # coordinates given: nothing looked up


def test_distance_is_geodesic_from_the_configured_centre(app):
    from geopy.distance import geodesic

    centre = (app.config["SERVICE_CENTER_LATITUDE"], app.config["SERVICE_CENTER_LONGITUDE"])
    assert geo.distance_from_centre_km(*centre) == 0.0
    beijing = (39.9042, 116.4074)
    assert geo.distance_from_centre_km(*beijing) == round(geodesic(centre, beijing).km, 2)
    saved = app.config["SERVICE_CENTER_LATITUDE"], app.config["SERVICE_CENTER_LONGITUDE"]
    app.config["SERVICE_CENTER_LATITUDE"], app.config["SERVICE_CENTER_LONGITUDE"] = beijing
    try:
        assert geo.distance_from_centre_km(*beijing) == 0.0
    finally:
        app.config["SERVICE_CENTER_LATITUDE"], app.config["SERVICE_CENTER_LONGITUDE"] = saved


@pytest.mark.parametrize("address, place, remote", [
    ("上海市浦东新区世纪大道100号", "Pudong", False),
    ("88 Century Avenue, Pudong, Shanghai", "Pudong", False),
    ("Suzhou Industrial Park", "Suzhou", True),
])
def test_addresses_without_coordinates_use_the_offline_gazetteer(desk, customer, address, place, remote):
    r = add_site(desk, customer, address=address)
    assert r.status_code == 201, r.get_json()
    data = r.get_json()
    assert data["address"] == address
    assert data["geocoded_by"] == "offline"
    assert data["remote"] is remote
    assert (data["distance_km"] > 50) is remote
    row = db.session.scalar(select(GeocodeCache))
    assert row.display_name == place
    assert (row.latitude, row.longitude) == (data["latitude"], data["longitude"])


def test_the_cache_answers_the_second_lookup(desk, customer):
    first = add_site(desk, customer, address="88 Century Avenue, Pudong, Shanghai").get_json()
    assert cache_rows() == 1
    # The same address, spaced differently, is the same query: answered from the cache, no new row.
    second = add_site(desk, customer, address="  88 Century Avenue,   Pudong, Shanghai ").get_json()
    assert cache_rows() == 1
    assert (second["latitude"], second["longitude"]) == (first["latitude"], first["longitude"])
    # The cached answer is what is used: move it, and the next site follows the cache, not the gazetteer.
    row = db.session.scalar(select(GeocodeCache))
    row.latitude, row.longitude = 31.0, 121.0
    db.session.commit()
    third = add_site(desk, customer, address="88 Century Avenue, Pudong, Shanghai").get_json()
    assert (third["latitude"], third["longitude"]) == (31.0, 121.0)
    assert cache_rows() == 1


@pytest.mark.parametrize("address", ["Nowhere Lane 12", "xyz", "🛠️🔥", "شارع الملك فهد"])
def test_an_address_that_cannot_be_found_is_422_on_address(desk, customer, address):
    r = add_site(desk, customer, address=address)
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert error["code"] == "address_not_found"
    assert "address" in error["fields"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Site.id))) == 0


def test_site_input_is_checked(desk, customer):
    for body, field in (({"address": ""}, "address"), ({"address": "x" * 501}, "address"),
                        ({"address": "Pudong", "latitude": 91, "longitude": 121}, "latitude"),
                        ({"address": "Pudong", "latitude": 31, "longitude": -181}, "longitude"),
                        ({"address": "Pudong", "latitude": "31.2", "longitude": 121.4}, "latitude"),
                        ({"address": "Pudong", "latitude": 31.2}, "longitude"),
                        ({"address": "Pudong", "longitude": 121.4}, "latitude")):
        r = add_site(desk, customer, **body)
        assert r.status_code == 422, (body, r.get_json())
        assert field in r.get_json()["error"]["fields"], (body, r.get_json())
    assert add_site(desk, customer, address="Pudong", latitude=None, longitude=None).status_code == 201


def test_road_km_is_great_circle_times_the_road_factor(app):
    from geopy.distance import great_circle

    a, b = (31.2304, 121.4737), (31.2397, 121.4998)
    assert geo.road_km(a, b) == pytest.approx(great_circle(a, b).km * app.config["ROAD_FACTOR"])
    assert geo.road_km(a, b, road_factor=1.0) == pytest.approx(great_circle(a, b).km)


def test_gazetteer_is_a_geopy_geocoder():
    from geopy.geocoders.base import Geocoder

    coder = geo.OfflineGazetteer("CN")
    assert isinstance(coder, Geocoder)
    location = coder.geocode("Nanjing Road, Huangpu, Shanghai")
    assert location is not None
    assert 31.0 < location.latitude < 31.5  # Shanghai, not Nanjing
    assert coder.geocode("") is None


def test_coordinates_given_by_a_person_are_both_or_neither_and_on_the_map(app):
    from dispatch.core.errors import Invalid
    from dispatch.geo import check_position

    assert check_position(None, None) is False
    assert check_position(31.2, 121.5) is True
    with pytest.raises(Invalid) as missing:
        check_position(31.2, None)
    assert missing.value.fields == {"longitude": "required with the other"}
    with pytest.raises(Invalid) as off_map:
        check_position(91, -181)
    assert set(off_map.value.fields) == {"latitude", "longitude"}
