"""The board's "Optimise day" page: the re-plan of a day shown move by move, and its Apply button."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..core.errors import Invalid
from ..core.i18n import _, _l
from ..core.pages import form_errors, page_view
from ..core.security import DESK, allow
from ..core.timeutil import date_text, local_today, parse_date
from . import replan

bp = Blueprint("replan", __name__)

# The rules of a technician's day (rules.CODES), as the page names a rule the day already breaks.
RULES = {"left_base_early": _l("leaves base before the working day"),
         "back_after_hours": _l("back at base after the working day"),
         "outside_hours": _l("outside working hours"), "time_off": _l("in time off"),
         "overlap": _l("overlaps another visit"), "not_enough_travel": _l("not enough time to drive there"),
         "before_received": _l("before the call came in"), "skill_mismatch": _l("without the skill"),
         "outside_window": _l("outside the arrival window"), "unknown_technician": _l("no such technician")}


@bp.get("/board/optimise")
@allow(DESK)
def optimise_page() -> Any:
    """Before and after (km, late visits) and every move of the day's re-plan; nothing changes here."""
    raw = request.args.get("date")
    try:
        day = parse_date(raw, "date", _("Date")) if raw else local_today()
    except Invalid as exc:
        return render_template("dispatch/optimise.html", day=local_today(), proposal=None, error=exc.message), 422
    proposal = replan.optimise_day(current_user, day, apply_it=False)
    token = replan.proposal_token(proposal) if proposal.moves else None
    return render_template("dispatch/optimise.html", day=day, proposal=proposal, token=token, rules=RULES,
                           # the same proposal sent twice (a double click) is applied once
                           key=hashlib.sha256(token.encode()).hexdigest()[:40] if token else None)


@bp.post("/board/optimise")
@allow(DESK)
@page_view
def apply_plan() -> Any:
    """Apply exactly the moves shown; when the schedule changed since, show the fresh proposal instead."""
    form = request.form
    raw_day = form.get("date") or ""
    with form_errors() as messages:
        day = parse_date(raw_day, "date", _("Date"))
        proposal = replan.proposal_from_token(form.get("proposal"))
        if proposal.day != day:
            raise Invalid(_("This proposal is for %(day)s.", day=date_text(proposal.day)))
        result = replan.apply(current_user, proposal)
    if messages:
        flash(messages[0], "error")
        return redirect(url_for("replan.optimise_page", date=raw_day) if raw_day else url_for("replan.optimise_page"))
    # Two messages, not ngettext: the catalogues keep singular msgids only.
    if len(result.moves) == 1:
        text = _("Re-planned %(day)s: 1 visit moved, %(before)s km → %(after)s km.", day=date_text(day),
                 before=result.km_before, after=result.km_after)
    else:
        text = _("Re-planned %(day)s: %(n)d visits moved, %(before)s km → %(after)s km.", day=date_text(day),
                 n=len(result.moves), before=result.km_before, after=result.km_after)
    flash(text, "success")
    return redirect(url_for("board.board", date=day.isoformat()))
