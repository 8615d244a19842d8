"""Why a call is as it is: the sentences the system stores on a call (its category's reason, the reasons of its
status changes and corrections) and `reason_text`, which shows a stored sentence in the reader's language."""

from __future__ import annotations

import re
from datetime import date

from markupsafe import Markup, escape

from ..core.i18n import N_, _, label
from ..core.timeutil import date_text

# Why a call has its category. The record keeps the English sentence (the API and the audit trail read it
# as written); people read it in their language through `reason_text`, which recognises the sentence again.
REASON_FREE = N_("free: under warranty until %(date)s")
REASON_CONTRACT_PARTS = N_("contract: covered by %(number)s until %(date)s (parts included)")
REASON_CONTRACT = N_("contract: covered by %(number)s until %(date)s (parts charged)")
REASON_WARRANTY_ENDED = N_("charged: warranty ended %(date)s, no contract")
REASON_NO_WARRANTY = N_("charged: no warranty, no contract")
REASON_NO_EQUIPMENT = N_("charged: no equipment under warranty, no contract")
REASON_OVERRIDE = N_("%(category)s: set by %(name)s (%(reason)s)")
# And the reasons the system writes on a call's status changes (the timeline).
REASON_CONFIRMED = N_("resolved - customer confirmed")
REASON_RATED = N_("customer %(rating)s")
REASON_NEW_VISIT_DUE = N_("reopened: a new visit is due")
REASON_NOT_SOLVED = N_("customer says the problem is not solved")
REASON_VISIT_CANCELLED = N_("visit %(slip)s cancelled: %(reason)s")
REASON_ARRIVED = N_("technician arrived (%(slip)s)")
REASON_VISIT_OUTCOME = N_("visit %(slip)s: %(outcome)s")
REASON_CORRECTED = N_("corrected: %(fields)s")


def _pattern(msgid: str, **groups: str) -> re.Pattern[str]:
    """The stored sentence as a pattern: each %(name)s becomes a group (`groups` may narrow one)."""
    parts = re.split(r"%\((\w+)\)s", msgid)
    groups = {"date": r"\d{4}-\d{2}-\d{2}", **groups}
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>{groups.get(part, '.+?')})"
                    for i, part in enumerate(parts))
    return re.compile(f"^{regex}$", re.DOTALL)


_STORED_REASONS = [(_pattern(m, **g), m) for m, g in (
    (REASON_FREE, {}), (REASON_CONTRACT_PARTS, {}), (REASON_CONTRACT, {}), (REASON_WARRANTY_ENDED, {}),
    (REASON_NO_WARRANTY, {}), (REASON_NO_EQUIPMENT, {}),
    (REASON_OVERRIDE, {"category": "charged|contract|free", "reason": ".*"}),
    (REASON_CONFIRMED, {}), (REASON_RATED, {"rating": "[a-z ]+"}), (REASON_NEW_VISIT_DUE, {}), (REASON_NOT_SOLVED, {}),
    (REASON_VISIT_CANCELLED, {"slip": r"\S+", "reason": ".*"}), (REASON_ARRIVED, {}),
    (REASON_VISIT_OUTCOME, {"slip": r"\S+", "outcome": "fixed|carry back|follow up"}),
    (REASON_CORRECTED, {"fields": "[a-z_, ]*"}))]
# The fields of a call as people name them (a correction's reason lists the ones that changed).
FIELD_NAMES = {"description": N_("description"), "priority": N_("priority"), "problem_type": N_("problem type"),
               "channel": N_("channel"), "site_id": N_("site"), "equipment_id": N_("equipment"),
               "required_skill": N_("required skill")}
_RATING_CODES = {"very satisfied": "5", "satisfied": "4", "average": "3", "unsatisfied": "2",
                 "very unsatisfied": "1"}


def reason_text(stored: str | None, *, html: bool = False) -> str:
    """A reason the system wrote in English (a call's category reason, a status change's reason), in the
    reader's language; a reason a person typed (or one cut short) stays as it is. With `html`, markup
    where dates and numbers do not break across lines (CJK text may otherwise break one at its hyphens)."""
    if not stored:
        return ""
    for pattern, msgid in _STORED_REASONS:
        match = pattern.match(stored)
        if match is None:
            continue
        values = match.groupdict()
        if "category" in values:
            values["category"] = label(values["category"], "category")
        if "rating" in values:
            values["rating"] = label(_RATING_CODES.get(values["rating"], values["rating"]), "rating")
        if "outcome" in values:
            values["outcome"] = label(values["outcome"].replace(" ", "_"), "outcome")
        if "fields" in values:
            values["fields"] = _(", ").join(_(FIELD_NAMES.get(f.strip(), f.strip()))
                                            for f in values["fields"].split(",") if f.strip())
        if "date" in values:
            values["date"] = date_text(date.fromisoformat(values["date"]))
        if not html:
            return _(msgid, **values)
        whole = {"date", "number", "slip"}
        return Markup(escape(_(msgid))) % {k: Markup('<span class="nowrap">%s</span>') % v if k in whole else v
                                            for k, v in values.items()}
    return escape(stored) if html else stored
