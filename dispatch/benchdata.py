"""Bench data (issue 16): `flask --app dispatch bench-data --calls N [--seed S]` fills a migrated database with
a believable service company's three years: customers, sites, equipment, contracts, technicians with working
hours and time off, calls in every status, visits (never overlapping per technician), notes, work records,
signatures, charges, on-site payments, invoices with their payments and a few credit notes, carry-backs,
follow-up calls, escalations and admin time.

Written in bulk, never through the services one by one: rows are made in Python in the order the calls came in
and sent in batches, by COPY on PostgreSQL and by executemany on SQLite, each value passed through its column
type's own bind processing (so what is stored is exactly what the app would store). Ids are given here and the
sequences and the number counters (SC, VS, RC, INV, CN, CB) are set after, so the app keeps numbering on.

A top module (DESIGN.md): it writes the tables of all three packages, which it reaches through the metadata by
name. Left out: audit events (the bulk rows have no history), carry-back photos, workshop charges, contract fee
invoices and overrun explanations.
"""

from __future__ import annotations

import heapq
import math
import random
import time as clock
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from geopy.distance import EARTH_RADIUS
from sqlalchemy import Connection, func, inspect, select, text
from werkzeug.security import generate_password_hash

from . import sla
from .calendar import PUBLIC_HOLIDAYS, company_calendar, load_public_holidays
from .core.extensions import db
from .core.i18n import N_, _
from .core.models import Counter, User
from .core.numbering import PREFIXES
from .core.passwords import check_new_password
from .core.timeutil import local_tz, utcnow
from .core.types import UTCDateTime, money
from .services.reasons import (
    REASON_CONTRACT,
    REASON_CONTRACT_PARTS,
    REASON_FREE,
    REASON_NO_EQUIPMENT,
    REASON_NO_WARRANTY,
    REASON_WARRANTY_ENDED,
)

YEARS = 3
BATCH = 20_000  # rows held before the buffers are written, parents first
STAFF = ("admin", "manager", "dispatcher", "dispatcher2", "dispatcher3", "finance")
SKILLS = ("hvac", "electrical", "plumbing", "refrigeration")
# problem type, required skill, what the customer says
PROBLEMS = (
    ("not cooling", "hvac", "空调不制冷，室内温度已到30度。"), ("not heating", "hvac", "Lobby unit blows cold air."),
    ("water leak", "plumbing", "室内机漏水，滴到地面。"), ("electrical fault", "electrical", "Breaker trips on start."),
    ("alarm", "electrical", "UPS 面板报警，电池故障。"), ("temperature drift", "refrigeration", "冷库温度升到 -10 °C。"),
    ("noise", "refrigeration", "Compressor rattles at start-up."), ("inspection", None, "季度例行检查。"),
    ("defrost", "refrigeration", "蒸发器每晚结冰。"), ("no power", "electrical", "Controller dead after a power cut."),
    ("blocked drain", "plumbing", "冷凝水排水管堵塞。"), ("calibration", "electrical", "Annual calibration due."),
)
MODELS = ("Daikin VRV-X", "Carrier 30XA", "Gree GMV6", "Midea MDV", "Bitzer 4FES", "Haier HCR-8",
          "Schneider Galaxy VS", "Hisense HVR", "Trane CGAM", "York YLAA")
CITIES = ("上海", "苏州", "杭州", "南京", "无锡", "宁波")
BRANDS = "华东明星宏达新光锦江长城金桥恒通永安瑞丰嘉禾鑫源天成富源海川"
TRADES = ("科技", "食品", "酒店", "医疗", "物业", "制冷", "贸易", "餐饮", "仓储", "制药")
EN_NAMES = ("Pudong", "Bund", "Century", "Lotus", "Jade", "Harbour", "Pearl", "Golden", "Oriental", "Riverside")
EN_TRADES = ("Hotel", "Dental Clinic", "Cold Storage Co.", "Office Tower", "Foods", "Logistics", "Hospital")
SURNAMES = (("Wang", "王"), ("Li", "李"), ("Zhang", "张"), ("Liu", "刘"), ("Chen", "陈"), ("Yang", "杨"),
            ("Zhao", "赵"), ("Huang", "黄"), ("Zhou", "周"), ("Wu", "吴"), ("Xu", "徐"), ("Sun", "孙"))
GIVEN = (("Wei", "伟"), ("Fang", "芳"), ("Min", "敏"), ("Jie", "杰"), ("Qiang", "强"), ("Lei", "磊"),
         ("Jun", "军"), ("Yang", "洋"), ("Yong", "勇"), ("Yan", "艳"), ("Tao", "涛"), ("Ming", "明"))
# district, its name in Latin letters, latitude, longitude (Shanghai first; the last ones are remote)
DISTRICTS = (("浦东新区", "Pudong", 31.2354, 121.5055), ("黄浦区", "Huangpu", 31.2317, 121.4846),
             ("静安区", "Jing'an", 31.2243, 121.4480), ("徐汇区", "Xuhui", 31.1790, 121.4530),
             ("长宁区", "Changning", 31.2204, 121.4240), ("普陀区", "Putuo", 31.2490, 121.3970),
             ("虹口区", "Hongkou", 31.2646, 121.5050), ("杨浦区", "Yangpu", 31.2595, 121.5260),
             ("闵行区", "Minhang", 31.1130, 121.3810), ("宝山区", "Baoshan", 31.4050, 121.4890),
             ("嘉定区", "Jiading", 31.3750, 121.2650), ("松江区", "Songjiang", 31.0320, 121.2280),
             ("苏州工业园区", "Suzhou Industrial Park", 31.3000, 120.7200), ("杭州西湖区", "Xihu, Hangzhou", 30.2590, 120.1300))
ROADS = ("世纪大道", "南京西路", "龙华路", "沪闵路", "淮海中路", "延安西路", "四平路", "共和新路", "星湖街", "曹杨路")
NOTES = ("客户来电确认上门时间。", "Customer asked for a morning visit.", "已电话告知技术员预计到达时间。",
         "Customer will leave the key with the guard.", "客户询问进度，已答复。", "Parts on order, customer informed.")
SUMMARIES = ("更换电容，设备恢复正常。", "Cleaned the condenser, refilled refrigerant.", "Replaced the contactor.",
             "疏通排水管，试机正常。", "Reset the controller, updated firmware.", "更换压缩机启动继电器。")
TINY_PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000" "1f15c4890000000d4944415478da63f8ff"
                         "ff3f0005fe02fea7d6a9d30000000049454e44ae426082")
STATUS_ROUND = ("new", "booked", "in_progress", "carried_back", "completed", "closed", "reopened", "cancelled")
WORKSHOP_STEPS = ((0.4, "in_workshop"), (1.0, "received"), (2.5, "diagnosing"), (5.0, "waiting_parts"),
                  (7.0, "repaired"), (99.0, "ready_to_return"))


# ============================================================================ writing rows in bulk


@dataclass
class Layout:
    columns: list[str] = field(default_factory=list)
    defaults: list[tuple[str, Callable[[dict[str, Any]], Any]]] = field(default_factory=list)
    processors: list[tuple[int, Callable[[Any], Any]]] = field(default_factory=list)


def _sqlite_time(value: datetime) -> str:
    """What UTCDateTime stores on SQLite (naive UTC, microseconds always written), for an aware time."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    written = value.replace(tzinfo=None).isoformat(" ")
    return written if value.microsecond else written + ".000000"


def _default_of(default: Any) -> Callable[[dict[str, Any]], Any]:
    """A column's Python default for one row: a constant, or a callable given the row as SQLAlchemy gives the
    statement's parameters (a context-sensitive default reads the row's other values)."""
    if default.is_scalar:
        return lambda _row: default.arg
    return lambda row: default.arg(_Row(row))


class _Row:
    """What a context-sensitive column default reads: the row being inserted."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row

    def get_current_parameters(self, isolate_multiinsert_groups: bool = True) -> dict[str, Any]:
        return self.row


class Writer:
    """Rows buffered per table and written in dependency order: COPY on PostgreSQL, executemany on SQLite.
    Each value goes through its column type's bind processor first (UTC times, exact money, JSON)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self.raw: Any = connection.connection.driver_connection
        self.buffers: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.layout: dict[str, Layout] = {}
        self.counts: dict[str, int] = defaultdict(int)
        self.pending = 0
        self.order = [t.name for t in db.metadata.sorted_tables]
        self.next_ids: dict[str, int] = {}

    def new_id(self, table: str) -> int:
        if table not in self.next_ids:
            self.next_ids[table] = (self.connection.scalar(text(f"SELECT max(id) FROM {table}")) or 0) + 1
        value = self.next_ids[table]
        self.next_ids[table] = value + 1
        return value

    def add(self, table: str, row: dict[str, Any]) -> None:
        """Buffer a row. Nothing is written here: a record's rows may come children first."""
        self.buffers[table].append(row)
        self.pending += 1

    def tick(self) -> None:
        """Between records: write the buffers once they are big enough."""
        if self.pending >= BATCH:
            self.flush()

    def _layout(self, name: str, first: dict[str, Any]) -> Layout:
        """The columns written: those given and those with a Python default, if the migrated table has them
        (a model may be a migration ahead); with their defaults (called per row) and bind processors."""
        table = db.metadata.tables[name]
        present = {c["name"] for c in inspect(self.connection).get_columns(name)}
        layout = Layout()
        for column in table.columns:
            given = column.name in first
            default = column.default
            if column.name not in present or (
                    not given and (default is None or getattr(default, "is_sequence", False))):
                continue  # the database's own default (server_default, or NULL)
            if not given:
                layout.defaults.append((column.name, _default_of(default)))
            process: Callable[[Any], Any] | None = column.type._cached_bind_processor(self.dialect)
            if isinstance(column.type, UTCDateTime):
                # The hot path (a third of all values): the generator's times are aware UTC already.
                process = _sqlite_time if self.dialect.name == "sqlite" else None
            if process is not None:
                layout.processors.append((len(layout.columns), process))
            layout.columns.append(column.name)
        return layout

    def flush(self) -> None:
        for name in self.order:
            rows = self.buffers.get(name)
            if rows:
                self._write(name, rows)
                self.buffers[name] = []
        self.pending = 0

    def _write(self, name: str, rows: list[dict[str, Any]]) -> None:
        if name not in self.layout:
            self.layout[name] = self._layout(name, rows[0])
        layout = self.layout[name]
        columns, defaults, processors = layout.columns, layout.defaults, layout.processors

        def values(row: dict[str, Any]) -> list[Any]:
            for column, default in defaults:
                if column not in row:
                    row[column] = default(row)
            out = list(map(row.get, columns))
            for i, process in processors:
                if out[i] is not None:
                    out[i] = process(out[i])
            return out

        quote = self.dialect.identifier_preparer.quote
        names = ", ".join(quote(c) for c in columns)
        if self.dialect.name == "postgresql":
            with self.raw.cursor() as cursor, cursor.copy(f"COPY {quote(name)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(values(row))
        else:
            marks = ", ".join("?" for _ in columns)
            self.raw.executemany(f"INSERT INTO {quote(name)} ({names}) VALUES ({marks})", [values(r) for r in rows])
        self.counts[name] += len(rows)

    def skip_foreign_key_checks(self) -> None:
        """PostgreSQL checks each row's foreign keys by a trigger: half the server's work in a bulk load. A
        superuser may skip them for this transaction (session_replication_role; the rows are made consistent
        here, and SQLite, which keeps checking, proves it in the tests). Unique and exclusion constraints
        (no overlapping visits) still hold."""
        if self.dialect.name == "postgresql" and self.connection.scalar(text(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")):
            self.connection.execute(text("SET LOCAL session_replication_role = replica"))

    def finish(self) -> None:
        """The last rows, then every id sequence past the ids given here."""
        self.flush()
        if self.dialect.name == "postgresql":
            for name in self.counts:
                self.connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"))
        elif self.connection.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'")):
            for name in self.counts:
                self.connection.execute(text(
                    "UPDATE sqlite_sequence SET seq = (SELECT max(id) FROM " + name + ") WHERE name = :n"),
                    {"n": name})


# ============================================================================ the company


@dataclass(slots=True)
class Cust:
    id: int
    name: str
    contact: str
    tax_id: str | None
    sites: list[tuple[int, str, bool]] = field(default_factory=list)  # id, address, remote
    equipment: dict[int, list[tuple[int, date | None]]] = field(default_factory=dict)  # by site: id, warranty
    contracts: list[tuple[int, str, date, date, bool]] = field(default_factory=list)


@dataclass(slots=True)
class Tech:
    id: int
    skills: tuple[str, ...]
    hours: dict[int, tuple[time, time]]
    busy: dict[int, list[tuple[datetime, datetime]]] = field(default_factory=dict)  # local day ordinal -> spans


@dataclass
class Summary:
    calls: int = 0
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)


class Generator:
    def __init__(self, writer: Writer, calls: int, seed: int, password: str, say: Callable[[str], None]) -> None:
        self.w = writer
        self.n = calls
        self.rng = random.Random(seed)
        self.password = password
        self.say = say
        self.tz = local_tz()
        self.now = utcnow().replace(microsecond=0)
        self.start = self.now - timedelta(days=365 * YEARS)
        self.cfg = current_app.config
        self.counters: dict[tuple[str, int], int] = {}
        self.staff: dict[str, int] = {}
        self.techs: list[Tech] = []
        self.by_skill: dict[str | None, list[Tech]] = {}
        self.customers: list[Cust] = []
        self.parts: list[tuple[str, str, Decimal, Decimal]] = []
        self.statuses: dict[str, int] = defaultdict(int)
        # Invoicing: per local month of completion, per customer, the calls' charge lines and payments.
        self.to_bill: dict[tuple[int, int], dict[int, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        self.follow_ups: list[tuple[datetime, int, dict[str, Any]]] = []
        from technicians.evidence import seal_bytes  # a top module may read all three packages

        self.image_seal = seal_bytes(TINY_PNG)

    # ------------------------------------------------------------------------ small helpers

    def number(self, series: str, when: datetime) -> str:
        year = when.astimezone(self.tz).year
        key = (series, year)
        if key not in self.counters:
            self.counters[key] = db.session.scalar(
                select(Counter.value).where(Counter.series == series, Counter.year == year)) or 0
        self.counters[key] += 1
        return f"{PREFIXES.get(series, series.upper())}-{year}-{self.counters[key]:06d}"

    def local(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, self.tz).astimezone(UTC)

    def person(self) -> tuple[str, str]:
        (sl, sh), (gl, gh) = self.rng.choice(SURNAMES), self.rng.choice(GIVEN)
        return f"{sl} {gl}", f"{sh}{gh}"

    # ------------------------------------------------------------------------ people and master data

    def people(self) -> None:
        taken = db.session.scalar(select(User.id).where(User.username == "bench.dispatcher"))
        if taken is not None:
            raise ValueError(_("This database already holds bench data (user bench.dispatcher): use an empty one."))
        hashed = generate_password_hash(self.password)
        created = self.start - timedelta(days=30)
        for role in STAFF:
            uid = self.w.new_id("users")
            latin, han = self.person()
            self.staff[role] = uid
            self.w.add("users", {"id": uid, "username": f"bench.{role}", "name": f"{latin} {han} ({role})",
                                 "role": role.rstrip("23"), "password_hash": hashed, "auth_version": 1,
                                 "active": True, "skills": [], "created_at": created})
        count = min(200, max(10, self.n // 5000))
        for k in range(count):
            uid = self.w.new_id("users")
            skills = tuple(sorted({SKILLS[k % 4], *self.rng.sample(SKILLS, self.rng.randint(0, 2))}))
            latin, han = self.person()
            saturday = self.rng.random() < 0.3
            hours = {d: (time(8, 30), time(17, 30)) for d in range(5)}
            if saturday:
                hours[5] = (time(9), time(15))
            tech = Tech(uid, skills, hours)
            self.techs.append(tech)
            lat, lon = 31.23 + self.rng.uniform(-0.12, 0.12), 121.47 + self.rng.uniform(-0.15, 0.15)
            self.w.add("users", {"id": uid, "username": f"bench.tech{k + 1:03d}", "name": f"{latin} {han}",
                                 "role": "technician", "password_hash": hashed, "auth_version": 1, "active": True,
                                 "skills": list(skills), "base_latitude": lat, "base_longitude": lon,
                                 "phone": f"139{uid:08d}", "created_at": created})
            for weekday, (a, b) in hours.items():
                self.w.add("working_hours", {"id": self.w.new_id("working_hours"), "user_id": uid,
                                             "weekday": weekday, "start": a, "end": b})
        for skill in (None, *SKILLS):
            self.by_skill[skill] = [t for t in self.techs if skill is None or skill in t.skills]
        self.w.flush()

    def calendar_and_prices(self) -> None:
        """The public holidays the app knows (through the service: a few audited rows), the price list, parts."""
        admin = db.session.get(User, self.staff["admin"])
        assert admin is not None
        for year in range(self.start.year, self.now.year + 2):
            if year in PUBLIC_HOLIDAYS:
                load_public_holidays(admin, year)
        db.session.flush()
        self.calendar = company_calendar()
        from billing.services.prices import DEFAULT_PRICES  # a top module may read all three packages

        if not db.session.scalar(text("SELECT count(*) FROM prices")):
            self.w.add("prices", {"id": self.w.new_id("prices"), **DEFAULT_PRICES, "effective_from": self.start,
                                  "set_by_id": self.staff["finance"]})
        self.call_out = money(DEFAULT_PRICES["call_out_fee"])
        self.rate = money(DEFAULT_PRICES["labor_rate_per_hour"])
        self.tax_rate = Decimal(str(DEFAULT_PRICES["tax_rate"]))
        for k in range(300):
            price = money(self.rng.choice((15, 35, 60, 120, 280, 450, 980)) * (1 + self.rng.random()))
            sku, name = f"BP-{k + 1:04d}", f"{self.rng.choice(('电容', 'Contactor', '继电器', 'Fan motor', '滤网', 'Valve'))} {k + 1}"
            self.parts.append((sku, name, price, money(price * Decimal("0.6"))))
            self.w.add("parts", {"id": self.w.new_id("parts"), "sku": sku, "name": name, "unit": "pcs",
                                 "unit_price": price, "unit_cost": money(price * Decimal("0.6")),
                                 "created_at": self.start, "updated_at": self.start})

    def customers_sites(self) -> None:
        count = max(20, self.n // 5)
        rng = self.rng
        centre = (self.cfg["SERVICE_CENTER_LATITUDE"], self.cfg["SERVICE_CENTER_LONGITUDE"])
        radius = self.cfg["REMOTE_RADIUS_KM"]
        today = self.now.astimezone(self.tz).date()
        for _i in range(count):
            cid = self.w.new_id("customers")
            if rng.random() < 0.7:
                name = f"{rng.choice(CITIES)}{''.join(rng.sample(BRANDS, 2))}{rng.choice(TRADES)}有限公司"
            else:
                name = f"{rng.choice(EN_NAMES)} {rng.choice(EN_NAMES)} {rng.choice(EN_TRADES)}"
            name = f"{name} {cid}" if rng.random() < 0.3 else name
            latin, han = self.person()
            contact = han[0] + rng.choice(("经理", "先生", "女士")) if rng.random() < 0.7 else f"Mr. {latin.split()[0]}"
            phone = f"1{rng.choice('3578')}{cid:09d}" if rng.random() < 0.8 else f"021-{cid % 10**8:08d}"
            created = self.start - timedelta(days=rng.randint(1, 700))
            cust = Cust(cid, name, contact, f"91310000{cid:010d}" if rng.random() < 0.6 else None)
            self.w.add("customers", {"id": cid, "name": name, "phone": phone, "contact_name": contact,
                                     "email": f"service{cid}@example.cn" if rng.random() < 0.4 else None,
                                     "tax_id": cust.tax_id, "created_at": created})
            for _s in range(1 if rng.random() < 0.85 else rng.randint(2, 4)):
                sid = self.w.new_id("sites")
                district, latin_place, lat, lon = DISTRICTS[rng.randrange(len(DISTRICTS)) if rng.random() < 0.1
                                                            else rng.randrange(len(DISTRICTS) - 2)]
                lat, lon = lat + rng.uniform(-0.03, 0.03), lon + rng.uniform(-0.03, 0.03)
                km = round(_great_circle_km(centre, (lat, lon)), 2)
                city = "" if district.startswith(("苏州", "杭州")) else "上海市"
                address = f"{city}{district}{rng.choice(ROADS)}{rng.randint(1, 3000)}号"
                cust.sites.append((sid, address, km > radius))
                self.w.add("sites", {"id": sid, "customer_id": cid, "address": address, "latitude": lat,
                                     "longitude": lon, "distance_km": km, "remote": km > radius,
                                     "geocoded_by": "given", "place": f"{city}{district}", "place_latin":
                                     latin_place if city == "" else f"{latin_place}, Shanghai",
                                     "precision": "exact", "created_at": created})
                units = []
                for _e in range(rng.randint(1, 3)):
                    eid = self.w.new_id("equipment")
                    installed = today - timedelta(days=rng.randint(0, 365 * 6))
                    warranty = installed + timedelta(days=365 * rng.randint(1, 3)) if rng.random() < 0.8 else None
                    units.append((eid, warranty))
                    self.w.add("equipment", {"id": eid, "customer_id": cid, "site_id": sid,
                                             "model": rng.choice(MODELS), "serial_number": f"SN-{eid:08d}",
                                             "warranty_until": warranty, "created_at": created})
                cust.equipment[sid] = units
            if rng.random() < 0.12:
                first = today - timedelta(days=rng.randint(180, 365 * 4))
                parts = rng.random() < 0.3
                period, fee = rng.choice(("monthly", "quarterly", "yearly")), money(rng.randint(20, 200) * 100)
                while first <= today:
                    kid = self.w.new_id("contracts")
                    last = first + timedelta(days=364)
                    number = f"MC-{kid:06d}"
                    cust.contracts.append((kid, number, first, last, parts))
                    self.w.add("contracts", {"id": kid, "customer_id": cid, "number": number, "starts_on": first,
                                             "ends_on": last, "covers_parts": parts, "fee": fee,
                                             "billing_period": period,
                                             "created_at": self.local(first, time(9)) - timedelta(days=10)})
                    first = last + timedelta(days=1)
            self.customers.append(cust)
            self.w.tick()

    def time_off_and_admin(self) -> None:
        first, last = self.start.astimezone(self.tz).date(), self.now.astimezone(self.tz).date() + timedelta(days=30)
        for tech in self.techs:
            day = first + timedelta(days=self.rng.randint(0, 120))
            while day < last:
                length = self.rng.randint(1, 4)
                starts, ends = self.local(day, time(0)), self.local(day + timedelta(days=length), time(0))
                self.w.add("time_off", {"id": self.w.new_id("time_off"), "user_id": tech.id, "starts_at": starts,
                                        "ends_at": ends, "reason": self.rng.choice(("年假", "Training", "病假"))})
                for k in range(length):
                    d = day + timedelta(days=k)
                    tech.busy.setdefault(d.toordinal(), []).append(
                        (self.local(d, time(0)), self.local(d + timedelta(days=1), time(0))))
                day += timedelta(days=self.rng.randint(60, 150))
            week = first
            while week < last - timedelta(days=30):
                self.w.add("admin_work", {"id": self.w.new_id("admin_work"), "technician_id": tech.id,
                                          "date": week + timedelta(days=self.rng.randint(0, 4)),
                                          "activity": self.rng.choice(("inspection", "parts", "tools", "training",
                                                                       "other")),
                                          "minutes": self.rng.choice((30, 60, 90, 120, 240)), "notes": "",
                                          "logged_by_id": self.staff["manager"],
                                          "created_at": self.local(week, time(18))})
                week += timedelta(days=7)
            self.w.tick()

    # ------------------------------------------------------------------------ the calls

    def received_times(self) -> list[datetime]:
        """Over three years, weekdays busier, the business growing; at least 40 in the last four days."""
        rng = self.rng
        first = self.start.astimezone(self.tz).date()
        days = [first + timedelta(days=k) for k in range((self.now.astimezone(self.tz).date() - first).days + 1)]
        weights = [(1.0 if d.weekday() < 5 else 0.45) * (0.75 + 0.5 * k / len(days)) for k, d in enumerate(days)]
        recent = max(40, self.n * 4 // (365 * YEARS))
        picked = rng.choices(days[:-4], weights=weights[:-4], k=self.n - recent) + rng.choices(days[-4:], k=recent)
        out = []
        for day in picked:
            minute = int(rng.triangular(7 * 60, 21 * 60, 10 * 60)) if rng.random() < 0.95 else rng.randrange(1440)
            at = self.local(day, time(minute // 60, minute % 60, rng.randrange(60)))
            out.append(at if at < self.now else self.now - timedelta(minutes=rng.randint(1, 360)))
        out.sort()
        return out

    def categorise(self, cust: Cust, eq: tuple[int, date | None] | None, on: date) -> tuple[str, str, Any]:
        """As dispatch.services.calls.categorise decides, on the generated customer's records."""
        if eq is not None and eq[1] is not None and on <= eq[1]:
            return "free", REASON_FREE % {"date": eq[1].isoformat()}, None
        for contract in cust.contracts:
            if contract[2] <= on <= contract[3]:
                reason = REASON_CONTRACT_PARTS if contract[4] else REASON_CONTRACT
                return "contract", reason % {"number": contract[1], "date": contract[3].isoformat()}, contract
        if eq is not None and eq[1] is not None:
            return "charged", REASON_WARRANTY_ENDED % {"date": eq[1].isoformat()}, None
        return "charged", REASON_NO_WARRANTY if eq is not None else REASON_NO_EQUIPMENT, None

    def slot(self, tech: Tech, earliest: datetime, minutes: int, horizon_days: int = 21) -> tuple[datetime, datetime] | None:
        """The first free span of `minutes` from `earliest` in the technician's working hours (30 minutes of
        travel kept between visits), or None within the horizon."""
        travel = timedelta(minutes=30)
        length = timedelta(minutes=minutes)
        day = earliest.astimezone(self.tz).date()
        for _k in range(horizon_days):
            hours = tech.hours.get(day.weekday()) if self.calendar.is_working_day(day) or day.weekday() == 5 else None
            if hours is not None:
                open_, close = self.local(day, hours[0]), self.local(day, hours[1])
                at = max(earliest, open_)
                at = at + timedelta(minutes=(-at.minute) % 15, seconds=-at.second)
                for a, b in sorted(tech.busy.get(day.toordinal(), ())):
                    if at + length + travel <= a:
                        break
                    at = max(at, b + travel)
                if at + length <= close:
                    return at, at + length
            day += timedelta(days=1)
        return None

    def take(self, tech: Tech, start: datetime, end: datetime) -> None:
        tech.busy.setdefault(start.astimezone(self.tz).date().toordinal(), []).append((start, end))

    def free_now(self, minutes: int) -> tuple[Tech, datetime, datetime] | None:
        """A technician free around now, for a visit in progress (any hour: an urgent call)."""
        start = self.now - timedelta(minutes=40)
        start -= timedelta(minutes=start.minute % 15, seconds=start.second)
        end = start + timedelta(minutes=minutes)
        for tech in self.rng.sample(self.techs, len(self.techs)):
            spans = [s for d in (start, end) for s in tech.busy.get(d.astimezone(self.tz).date().toordinal(), ())]
            if all(b + timedelta(minutes=30) <= start or end + timedelta(minutes=30) <= a for a, b in spans):
                self.take(tech, start, end)
                return tech, start, end
        return None

    def calls(self) -> None:
        """Every call in the order it came in (follow-up calls slotted in when their visit ended)."""
        recent_from = self.now - timedelta(days=4)
        forced = 0
        last_month = None
        for k, received in enumerate(self.received_times()):
            while self.follow_ups and self.follow_ups[0][0] <= received:
                at, _cid, parent = heapq.heappop(self.follow_ups)
                self.call(at, None, parent)
            month = received.astimezone(self.tz).month
            if month != last_month:
                self.bill_months_before(received - timedelta(days=5))
                last_month = month
            target = None
            if received >= recent_from:
                target = STATUS_ROUND[forced % len(STATUS_ROUND)] if forced < 3 * len(STATUS_ROUND) else None
                forced += 1
            self.call(received, target, None)
            if k % 5000 == 0:
                self.forget_before(received - timedelta(days=2))
        while self.follow_ups:
            at, _cid, parent = heapq.heappop(self.follow_ups)
            self.call(min(at, self.now), None, parent)
        self.bill_months_before(self.now)
        self.leave_unbilled()

    def forget_before(self, when: datetime) -> None:
        """Days no later visit can land on any more (memory stays flat at a million calls)."""
        cutoff = when.astimezone(self.tz).date().toordinal()
        for tech in self.techs:
            for day in [d for d in tech.busy if d < cutoff]:
                del tech.busy[day]

    def keep(self, row: dict[str, Any], parent: dict[str, Any] | None, notes: list[Any]) -> None:
        """The call's own row, the work record of the visit that asked for it, its notes; then maybe a write."""
        self.w.add("repair_calls", row)
        if parent is not None:
            self.w.add("work_records", parent["record"])
        self.add_notes(row["id"], notes)
        self.statuses[row["status"]] += 1
        self.w.tick()

    def call(self, received: datetime, target: str | None, parent: dict[str, Any] | None) -> None:
        rng, w, now = self.rng, self.w, self.now
        cust = parent["customer"] if parent else self.customers[int(len(self.customers) * rng.random() ** 1.7)]
        site = parent["site"] if parent else rng.choice(cust.sites)
        units = cust.equipment.get(site[0]) or []
        eq = parent["equipment"] if parent else (rng.choice(units) if units and rng.random() < 0.85 else None)
        problem, skill, description = parent["problem"] if parent else rng.choice(PROBLEMS)
        priority = rng.choices(("urgent", "high", "normal", "low"), (5, 15, 65, 15))[0]
        on_site = target is not None or parent is not None or rng.random() < 0.95
        day = received.astimezone(self.tz).date()
        category, reason, contract = self.categorise(cust, eq, day)
        cid = w.new_id("repair_calls")
        row: dict[str, Any] = {
            "id": cid, "number": self.number("call", received), "customer_id": cust.id, "site_id": site[0],
            "equipment_id": eq[0] if eq else None, "parent_call_id": parent["call_id"] if parent else None,
            "channel": rng.choices(("phone", "email", "web", "messaging", "walk_in"), (70, 8, 10, 10, 2))[0],
            "problem_type": problem, "priority": priority, "description": description, "on_site": on_site,
            "required_skill": skill, "status": "new", "category": category, "category_reason": reason,
            "category_overridden": False, "contract_id": contract[0] if contract else None, "received_at": received,
            "booking_deadline": sla.booking_deadline(received, site[2]) if on_site else None,
            "response_deadline": sla.response_deadline(received, priority, self.calendar),
            "resolution_deadline": sla.resolution_deadline(received, priority, self.calendar),
            "created_by_id": self.staff[rng.choice(("dispatcher", "dispatcher2", "dispatcher3"))],
            "created_at": received, "updated_at": received,
        }
        age = now - received
        fate = target or ("cancelled" if rng.random() < 0.05 else
                          "new" if age < timedelta(hours=5) and rng.random() < 0.5 else None)
        notes = []
        if fate in ("new", "cancelled") or not on_site:
            if fate == "cancelled" or (fate is None and age > timedelta(days=2)):
                if fate is None:  # answered on the phone: closed without a visit
                    done = received + timedelta(minutes=rng.randint(10, 240))
                    row.update(status="closed", responded_at=done, completed_at=done, closed_at=min(now, done),
                               solved=True, feedback_at=done, updated_at=done)
                else:
                    at = min(now, received + timedelta(minutes=rng.randint(5, 600)))
                    row.update(status="cancelled", cancelled_at=at, cancel_reason=rng.choice(
                        ("customer fixed it themselves", "duplicate of another call", "not a repair: sales")),
                        updated_at=at)
            notes.append((received + timedelta(minutes=3), "phone", rng.choice(NOTES),
                          received + timedelta(hours=rng.randint(2, 30)) if row["status"] == "new" else None))
            self.keep(row, parent, notes)
            return
        minutes = rng.choice((45, 60, 60, 90, 90, 120))
        delay = timedelta(minutes=rng.randint(30, 150)) if priority in ("urgent", "high") else \
            timedelta(hours=rng.randint(2, 30)) if rng.random() < 0.8 else timedelta(days=rng.randint(2, 6))
        earliest = received + delay
        placed = None
        if target == "in_progress" and received < now - timedelta(hours=1):
            placed = self.free_now(minutes)
        elif target in ("carried_back", "completed", "closed", "reopened"):
            earliest = received + timedelta(minutes=rng.randint(20, 90))
        elif target == "booked":
            earliest = max(earliest, now + timedelta(hours=1))
        if placed is None:
            best = None
            for tech in rng.sample(self.by_skill[skill], min(3, len(self.by_skill[skill]))):
                found = self.slot(tech, earliest, minutes)
                if found is not None and (best is None or found[0] < best[1]):
                    best = (tech, found[0], found[1])
            if best is None:  # nobody free within three weeks: waits on the board
                self.keep(row, parent, notes)
                return
            placed = best
            self.take(*placed)
        tech, start, end = placed
        booked = min(max(received + timedelta(minutes=rng.randint(3, 50)), received), start - timedelta(minutes=5),
                     now - timedelta(minutes=1))
        booked = max(booked, received)
        vid = w.new_id("visits")
        late = row["booking_deadline"] is not None and start > row["booking_deadline"]
        visit: dict[str, Any] = {
            "id": vid, "call_id": cid, "technician_id": tech.id, "slip_number": self.number("slip", start),
            "start": start, "end": end, "status": "scheduled", "print_count": 0, "voucher_print_count": 0,
            "additional": False, "customer_requested": late, "override_reason":
            "customer asked for that day" if late else (None if target != "in_progress" else "urgent: sent now"),
            "former_technician_ids": [], "kind": "service", "created_by_id": row["created_by_id"],
            "created_at": booked, "updated_at": booked,
        }
        row.update(status="booked", booked_at=booked, responded_at=booked, updated_at=booked)
        notes.append((booked + timedelta(minutes=2), "phone", rng.choice(NOTES), None))
        if fate == "cancelled":  # booked, then called off
            at = min(now, booked + timedelta(hours=rng.randint(1, 20)))
            visit.update(status="cancelled", cancel_reason="call cancelled", updated_at=at)
            row.update(status="cancelled", cancelled_at=at, cancel_reason="customer fixed it themselves",
                       updated_at=at)
        elif start > now:
            if start - now < timedelta(minutes=30):
                visit["status"] = "on_the_way"
                self.event(vid, "on_my_way", now - timedelta(minutes=5), tech.id)
            if rng.random() < 0.3:
                notes.append((booked + timedelta(minutes=20), "phone", rng.choice(NOTES),
                              start - timedelta(hours=2)))
        elif end > now:
            visit.update(status="on_site", print_count=1)
            row.update(status="in_progress")
            self.event(vid, "on_my_way", start - timedelta(minutes=25), tech.id)
            self.event(vid, "arrived", start, tech.id)
        else:
            self.done(row, visit, tech, cust, site, eq, problem, skill, description, target, parent, notes)
        w.add("visits", visit)
        self.keep(row, parent, notes)

    def done(self, row: dict[str, Any], visit: dict[str, Any], tech: Tech, cust: Cust, site: Any, eq: Any,
             problem: str, skill: str | None, description: str, target: str | None, parent: Any,
             notes: list[Any]) -> None:
        """The visit took place: work record, signature, charges, maybe money, the follow-up call (回访)."""
        rng, w, now = self.rng, self.w, self.now
        cid, vid, start, end = row["id"], visit["id"], visit["start"], visit["end"]
        visit.update(status="completed", print_count=1, voucher_print_count=1, updated_at=end)
        outcome = "carry_back" if target == "carried_back" else "fixed" if target or parent else \
            rng.choices(("fixed", "carry_back", "follow_up"), (93, 3, 4))[0]
        labor = int((end - start).total_seconds() // 60)
        signed = end + timedelta(minutes=2)
        for kind, at in (("on_my_way", start - timedelta(minutes=25)), ("arrived", start), ("completed", end),
                         ("signed", signed)):
            self.event(vid, kind, at, tech.id)
        record = {"id": w.new_id("work_records"), "visit_id": vid, "call_id": cid,
                  "work_summary": rng.choice(SUMMARIES), "labor_minutes": labor, "outcome": outcome,
                  "completed_at": end, "completed_by_id": tech.id, "sealed_at": signed}
        lines = self.charges(row, vid, labor, tech.id, signed)
        content = canonical({"slip_number": visit["slip_number"], "call_number": row["number"], "customer": cust.name,
                             "work_summary": record["work_summary"], "labor_minutes": labor, "outcome": outcome,
                             "parts": [{"sku": ln["sku"], "description": ln["description"],
                                        "quantity": str(ln["quantity"])} for ln in lines if ln["kind"] == "part"],
                             "signer": cust.contact})
        w.add("signatures", {"id": w.new_id("signatures"), "visit_id": vid, "signer_name": cust.contact,
                             "image_png": TINY_PNG, "image_sha256": self.image_seal,
                             "signed_content": content, "content_sha256": sealed(content),
                             "signed_at": signed, "technician_id": tech.id, "technician_confirmed_at": signed})
        row.update(status="in_progress", updated_at=end)
        finished = end
        if outcome == "carry_back":
            finished = self.carry_back(row, visit, tech, cust, eq, signed, in_workshop=target is not None)
        elif outcome == "follow_up":
            heapq.heappush(self.follow_ups, (end + timedelta(minutes=10), cid, {
                "customer": cust, "site": site, "equipment": eq, "problem": (problem, skill, description),
                "call_id": cid, "record": record}))
        if outcome != "follow_up":
            w.add("work_records", record)
        if finished is None:
            self.bill(row, lines, None)
            return
        row.update(status="completed", completed_at=finished, updated_at=finished)
        feedback = finished + timedelta(minutes=rng.randint(30, 60 * 30))
        if target in ("closed", "reopened") and finished < now - timedelta(minutes=2):
            feedback = min(feedback, now - timedelta(minutes=1))
        if target == "completed" or feedback >= now:
            self.bill(row, lines, finished)
            return
        # Not solved, the call reopens (and, weeks later, has long been closed after another visit: kept simple).
        solved = target != "reopened" and (target == "closed" or now - feedback > timedelta(days=14)
                                           or rng.random() < 0.97)
        rating = rng.choices((5, 4, 3, 2, 1), (60, 28, 8, 3, 1))[0] if solved else rng.choice((1, 2))
        row.update(solved=solved, rating=rating, feedback_at=feedback, updated_at=feedback,
                   feedback_comment=rng.choice((None, None, "师傅很专业。", "Fast and tidy work.", "Came late.")))
        notes.append((feedback, "phone", f"回访：{'已解决' if solved else '未解决'}，评分 {rating}。", None))
        if solved:
            row.update(status="closed", closed_at=feedback)
        else:
            row.update(status="reopened", reopened_at=feedback)
            self.escalate(cid, "reopened", feedback)
        if rating <= 2 and solved:
            self.escalate(cid, "unsatisfied", feedback)
        self.bill(row, lines, finished)

    def carry_back(self, row: dict[str, Any], visit: dict[str, Any], tech: Tech, cust: Cust, eq: Any,
                   signed: datetime, in_workshop: bool = False) -> datetime | None:
        """The item goes to the workshop; returned (and the call finished) once its time has come."""
        rng, w, now = self.rng, self.w, self.now
        cbid = w.new_id("carry_backs")
        back = signed + timedelta(days=rng.uniform(3, 14))
        if in_workshop:
            back = max(back, now + timedelta(days=1))
        receipt = canonical({"number": "", "item": "controller board", "customer": cust.name, "visit":
                             visit["slip_number"], "signer": cust.contact})
        cb: dict[str, Any] = {
            "id": cbid, "number": self.number("carry", signed), "visit_id": visit["id"], "call_id": row["id"],
            "item": rng.choice(("控制板", "Compressor relay", "显示面板", "Fan motor")), "model": "", "serial_number":
            f"SN-{eq[0]:08d}" if eq else "", "accessories": "", "condition": "外观完好", "stated_fault": row["description"],
            "promised_return_on": (signed + timedelta(days=14)).astimezone(self.tz).date(),
            "taken_by_id": tech.id, "assigned_to_id": self.techs[0].id, "receipt_signer_name": cust.contact,
            "receipt_signature_png": TINY_PNG, "receipt_signed_at": signed, "receipt_signed_content": receipt,
            "receipt_sha256": sealed(receipt), "created_at": signed,
            "updated_at": signed,
        }
        steps: list[tuple[str, str | None, str, datetime]] = [("status", None, "in_workshop", signed)]
        received = signed + timedelta(hours=rng.randint(2, 20))
        if back < now:
            returned = canonical({"number": cb["number"], "returned": back.isoformat(), "signer": cust.contact})
            cb.update(status="returned", received_at=received, received_by_id=self.staff["dispatcher"],
                      return_method="pickup", returned_at=back, return_signer_name=cust.contact,
                      return_signature_png=TINY_PNG, return_signed_content=returned,
                      return_sha256=sealed(returned), updated_at=back)
            steps += [("received", "in_workshop", "received", received), ("status", "received", "repaired",
                                                                          back - timedelta(days=1)),
                      ("returned", "repaired", "returned", back)]
        else:
            days = (now - signed).total_seconds() / 86400
            status = next(s for limit, s in WORKSHOP_STEPS if days < limit)
            cb.update(status=status, updated_at=now - timedelta(hours=1))
            if status != "in_workshop":
                cb.update(received_at=min(received, now), received_by_id=self.staff["dispatcher"])
                steps.append(("received", "in_workshop", "received", min(received, now)))
                if status != "received":
                    steps.append(("status", "received", status, now - timedelta(hours=1)))
        w.add("carry_backs", cb)
        for kind, before, after, at in steps:
            w.add("carry_back_events", {"id": w.new_id("carry_back_events"), "carry_back_id": cbid, "kind": kind,
                                        "from_status": before, "to_status": after, "note": "", "actor_id": tech.id,
                                        "at": at})
        row.update(status="carried_back", updated_at=signed)
        return back if back < now else None

    def charges(self, row: dict[str, Any], vid: int, labor: int, tech_id: int, signed: datetime) -> list[dict[str, Any]]:
        """The visit's charge lines as billing.services.charges.record_work writes them, locked at sign-off."""
        category, rng = row["category"], self.rng
        by = None
        if category == "free":
            by = row["category_reason"]
        elif category == "contract":
            by = f"contract {row['category_reason'].split()[3]}"
        parts_covered = category == "free" or (category == "contract" and "parts included" in row["category_reason"])
        amount = money(Decimal(labor) * self.rate / Decimal(60))
        lines: list[tuple[str, str | None, str, Decimal, int | None, Decimal, Decimal, bool]] = [
            ("call_out", None, "Call-out fee", Decimal(1), None, self.call_out, self.call_out, category != "charged"),
                 ("labor", None, f"Labor {labor} min at {self.rate}/h",
                  (Decimal(labor) / Decimal(60)).quantize(Decimal("0.0001")), labor, self.rate, amount,
                  category != "charged")]
        if rng.random() < 0.4:
            part = rng.choice(self.parts)
            count = rng.choice((1, 1, 2))
            lines.append(("part", part[0], part[1], Decimal(count), None, part[2], money(part[2] * count),
                          parts_covered))
        out = []
        for kind, sku, desc, qty, minutes, unit, total, covered in lines:
            out.append({"id": self.w.new_id("charge_lines"), "call_id": row["id"], "visit_id": vid, "kind": kind,
                        "sku": sku, "description": desc, "quantity": qty, "labor_minutes": minutes,
                        "unit_price": unit, "amount": total, "cost": total if kind != "part" else money(total * Decimal("0.6")),
                        "covered": covered, "covered_by": by if covered else None, "created_by_id": tech_id,
                        "created_at": signed, "locked_at": signed, "source": "site", "invoice_id": None})
        return out

    # ------------------------------------------------------------------------ money

    def bill(self, row: dict[str, Any], lines: list[dict[str, Any]], finished: datetime | None) -> None:
        """On-site money for some charged calls; the lines wait for their month's invoice if anything is due."""
        due = money(sum((ln["amount"] for ln in lines if not ln["covered"]), Decimal(0)))
        payment = None
        if due > 0 and self.rng.random() < 0.35:
            at = lines[0]["created_at"] + timedelta(minutes=3)
            total = due + money(due * self.tax_rate)
            method = self.rng.choice(("cash", "card", "wechat", "wechat", "alipay"))
            old = self.now - at
            payment = {"id": self.w.new_id("payments"), "call_id": row["id"], "visit_id": lines[0]["visit_id"],
                       "amount": total, "method": method, "receipt_number": self.number("receipt", at),
                       "collected_by_id": lines[0]["created_by_id"], "collected_at": at,
                       "handed_in_at": at + timedelta(hours=6) if old > timedelta(days=1) else None,
                       "handed_in_to_id": self.staff["finance"] if old > timedelta(days=1) else None,
                       "reconciled_at": at + timedelta(days=2) if old > timedelta(days=4) else None,
                       "reconciled_by_id": self.staff["finance"] if old > timedelta(days=4) else None}
            self.w.add("payments", payment)
        if due <= 0 or finished is None:
            for line in lines:
                self.w.add("charge_lines", line)
            return
        local = finished.astimezone(self.tz)
        self.to_bill[(local.year, local.month)][row["customer_id"]].append(
            {"call": row, "lines": lines, "payment": payment, "due": due})

    def bill_months_before(self, until: datetime) -> None:
        """Invoice each month's finished calls, per customer, on the 3rd of the next month (if that has come)."""
        for month in sorted(self.to_bill):
            year, m = month
            issue_day = date(year + (m == 12), m % 12 + 1, 3)
            issued = self.local(issue_day, time(10))
            if issued >= until or issued >= self.now:
                break
            for customer_id, calls in self.to_bill.pop(month).items():
                self.invoice(customer_id, calls, issued + timedelta(minutes=self.rng.randint(0, 400)))

    def invoice(self, customer_id: int, calls: list[dict[str, Any]], issued: datetime, again: bool = False) -> None:
        rng, w = self.rng, self.w
        iid = w.new_id("invoices")
        subtotal = money(sum((c["due"] for c in calls), Decimal(0)))
        tax = money(subtotal * self.tax_rate)
        first = calls[0]["call"]
        cust = self.customer(customer_id)
        void = not again and rng.random() < 0.005
        inv = {"id": iid, "number": self.number("invoice", issued), "customer_id": customer_id, "kind": "calls",
               "status": "void" if void else "issued", "issued_at": issued, "issued_by_id": self.staff["finance"],
               "due_on": issued.astimezone(self.tz).date() + timedelta(days=int(self.cfg["PAYMENT_TERMS_DAYS"])),
               "currency": "CNY", "tax_rate": self.tax_rate, "subtotal": subtotal, "tax": tax, "total": subtotal + tax,
               "buyer_name": cust.name, "buyer_address": next(a for s, a, _r in cust.sites if s == first["site_id"]),
               "buyer_tax_id": cust.tax_id, "seller_name": self.cfg.get("COMPANY_NAME") or "",
               "seller_address": self.cfg.get("COMPANY_ADDRESS") or None,
               "seller_tax_id": self.cfg.get("COMPANY_TAX_ID") or None,
               "seller_bank": self.cfg.get("COMPANY_BANK_ACCOUNT") or None}
        if void:
            at = issued + timedelta(days=2)
            inv.update(void_reason="wrong buyer tax id", voided_at=at, voided_by_id=self.staff["finance"])
        w.add("invoices", inv)
        position = 0
        for entry in calls:
            for line in entry["lines"]:
                position += 1
                w.add("invoice_lines", {"id": w.new_id("invoice_lines"), "invoice_id": iid,
                                        "call_id": entry["call"]["id"], "charge_line_id": line["id"],
                                        "description": line["description"], "quantity": line["quantity"],
                                        "unit_price": line["unit_price"], "amount": line["amount"],
                                        "covered": line["covered"], "covered_by": line["covered_by"],
                                        "category": entry["call"]["category"], "position": position,
                                        "kind": line["kind"], "unit": "pcs" if line["kind"] == "part" else
                                        "visit" if line["kind"] == "call_out" else "h"})
        if void:
            at = issued + timedelta(days=2)
            w.add("credit_notes", {"id": w.new_id("credit_notes"), "number": self.number("credit", at),
                                   "invoice_id": iid, "reason": "wrong buyer tax id", "amount": subtotal + tax,
                                   "issued_at": at, "issued_by_id": self.staff["finance"]})
            self.invoice(customer_id, calls, at + timedelta(minutes=10), again=True)
            return
        paid = Decimal(0)
        for entry in calls:
            line_rows = entry["lines"]
            for line in line_rows:
                line["invoice_id"] = iid
                w.add("charge_lines", line)
            p = entry["payment"]
            if p is not None:
                paid += p["amount"]
                w.add("invoice_payments", {"id": w.new_id("invoice_payments"), "invoice_id": iid,
                                           "amount": p["amount"], "method": p["method"], "paid_at": p["collected_at"],
                                           "received_by_id": p["collected_by_id"], "reference": p["receipt_number"],
                                           "onsite_payment_id": p["id"]})
        rest = subtotal + tax - paid
        at = issued + timedelta(days=rng.randint(5, 45))
        if rest > 0 and at < self.now and rng.random() < 0.9:
            w.add("invoice_payments", {"id": w.new_id("invoice_payments"), "invoice_id": iid, "amount": rest,
                                       "method": "transfer", "paid_at": at, "received_by_id": self.staff["finance"],
                                       "reference": f"BANK-{iid:08d}"})

    def customer(self, customer_id: int) -> Cust:
        if not hasattr(self, "_by_id"):
            self._by_id = {c.id: c for c in self.customers}
        return self._by_id[customer_id]

    def leave_unbilled(self) -> None:
        """The last weeks' finished calls wait on finance's to-invoice list."""
        for month in list(self.to_bill):
            for calls in self.to_bill.pop(month).values():
                for entry in calls:
                    for line in entry["lines"]:
                        self.w.add("charge_lines", line)

    # ------------------------------------------------------------------------ small rows

    def event(self, vid: int, kind: str, at: datetime, actor: int) -> None:
        self.w.add("visit_events", {"id": self.w.new_id("visit_events"), "visit_id": vid, "kind": kind, "at": at,
                                    "actor_id": actor})

    def add_notes(self, cid: int, notes: list[tuple[datetime, str, str, datetime | None]]) -> None:
        author = self.staff["dispatcher"]
        for at, channel, body, follow in notes:
            complaint = self.rng.random() < 0.01
            self.w.add("call_notes", {"id": self.w.new_id("call_notes"), "call_id": cid, "author_id": author,
                                      "at": min(at, self.now), "channel": channel, "text": body,
                                      "next_follow_up": follow, "kind": "complaint" if complaint else None,
                                      "promise": None, "promised_by": None, "escalated_authority": False,
                                      "safety_risk": False})

    def escalate(self, cid: int, reason: str, at: datetime) -> None:
        old = self.now - at > timedelta(days=3)
        self.w.add("escalations", {"id": self.w.new_id("escalations"), "call_id": cid, "reason": reason,
                                   "detail": None, "raised_at": at,
                                   "acknowledged_at": at + timedelta(hours=5) if old else None,
                                   "acknowledged_by_id": self.staff["manager"] if old else None})

    # ------------------------------------------------------------------------ counters

    def save_counters(self) -> None:
        for (series, year), value in self.counters.items():
            found = db.session.get(Counter, (series, year))
            if found is None:
                db.session.add(Counter(series=series, year=year, value=value))
            else:
                found.value = max(found.value, value)
        db.session.flush()


def _great_circle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """geopy's great_circle distance without its Point parsing (a tenth of the customers phase at 1M calls)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS * math.asin(math.sqrt(h))


def canonical(content: dict[str, Any]) -> str:
    """Canonical JSON as a signed record keeps it (technicians.services.signoff.canonical_json)."""
    from technicians.services.signoff import canonical_json

    return canonical_json(content)


def sealed(content: str) -> str:
    """The seal the app puts on signed content (keyed with this instance's evidence key), so `flask audit
    verify` accepts the generated vouchers, receipts and returns."""
    from technicians.services.signoff import content_hash

    return content_hash(content)


def generate(calls: int, seed: int = 16, password: str = "bench-password",
             say: Callable[[str], None] = print) -> Summary:
    """Fill the database in the caller's app context and transaction (the caller commits); returns what was
    written."""
    if calls < 1:
        raise ValueError(_("Give at least one call."))
    check_new_password(password)  # the one rule for every password set (Invalid: the CLI says why)
    began = clock.perf_counter()
    writer = Writer(db.session.connection())
    writer.skip_foreign_key_checks()
    gen = Generator(writer, calls, seed, password, say)
    phases: list[tuple[str, Callable[[], None]]] = [
        (N_("people"), gen.people), (N_("calendar, prices and parts"), gen.calendar_and_prices),
        (N_("customers, sites, equipment, contracts"), gen.customers_sites),
        (N_("time off and admin time"), gen.time_off_and_admin), (N_("calls and everything on them"), gen.calls)]
    for name, phase in phases:
        at = clock.perf_counter()
        phase()
        writer.flush()
        say("  " + _("%(phase)s: %(seconds)s s", phase=_(name), seconds=f"{clock.perf_counter() - at:.1f}"))
    writer.finish()
    gen.save_counters()
    if writer.dialect.name == "postgresql":
        writer.connection.execute(text("ANALYZE"))
    summary = Summary(calls=sum(gen.statuses.values()), seconds=clock.perf_counter() - began,
                      rows=dict(writer.counts), statuses=dict(gen.statuses))
    return summary


def count_calls() -> int:
    """How many calls the database holds (the bench reuses a database that already has its size)."""
    return int(db.session.scalar(select(func.count()).select_from(db.metadata.tables["repair_calls"])) or 0)
