"""The stored slip: a visit's slip PDF rendered once per content, then served from the database.

A slip's content is everything it prints: its `SlipData` (the visit, the call, the customer, the print
number that says "Reprint N", the signed voucher...), the printing language, and the version of what lays
it out (the templates, the print stylesheet, the compiled catalogues, the time zone and the label
languages). Its fingerprint is the SHA-256 of all that, written canonically. Serving a slip is then:
build its data (a few queries), look its fingerprint up, and render only when there is no such row —
after a reschedule, a sign-off, a customer's new phone number, a reprint, the data and so the fingerprint
differ, and the old PDF is simply never asked for again.

Rows are (visit_id, fingerprint) unique; a render stores its row with "on conflict do nothing", so two
requests rendering the same new slip at the same moment both succeed and one row is kept. Storing a new
fingerprint replaces the visit's row in the same language (a derived cache row: nothing of record is lost,
and the table holds about one slip per visit and language instead of every version ever printed).

The background warming (dispatch/slips/warm.py) renders a visit's slip after a booking or change commits,
so the print that follows finds it stored.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    delete,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from ..core.extensions import Model, db
from ..core.i18n import locale_name
from ..core.timeutil import utcnow
from ..core.types import UTCDateTime
from . import pool
from .data import SlipData
from .documents import SLIP, merge_pdfs, render_slip, render_slips, slips_html


class SlipPdf(Model):
    """One rendered slip PDF of a visit, for one fingerprint of its content (see the module's doc)."""

    __tablename__ = "slip_pdfs"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"))
    locale: Mapped[str] = mapped_column(String(16))
    fingerprint: Mapped[str] = mapped_column(String(64))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    rendered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("visit_id", "fingerprint"),
                      Index("ix_slip_pdfs_rendered_at", "rendered_at"))


# ----------------------------------------------------------------------------- the fingerprint

_LAYOUT_FILES = ("templates", "pdf/*.html"), ("static", "css/print.css")


def _layout_version() -> str:
    """The SHA-256 of the files a slip is laid out from, once per app (a deploy restarts the app; in debug
    mode, where templates are edited under a running app, every time)."""
    app = current_app
    version: str | None = None if app.debug else app.extensions.get("slips.layout_version")
    if version is None:
        digest = hashlib.sha256()
        roots = {"templates": Path(app.root_path, app.template_folder or "templates"),
                 "static": Path(app.static_folder or "static")}
        files = [path for root, pattern in _LAYOUT_FILES for path in sorted(roots[root].glob(pattern))]
        for directory in str(app.config.get("BABEL_TRANSLATION_DIRECTORIES") or "").split(";"):
            files += sorted(Path(directory).glob("*/LC_MESSAGES/*.mo"))
        for path in files:
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        version = app.extensions["slips.layout_version"] = digest.hexdigest()
    return version


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return {"sha256": hashlib.sha256(value).hexdigest()}
    return str(value)  # a lazy translation, an enum


def fingerprint(data: SlipData, locale: str) -> str:
    """The SHA-256 of everything the slip prints in `locale` (its data, the language, the layout)."""
    config = current_app.config
    content = {"slip": asdict(data), "locale": locale, "layout": _layout_version(),
               "timezone": config.get("TIMEZONE"), "languages": config.get("SLIP_LANGUAGES")}
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_canonical)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------- reading and storing


def stored(keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], bytes]:
    """The stored PDFs of these (visit_id, fingerprint) pairs that there are, in one query."""
    if not keys:
        return {}
    where: ColumnElement[bool]
    if len(keys) == 1:
        (visit_id, fp), = keys
        where = (SlipPdf.visit_id == visit_id) & (SlipPdf.fingerprint == fp)
    else:
        where = tuple_(SlipPdf.visit_id, SlipPdf.fingerprint).in_(list(keys))
    rows = db.session.execute(select(SlipPdf.visit_id, SlipPdf.fingerprint, SlipPdf.pdf).where(where))
    return {(visit_id, fp): bytes(pdf) for visit_id, fp, pdf in rows}


def save(visit_id: int, locale: str, fp: str, pdf: bytes) -> None:
    """Store a rendered slip (in the caller's transaction, which should commit soon: on SQLite this takes
    the write lock). The visit's other row in this language is replaced; the same fingerprint stored
    meanwhile by another request is kept as it is."""
    db.session.execute(delete(SlipPdf).where(SlipPdf.visit_id == visit_id, SlipPdf.locale == locale,
                                             SlipPdf.fingerprint != fp))
    _prune()
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(SlipPdf).values(visit_id=visit_id, locale=locale, fingerprint=fp, pdf=pdf,
                                              rendered_at=utcnow())
                       .on_conflict_do_nothing(index_elements=["visit_id", "fingerprint"]))


PRUNE_BATCH = 50


def _prune() -> None:
    """Drop a few slips rendered more than SLIP_STORE_DAYS ago (default 30): a slip of a visit long done is
    rarely printed again, and is rendered again when it is. Each store removes at most PRUNE_BATCH, so the
    table stays about the size of the last month's visits (a stored slip is ~100 KB with its font subset)."""
    days = int(current_app.config.get("SLIP_STORE_DAYS") or 30)
    old = select(SlipPdf.id).where(SlipPdf.rendered_at < utcnow() - timedelta(days=days)) \
        .order_by(SlipPdf.rendered_at).limit(PRUNE_BATCH)
    db.session.execute(delete(SlipPdf).where(SlipPdf.id.in_(old.scalar_subquery())))


def slip_pdf(data: SlipData) -> tuple[bytes, bool]:
    """One visit's slip in the current language: (the PDF, whether it was stored already). A missing one
    is rendered here (a process's round trip would cost more than it saves on one slip) and stored in the
    current transaction, which the request commits right after."""
    locale = locale_name()
    fp = fingerprint(data, locale)
    found = stored([(data.visit_id, fp)]).get((data.visit_id, fp))
    if found is not None:
        return found, True
    pdf = render_slip(data)
    save(data.visit_id, locale, fp, pdf)
    return pdf, False


# ----------------------------------------------------------------------------- a day's slips

MIN_CHUNK = 4  # fewer slips than this to render are laid out here: a process's round trip is not worth it


def _chunks(run: list[SlipData], size: int) -> list[list[SlipData]]:
    return [run[i:i + size] for i in range(0, len(run), size)]


def day_pdf(slips: Sequence[SlipData], empty_message: str) -> tuple[bytes, int]:
    """A day's slips as one PDF, in order: (the PDF, how many were stored already).

    The stored ones are taken as they are; the others, a run of consecutive slips at a time, are laid
    out in the render pool, a few slips to a document (one document of several slips costs less than as
    many documents of one), then everything is put together. The slips rendered here are not stored one
    by one (they would have to be written once more, a page each): the warming does that when a visit is
    booked or changed, and the day's second print is mostly reprints, whose "Reprint N" is new content."""
    if not slips:
        return render_slips([], empty_message), 0
    locale = locale_name()
    prints = [fingerprint(data, locale) for data in slips]
    found = stored([(data.visit_id, p) for data, p in zip(slips, prints, strict=True)])
    parts: list[bytes | list[SlipData]] = []
    for data, fp in zip(slips, prints, strict=True):
        pdf = found.get((data.visit_id, fp))
        if pdf is not None:
            parts.append(pdf)
        elif parts and isinstance(parts[-1], list):
            parts[-1].append(data)
        else:
            parts.append([data])
    missing = sum(len(part) for part in parts if isinstance(part, list))
    if missing:
        processes = pool.size()
        here = processes == 0 or missing < MIN_CHUNK
        # Two documents per process: one slower process (a busy core) leaves less of the batch waiting.
        size = missing if here else max(MIN_CHUNK, math.ceil(missing / (2 * processes)))
        jobs = [chunk for part in parts if isinstance(part, list) for chunk in _chunks(part, size)]
        rendered = iter(pool.render([slips_html(chunk) for chunk in jobs], SLIP.stylesheets, in_process=here))
        merged: list[bytes] = []
        for part in parts:
            if isinstance(part, list):
                merged += [next(rendered) for _chunk in _chunks(part, size)]
            else:
                merged.append(part)
    else:
        merged = [part for part in parts if isinstance(part, bytes)]
    return merge_pdfs(merged), len(found)
