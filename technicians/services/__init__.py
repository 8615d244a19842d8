"""The rules of work on site, by noun: `progress` (on my way, arrived, the visit's steps), `work` (the work
record: labor, parts through billing, outcome), `payments` (money taken on site), `signoff` (the customer's
signature and the sealed content), `admin_work` (category D time), `actions` (what a visit offers now).
Carry-back repairs and the workshop board will get their own module here."""

from __future__ import annotations

from collections.abc import Mapping

from dispatch.core.i18n import _, _l

# The fields of work on site as people name them: a refusal says "What was done: required", never the
# JSON name (work_summary). The API's `fields` keep the JSON names; only the messages use these.
FIELD_LABELS = {
    "work_summary": _l("What was done"), "labor_minutes": _l("Labor (minutes)"), "outcome": _l("Outcome"),
    "parts": _l("Parts used"), "signer_name": _l("Customer's name"),
    "image_png_base64": _l("Customer's signature"), "technician_confirmed": _l("Technician's confirmation"),
    "amount": _l("Amount"), "method": _l("Method"), "date": _l("Date"), "activity": _l("Activity"),
    "minutes": _l("Minutes"), "notes": _l("Notes"), "technician_id": _l("Technician"), "days": _l("Days"),
}


def problems(message: str, errors: Mapping[str, object]) -> str:
    """One message with every problem: "The work cannot be recorded: What was done: required; ..."."""
    listed = "; ".join(_("%(field)s: %(problem)s", field=FIELD_LABELS.get(name, name), problem=problem)
                       for name, problem in errors.items())
    return _("%(message)s %(problems)s.", message=message, problems=listed) if listed else message
