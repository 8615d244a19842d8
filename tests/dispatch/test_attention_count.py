"""Issue 16: the attention bell is a count in the database (one statement on every manager page, however many
calls run late), the list shows the longest waiting first up to a bound, and a call past the bound can still
be acknowledged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatch.core.extensions import db
from dispatch.services import escalation
from tests.dispatch.test_statement_counts import counted
from tests.factories import make_call, make_customer, make_site


def test_the_bell_counts_in_one_statement_and_the_list_is_bounded(app, api, client, login, dispatcher, manager):
    now = datetime.now(UTC)
    customer = make_customer(dispatcher, name="Harbour Hotel")
    site = make_site(customer)
    # Urgent calls have 24 h to be resolved: open 50, 60, 70 h is far past it (twice the time); 30 h is not.
    late = [make_call(dispatcher, customer, site, priority="urgent", received_at=now - timedelta(hours=h))
            for h in (50, 60, 70)]
    make_call(dispatcher, customer, site, priority="urgent", received_at=now - timedelta(hours=30))
    flagged = make_call(dispatcher, customer, site)
    escalation.raise_escalation(dispatcher, flagged, "safety", detail="sparks")  # waiting since now
    db.session.commit()

    with counted() as statements:
        assert escalation.attention_count() == 4
    assert len(statements) == 1
    every = escalation.attention_list()
    assert [i.call.id for i in every] == [late[2].id, late[1].id, late[0].id, flagged.id]
    assert [i.reasons for i in every] == [["overdue"]] * 3 + [["safety"]]
    assert [i.call.id for i in escalation.attention_list(limit=2)] == [late[2].id, late[1].id]

    # Twice as many late calls: the bell is still one statement, and the same ones go to the managers.
    more = [make_call(dispatcher, customer, site, priority="urgent", received_at=now - timedelta(hours=49 - i / 10))
            for i in range(4)]
    db.session.commit()
    with counted() as statements:
        assert escalation.attention_count() == 8
    assert len(statements) == 1
    assert {i.call.id for i in escalation.attention_list()} == {c.id for c in late + more + [flagged]}

    # The longest waiting are shown; one past the bound is acknowledged all the same.
    r = api(manager).post(f"/api/v1/attention/calls/{flagged.id}/acknowledge")
    assert r.status_code == 200 and r.get_json()["acknowledged"] == ["safety"]
    assert escalation.attention_count() == 7
    assert flagged.id not in {i.call.id for i in escalation.attention_list()}
    login(manager)
    page = client.get("/calls").get_data(as_text=True)
    assert '<span class="bell-count">7</span>' in page
    # A factor of 3: 50 and 60 h are no longer far past 24 h; 70 h has been open less than 72 h either.
    app.config["ESCALATE_OVERDUE_FACTOR"] = 3
    try:
        assert escalation.attention_count() == 0
        app.config["ESCALATE_OVERDUE_FACTOR"] = 2.9
        assert [i.call.id for i in escalation.attention_list()] == [late[2].id]
    finally:
        app.config.pop("ESCALATE_OVERDUE_FACTOR")
