"""The demo: a believable service company's day, built through the services (seed-demo).

Logins (also in the README): admin / admin-demo-pass, manager / manager-demo, dispatcher / dispatcher-demo,
technician / technician-demo (Li Wei; also wang.fang, zhang.min, chen.jie), finance / finance-demo.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from .calendar import PUBLIC_HOLIDAYS, load_public_holidays
from .core.extensions import db
from .core.models import User
from .core.timeutil import local_tz, utcnow
from .models import CallStatus, VisitStatus
from .scheduling import booking, plans
from .services.calls import add_note, create_call, record_feedback, set_call_status
from .services.contracts import create_contract
from .services.customers import add_equipment, create_customer
from .services.sites import add_site
from .services.users import create_user

DEMO_PASSWORDS = {
    "admin": "admin-demo-pass", "manager": "manager-demo", "dispatcher": "dispatcher-demo",
    "technician": "technician-demo", "finance": "finance-demo",
}

TECHNICIANS = [
    # username, name, skills, base (lat, lon), phone
    ("technician", "Li Wei 李伟", ["hvac", "refrigeration"], (31.2397, 121.4998), "13900001111"),
    ("wang.fang", "Wang Fang 王芳", ["electrical", "hvac"], (31.1880, 121.4365), "13900002222"),
    ("zhang.min", "Zhang Min 张敏", ["plumbing", "refrigeration"], (31.2700, 121.5300), "13900003333"),
    ("chen.jie", "Chen Jie 陈杰", ["electrical", "plumbing", "hvac"], (31.3000, 121.4200), "13900004444"),
]

CUSTOMERS = [
    # name, phone, contact, sites [(address, lat, lon)]
    ("上海测试设备有限公司", "13812345678", "刘经理", [("上海市浦东新区世纪大道100号", 31.2354, 121.5055)]),
    ("Pudong Grand Hotel", "021-5830 1234", "Ms. Zhou", [("88 Century Avenue, Pudong, Shanghai", 31.2366, 121.5020)]),
    ("Jing'an Dental Clinic", "13611112222", "Dr. Sun", [("1601 Nanjing West Road, Jing'an, Shanghai", 31.2243, 121.4480)]),
    ("Xuhui Cold Storage Co.", "13733334444", "Mr. Gao", [("200 Longhua Road, Xuhui, Shanghai", 31.1790, 121.4530)]),
    ("Suzhou Industrial Park Foods", "0512-6666 7777", "Mr. Wu", [("5 Xinghu Street, Suzhou Industrial Park", 31.3000, 120.7200)]),
    ("Minhang Office Tower", "13955556666", "Ms. Tang", [("3000 Humin Road, Minhang, Shanghai", 31.1130, 121.3810)]),
]


def seed() -> bool:
    if db.session.scalar(select(User.id).where(User.username == "admin")) is not None:
        return False
    admin = create_user(None, username="admin", password=DEMO_PASSWORDS["admin"], name="Admin 管理员",
                        role="admin")
    manager = create_user(admin, username="manager", password=DEMO_PASSWORDS["manager"],
                          name="Huang Li 黄丽 (manager)", role="manager")
    desk = create_user(admin, username="dispatcher", password=DEMO_PASSWORDS["dispatcher"],
                       name="Zhao Xin 赵欣 (dispatcher)", role="dispatcher")
    create_user(admin, username="finance", password=DEMO_PASSWORDS["finance"], name="Qian Yu 钱宇 (finance)",
                role="finance")
    techs = [create_user(admin, username=u, password=DEMO_PASSWORDS["technician"], name=n, role="technician",
                         skills=s, base_latitude=b[0], base_longitude=b[1], phone=p)
             for u, n, s, b, p in TECHNICIANS]

    today = datetime.now(local_tz()).date()
    for year in (today.year, today.year + 1):  # the company calendar: this year's and next year's holidays
        if year in PUBLIC_HOLIDAYS:
            load_public_holidays(admin, year)
    customers, sites = [], []
    for name, phone, contact, addresses in CUSTOMERS:
        c = create_customer(desk, name=name, phone=phone, contact_name=contact)
        customers.append(c)
        for address, lat, lon in addresses:
            sites.append(add_site(desk, c, address=address, latitude=lat, longitude=lon))
    db.session.flush()

    eq = [
        add_equipment(desk, customers[0], sites[0], model="Daikin VRV-X", serial_number="DK-2024-0001",
                      warranty_until=today + timedelta(days=200)),
        add_equipment(desk, customers[1], sites[1], model="Carrier 30XA", serial_number="CA-30XA-7781",
                      warranty_until=today - timedelta(days=400)),
        add_equipment(desk, customers[2], sites[2], model="Sirona Intego", serial_number="SI-55120",
                      warranty_until=today - timedelta(days=30)),
        add_equipment(desk, customers[3], sites[3], model="Bitzer 4FES", serial_number="BZ-4FES-0931",
                      warranty_until=today - timedelta(days=900)),
        add_equipment(desk, customers[4], sites[4], model="Haier Cold Room HCR-8", serial_number="HCR8-2210",
                      warranty_until=today + timedelta(days=30)),
        add_equipment(desk, customers[5], sites[5], model="Schneider Galaxy VS", serial_number="GVS-40-118",
                      warranty_until=None),
    ]
    db.session.flush()
    create_contract(desk, customers[1], number="MC-0042", starts_on=today - timedelta(days=100),
                    ends_on=today + timedelta(days=265), covers_parts=False)
    create_contract(desk, customers[3], number="MC-0057", starts_on=today - timedelta(days=30),
                    ends_on=today + timedelta(days=335), equipment_ids=[eq[3].id], covers_parts=True)

    now = utcnow()

    def call(i: int, priority: str, problem: str, text: str, hours_ago: float, skill: str | None, equipment=True):
        c = customers[i]
        return create_call(desk, customer=c, site=sites[i], equipment=eq[i] if equipment else None,
                           channel=["phone", "email", "web", "messaging", "walk_in"][i % 5],
                           problem_type=problem, priority=priority, description=text,
                           required_skill=skill, received_at=now - timedelta(hours=hours_ago))

    # Waiting to be booked: the board's queue.
    call(0, "urgent", "not cooling", "机房空调不制冷，温度已到30度，影响服务器运行。", 1.5, "hvac")
    call(2, "high", "electrical fault", "Chair unit trips the breaker when the lamp is switched on.", 3, "electrical")
    call(5, "normal", "alarm", "UPS shows battery alarm on the front panel since this morning.", 20, "electrical")
    call(4, "normal", "temperature drift", "Cold room holds -12 °C instead of -18 °C overnight.", 5, "refrigeration")
    call(3, "low", "noise", "Compressor rattles at start-up.", 0.5, "refrigeration")

    # On site right now (booked first, so the suggestions below plan around it).
    on_site = call(0, "high", "water leak", "Indoor unit drips water onto the server rack.", 4, "hvac")
    v = booking.book_visit(manager, on_site, techs[0], now - timedelta(minutes=40), now + timedelta(minutes=50),
                              override_reason="demo: visit in progress")
    v.status = VisitStatus.ON_SITE
    set_call_status(techs[0], on_site, CallStatus.IN_PROGRESS)

    # Booked the way a dispatcher books: the top suggestion (inside working hours and the window).
    def book_top(c: Any) -> None:
        result = plans.suggestions_for_call(c, limit=1)
        if result.items:
            top = result.items[0]
            actor = desk if top.within_deadline else manager
            booking.book_visit(actor, c, db.session.get(User, top.technician_id), top.start, top.end,
                                  override_reason=None if top.within_deadline else "demo: first free slot")

    book_top(call(1, "normal", "not heating", "Lobby AHU-2 delivers cold air, guests complain.", 6, "hvac"))
    book_top(call(3, "high", "leak", "Refrigerant leak suspected, oil stains under the condenser.", 2,
                  "refrigeration"))
    book_top(call(5, "normal", "inspection", "Quarterly UPS check requested by the building manager.", 8,
                  "electrical"))

    done = call(2, "normal", "calibration", "Annual calibration of the X-ray timer.", 30, "electrical")
    v = booking.book_visit(manager, done, techs[1], now - timedelta(hours=26), now - timedelta(hours=25),
                              override_reason="demo: past visit")
    v.status = VisitStatus.COMPLETED
    set_call_status(techs[1], done, CallStatus.IN_PROGRESS)
    set_call_status(techs[1], done, CallStatus.COMPLETED)

    closed = call(1, "urgent", "no cooling", "Banquet hall chiller stopped during an event.", 50, "hvac")
    v = booking.book_visit(manager, closed, techs[3], now - timedelta(hours=49), now - timedelta(hours=47),
                              override_reason="demo: past visit")
    v.status = VisitStatus.COMPLETED
    set_call_status(techs[3], closed, CallStatus.IN_PROGRESS)
    set_call_status(techs[3], closed, CallStatus.COMPLETED)
    add_note(desk, closed, channel="phone", text="Customer confirms the chiller runs; very satisfied.")
    record_feedback(desk, closed, rating=5, comment="Fast and tidy work.")

    reopened = call(3, "normal", "defrost", "Evaporator ices up every night.", 72, "refrigeration")
    v = booking.book_visit(manager, reopened, techs[2], now - timedelta(hours=70), now - timedelta(hours=69),
                              override_reason="demo: past visit")
    v.status = VisitStatus.COMPLETED
    set_call_status(techs[2], reopened, CallStatus.IN_PROGRESS)
    set_call_status(techs[2], reopened, CallStatus.COMPLETED)
    record_feedback(desk, reopened, rating=2, comment="Still icing up the next morning.")

    remote = call(4, "normal", "no power", "Cold room controller dead after a power cut.", 10, "electrical",
                  equipment=False)
    add_note(desk, remote, channel="phone", text="Customer asked for a morning visit; site is 85 km away.",
             next_follow_up=now + timedelta(hours=20))
    cancelled = call(5, "low", "question", "Asked about extending the warranty: sales will call back.", 12, None)
    set_call_status(desk, cancelled, CallStatus.CANCELLED, reason="not a repair: passed to sales")
    db.session.flush()
    return True
