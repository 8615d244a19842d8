"""schemathesis against GET /api/v1/openapi.json on a live server: every operation, an admin's and a
technician's token, a few valid examples each (deterministic), on the suite's database (SQLite or
PostgreSQL) holding the demo: no 5xx, and status codes, content types and bodies as documented.

The deeper run (many examples, invalid ones too, every check, a summary) is `make fuzz`.
"""

from __future__ import annotations

import pytest

from tests import fuzzing, live

pytestmark = pytest.mark.concurrency  # a server thread commits for real; the tables are emptied after

EXAMPLES = 3  # per operation and role; a PDF (WeasyPrint: the costly part) once


def test_every_operation_as_documented_for_admin_and_technician(app, live_server):
    fuzzing.seed()
    ids = fuzzing.known_ids()
    tokens = {role: live.api_token(live_server, role, password) for role, password in fuzzing.passwords().items()}

    report = fuzzing.run(live_server, tokens, ids, max_examples=EXAMPLES, pdf_examples=1,
                         checks=fuzzing.checks_named(fuzzing.SUITE_CHECKS))

    assert not report.findings, report.summary()
    assert not [s for s in report.statuses if s >= 500], report.summary()
    # The run reached the records, not only the doors: every operation tried by both roles, and many
    # requests done (not just refused), on the real ids put in the paths.
    assert report.operations >= 100, report.summary()
    assert len(report.cases) == 2 * report.operations, report.summary()
    done = sum(n for status, n in report.statuses.items() if 200 <= status < 300)
    assert done >= 100, report.summary()
