"""schemathesis against the live API: every operation of GET /api/v1/openapi.json, with an admin's and a
technician's token, on a database that holds the demo and a few records the demo lacks (a carry-back
with a photo, an invoice and its credit note, time off), so that ids in paths often name real records.

Two depths, one code: the suite's (tests/dispatch/test_schemathesis.py: a few valid examples per
operation; no 5xx, status codes, content types and bodies as documented) and `make fuzz`
(`python -m tests.fuzzing`: many examples, valid and invalid, every per-response check, a summary).
Deterministic: Hypothesis derandomized, no example database.
"""

from __future__ import annotations

import inspect
import textwrap
import time as clock
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

# path parameter -> where its ids live (the seeded records it names)
PATH_IDS: dict[str, str] = {
    "call_id": "SELECT id FROM repair_calls", "visit_id": "SELECT id FROM visits",
    "carry_back_id": "SELECT id FROM carry_backs", "photo_id": "SELECT id FROM carry_back_photos",
    "customer_id": "SELECT id FROM customers", "site_id": "SELECT id FROM sites",
    "equipment_id": "SELECT id FROM equipment", "invoice_id": "SELECT id FROM invoices",
    "note_id": "SELECT id FROM credit_notes", "part_id": "SELECT id FROM parts",
    "payment_id": "SELECT id FROM payments", "technician_id": "SELECT id FROM users WHERE role = 'technician'",
    "time_off_id": "SELECT id FROM time_off", "day_id": "SELECT id FROM calendar_days",
}
SUITE_CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
                "response_schema_conformance")
ROLES = ("admin", "technician")  # the demo's logins (dispatch/demo.py) the run holds tokens of


def passwords() -> dict[str, str]:
    from dispatch.demo import DEMO_PASSWORDS

    return {role: DEMO_PASSWORDS[role] for role in ROLES}


# ----------------------------------------------------------------------------- data


def seed() -> None:
    """The demo, then what it lacks; inside an app context, committed."""
    from sqlalchemy import select

    from billing.services.credit_notes import void_invoice
    from billing.services.invoices import issue_invoice
    from billing.services.pending import pending
    from dispatch.core.extensions import db
    from dispatch.core.models import Role, User
    from dispatch.core.timeutil import local_today, local_tz, utcnow
    from dispatch.models import Customer
    from dispatch.scheduling import booking
    from dispatch.scheduling.calendars import add_time_off
    from dispatch.seed import seed_demo
    from dispatch.services.calls import create_call
    from technicians.services import carry_back as carry_backs
    from technicians.services import progress, work
    from tests.technicians.helpers import png

    seed_demo()
    db.session.commit()
    tech = db.session.scalar(select(User).where(User.username == "technician"))
    manager = db.session.scalar(select(User).where(User.role == Role.MANAGER).order_by(User.id))
    assert tech is not None and manager is not None
    customer = db.session.scalars(select(Customer).order_by(Customer.id)).first()
    assert customer is not None
    call = create_call(manager, customer=customer, site=customer.sites[0], equipment=None, channel="phone",
                       problem_type="Compressor", priority="normal", description="Compressor does not start.",
                       received_at=utcnow() - timedelta(minutes=30))
    db.session.commit()
    start = utcnow().replace(microsecond=0) - timedelta(minutes=61)
    while booking.overlapping_visit(tech.id, start, start + timedelta(hours=1)) is not None:
        start -= timedelta(hours=1)  # the demo's own visits hold some hours of the day
    visit = booking.book_visit(manager, call, tech, start, start + timedelta(hours=1),
                               override_reason="fuzzing: taken in the past")
    progress.arrive(tech, visit)
    work.complete(tech, visit, work_summary="Compressor does not start; taken to the workshop.",
                  labor_minutes=30, parts=[], outcome="carry_back")
    cb = carry_backs.take(tech, visit, carry_backs.ReceiptInput(
        item="Compressor", serial_number="CMP-1", promised_return_on=local_today() + timedelta(days=7)))
    carry_backs.add_photos(tech, cb, [png(16, 16, 90)])
    db.session.commit()
    bills = [c.call.id for customer_bill in pending().customers for c in customer_bill.calls]
    for n, call_id in enumerate(bills[:2]):
        invoice = issue_invoice(manager, [call_id])
        if n == 1:
            void_invoice(manager, invoice, "Wrong customer address")
    start = datetime.combine(local_today() + timedelta(days=20), time(9), tzinfo=local_tz())
    add_time_off(manager, tech, start, start + timedelta(hours=4), "Training")
    db.session.commit()


def known_ids() -> dict[str, list[Any]]:
    """Every path parameter's seeded values (inside an app context)."""
    from sqlalchemy import text

    from billing.services.exports import EXPORTS
    from dispatch.core.extensions import db

    ids: dict[str, list[Any]] = {name: sorted(db.session.scalars(text(sql)))[:40] for name, sql in PATH_IDS.items()}
    ids["kind"] = sorted(EXPORTS)
    return {name: values for name, values in ids.items() if values}


# ----------------------------------------------------------------------------- the run


@dataclass
class Finding:
    role: str
    operation: str
    checks: tuple[str, ...]
    status: int
    message: str
    curl: str


@dataclass
class Report:
    cases: Counter[tuple[str, str]] = field(default_factory=Counter)  # (role, operation) -> requests
    statuses: Counter[int] = field(default_factory=Counter)
    answers: dict[tuple[str, str], Counter[int]] = field(default_factory=dict)  # (role, operation) -> statuses
    findings: list[Finding] = field(default_factory=list)
    operations: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # operation -> wall time (a summary, never a check)

    def distinct(self) -> dict[tuple[str, tuple[str, ...]], list[Finding]]:
        out: dict[tuple[str, tuple[str, ...]], list[Finding]] = {}
        for f in self.findings:
            out.setdefault((f.operation, f.checks), []).append(f)
        return out

    def summary(self) -> str:
        lines = [f"{self.operations} operations, {sum(self.cases.values())} requests "
                 f"({', '.join(f'{role}: {n}' for role, n in _by_role(self.cases).items())})",
                 "status codes: " + ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items())),
                 f"server errors (5xx): {sum(n for s, n in self.statuses.items() if s >= 500)}",
                 "never past the door (only 401): " + (", ".join(
                     f"{role} {op}" for (role, op), seen in sorted(self.answers.items()) if set(seen) == {401})
                     or "none"),
                 "slowest: " + ", ".join(f"{op} {t:.1f} s" for op, t in
                                        sorted(self.seconds.items(), key=lambda kv: -kv[1])[:5]),
                 f"findings: {len(self.findings)} ({len(self.distinct())} distinct operation/check pairs)"]
        for (operation, checks), found in sorted(self.distinct().items()):
            first = found[0]
            roles = ", ".join(sorted({f.role for f in found}))
            lines.append(f"\n- {operation} [{', '.join(checks)}] x{len(found)} ({roles}), e.g. {first.status}:")
            lines.append(textwrap.indent(first.message.strip()[:1200], "    "))
            lines.append("    " + first.curl)
        return "\n".join(lines)


def _by_role(cases: Counter[tuple[str, str]]) -> dict[str, int]:
    out: Counter[str] = Counter()
    for (role, _op), n in cases.items():
        out[role] += n
    return dict(out)


def checks_named(names: Iterable[str] | None) -> list[Callable[..., Any]]:
    """The per-response checks by name; None: every one schemathesis has (not response time: no timing)."""
    import schemathesis.checks as registry

    registry.load_all_checks()
    wanted = set(names) if names is not None else set(registry.CHECKS.get_all_names()) - {"max_response_time"}
    return [registry.CHECKS.get_one(n) for n in sorted(wanted)
            if inspect.isfunction(registry.CHECKS.get_one(n))]


def run(base_url: str, tokens: dict[str, str], ids: dict[str, list[Any]], *, max_examples: int,
        checks: list[Callable[..., Any]], negative: bool = False, pdf_examples: int | None = None,
        only: Callable[[str], bool] | None = None, progress: Callable[[str], None] | None = None) -> Report:
    """Every operation of the live document, for each token: max_examples valid cases (and as many invalid
    ones when `negative`; `pdf_examples` for a PDF, whose rendering costs most), each sent and checked;
    failures collected, never raised."""
    import requests
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.core.result import Ok

    # A valid request may still be refused for what no schema can say (an id that names nothing, a date
    # in the past, a call not in that state: 404, 409, 422); "malformed" (400) it must never be.
    config = schemathesis.Config.from_dict({"checks": {"positive_data_acceptance": {
        "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]}}})
    schema = schemathesis.openapi.from_url(base_url + "/api/v1/openapi.json", config=config, timeout=30)
    # The token's own revocation last: after it, a role's token answers 401 (as it should) to everything.
    found = list(schema.get_all_operations())
    unreadable = [result.err() for result in found if not isinstance(result, Ok)]
    assert not unreadable, f"operations of the document schemathesis cannot read: {unreadable}"
    operations = sorted((result.ok() for result in found if isinstance(result, Ok)),
                        key=lambda op: op.method.upper() == "DELETE" and op.path == "/api/v1/auth/token")
    report = Report(operations=len(operations))
    modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if negative else [])
    http = requests.Session()
    for role, token in tokens.items():
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
        for operation in operations:
            label = operation.label
            if only is not None and not only(label):
                continue
            if progress:
                progress(f"{role} {label}")
            # Real ids half the time (valid cases only: an invalid case must stay invalid).
            params = [p.name for p in operation.path_parameters]
            examples = pdf_examples if pdf_examples is not None and label.endswith(".pdf") else max_examples
            for mode in modes:
                seeded = {n: st.sampled_from(ids[n]) for n in params if n in ids}
                real = st.booleans() if examples > 1 else st.just(True)  # one example: a real record
                strategy = st.tuples(operation.as_strategy(generation_mode=mode),
                                     real if seeded and mode == GenerationMode.POSITIVE else st.just(False),
                                     st.fixed_dictionaries(seeded))
                send = _sender(report, role, label, base_url, headers, http, checks)
                started = clock.monotonic()
                settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                         report_multiple_bugs=False)(given(strategy)(send))()
                report.seconds[label] = report.seconds.get(label, 0.0) + clock.monotonic() - started
    return report


def _sender(report: Report, role: str, label: str, base_url: str, headers: dict[str, str], http: Any,
            checks: list[Callable[..., Any]]) -> Callable[[tuple[Any, bool, dict[str, Any]]], None]:
    """One drawn case: real ids put in when drawn so, sent, counted, checked; a failure is kept, not raised."""
    from schemathesis.core.failures import FailureGroup

    def send(drawn: tuple[Any, bool, dict[str, Any]]) -> None:
        case, use_seeded, values = drawn
        if use_seeded:
            case.path_parameters = {**(case.path_parameters or {}), **values}
        response = case.call(base_url=base_url, session=http, headers=headers, timeout=120)
        report.cases[(role, label)] += 1
        report.statuses[response.status_code] += 1
        report.answers.setdefault((role, label), Counter())[response.status_code] += 1
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except FailureGroup as group:
            report.findings.append(Finding(
                role, label, tuple(sorted({f.title for f in group.exceptions})), response.status_code,
                str(group), case.as_curl_command(headers=headers, base_url=base_url)))

    return send


# ----------------------------------------------------------------------------- make fuzz


def main(argv: list[str] | None = None) -> int:
    """`make fuzz`: on a fresh database of each engine (PostgreSQL when it answers), migrated once, seeded,
    served in a thread: many examples per operation, valid and invalid, every per-response check."""
    import argparse
    import os
    import sys
    import tempfile
    from pathlib import Path

    from tests import live

    parser = argparse.ArgumentParser(prog="python -m tests.fuzzing", description=main.__doc__)
    parser.add_argument("--examples", type=int, default=int(os.environ.get("FUZZ_EXAMPLES", "20")),
                        help="examples per operation, role and kind (valid, invalid); default 20")
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default=os.environ.get("FUZZ_ENGINE", "both"))
    parser.add_argument("--only", default="", help="only operations whose label holds this text")
    parser.add_argument("--suite-checks", action="store_true", help="the suite's checks only (not every one)")
    args = parser.parse_args(argv)
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    if "postgresql" in engines and not live.postgres_available():
        print("!! PostgreSQL does not answer on 127.0.0.1:5432: fuzzing SQLite only.", file=sys.stderr)
        engines.remove("postgresql")
    failed = False
    for engine in engines:
        with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp, live.scratch_database(engine, Path(tmp)) as url:
            os.environ["DISPATCH_INSTANCE_PATH"] = tmp
            report = _fuzz_one(url, args)
            print(f"\n== schemathesis on {engine}: {args.examples} examples per operation, role and kind")
            print(report.summary(), flush=True)
            failed |= bool(report.findings) or any(s >= 500 for s in report.statuses)
    return 1 if failed else 0


def _fuzz_one(database_url: str, args: Any) -> Report:
    import logging

    from flask_migrate import upgrade

    from dispatch import create_app
    from tests import live

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request: the summary says it all
    app = create_app({"DATABASE_URL": database_url, "GEOCODER": "offline", "DEFAULT_LOCALE": "en"})
    with app.app_context():
        upgrade()  # once, before serving, as in production
        seed()
        ids = known_ids()
    with live.serve_in_thread(app) as base_url:
        tokens = {role: live.api_token(base_url, role, password) for role, password in passwords().items()}
        checks = checks_named(SUITE_CHECKS if args.suite_checks else None)
        return run(base_url, tokens, ids, max_examples=args.examples, checks=checks, negative=True,
                   only=(lambda label: args.only in label) if args.only else None,
                   progress=lambda what: print(f"   {what}", flush=True))


if __name__ == "__main__":
    raise SystemExit(main())
