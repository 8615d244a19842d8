"""The document engine (dispatch.core.pdf): slips rendered from hand-built data, read back with pypdf."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import segno
from pypdf import PdfReader

from dispatch.core import pdf as engine
from dispatch.core.pdf import DocumentType, render_document
from dispatch.slips.data import Company, SlipData, Voucher, VoucherLine, company_info
from dispatch.slips.documents import SLIP, render_slip, render_slips

CHINESE_NAME = "上海测试设备有限公司"


def pdf_text(pdf: bytes) -> tuple[str, PdfReader]:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages), reader


def slip(**changes: Any) -> SlipData:
    data = SlipData(
        visit_id=7, slip_number="VS-2026-000007", qr_url="https://service.example.cn/t/visits/7",
        company=Company("Huadong After-Sales Service Co.", "1 Century Avenue, Pudong, Shanghai", "021-5888 0000"),
        call_number="SC-2026-000042", received_at=datetime(2026, 11, 23, 1, 12, tzinfo=UTC), category="contract",
        category_reason="contract: covered by HT-2026-0815 until 2027-06-30 (parts charged)", priority="urgent",
        customer_name=CHINESE_NAME, contact_name="王小明", phone="13812345678",
        site_address="上海市浦东新区世纪大道100号 (100 Century Avenue)", equipment_model="Carrier 30XA",
        equipment_serial="SN-30XA-0099", problem_type="not cooling", description="Unit blows warm air; display E4.",
        window_start=datetime(2026, 11, 23, 6, 0, tzinfo=UTC), window_end=datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
        technician_name="Tom Technician", channel="phone")
    return replace(data, **changes)


def test_slip_prints_the_facts_and_chinese_text_round_trips() -> None:
    text, reader = pdf_text(render_slip(slip()))
    assert len(reader.pages) == 1
    for fact in ("VS-2026-000007", "SC-2026-000042", CHINESE_NAME, "王小明", "13812345678",
                 "上海市浦东新区世纪大道100号", "Carrier 30XA", "SN-30XA-0099", "Tom Technician",
                 "Contract service", "合同服务", "HT-2026-0815", "Urgent", "紧急",
                 "2026-11-23 09:12",  # received, in Asia/Shanghai
                 "2026-11-23 14:00 – 16:00",  # the appointment window, local
                 "Huadong After-Sales Service Co.", "021-5888 0000", "Customer signature", "客户签字"):
        assert fact in text, fact
    assert "Reprint" not in text  # the first print is not marked
    assert "Service voucher" not in text  # a blank slip to fill in by hand
    page = reader.pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)  # A4


def test_each_category_prints_with_its_reason() -> None:
    for category, label, reason in (("free", "Free service", "free: under warranty until 2027-03-31"),
                                    ("charged", "Charged service", "charged: warranty ended 2025-01-31, no contract")):
        text, _ = pdf_text(render_slip(slip(category=category, category_reason=reason)))
        assert label in text and reason in text


def test_a_very_long_description_wraps_inside_the_page() -> None:
    words = [f"symptom{i:04d}" for i in range(330)]  # 3,300 characters, no line breaks of its own
    description = " ".join(words)
    assert len(description) >= 3000
    text, reader = pdf_text(render_slip(slip(description=description)))
    assert all(word in text for word in words)  # nothing cut off or clipped
    assert len(reader.pages) <= 2  # it flows on, bounded
    # Wrapped: the description comes back as many lines, none wider than a page line can hold.
    lines = [line for line in text.splitlines() if "symptom" in line]
    assert len(lines) >= 20
    assert max(len(line) for line in lines) < 140
    # And every piece of text starts inside the page.
    xs: list[float] = []
    for page in reader.pages:
        page.extract_text(visitor_text=lambda t, cm, tm, font, size: xs.append(tm[4] * cm[0] + cm[4]) if t.strip()
                          else None)
        width = float(page.mediabox.width)
        assert xs and all(0 <= x < width for x in xs)


def test_an_unbroken_string_wraps_too() -> None:
    blob = "E4" * 600  # a pasted log line with no spaces
    text, reader = pdf_text(render_slip(slip(description=blob)))
    assert blob in text.replace("\n", "")
    assert len(reader.pages) <= 2
    assert max(len(line) for line in text.splitlines()) < 200


def test_reprint_is_marked_from_the_second_print() -> None:
    text, _ = pdf_text(render_slip(slip(print_count=3)))
    assert "Reprint 3" in text and "补打 3" in text
    assert slip(print_count=1).reprint is None and slip(print_count=2).reprint == 2


def test_batch_has_exactly_one_page_per_slip() -> None:
    slips = [slip(visit_id=i, slip_number=f"VS-2026-{i:06d}") for i in range(1, 6)]
    text, reader = pdf_text(render_slips(slips))
    assert len(reader.pages) == 5
    for i, page in enumerate(reader.pages, start=1):
        assert f"VS-2026-{i:06d}" in page.extract_text()


def test_an_empty_batch_is_one_page_that_says_so() -> None:
    text, reader = pdf_text(render_slips([], empty_message="No visits booked for anyone on 2026-11-23."))
    assert len(reader.pages) == 1 and "No visits booked for anyone on 2026-11-23." in text


def _png() -> bytes:
    out = io.BytesIO()
    segno.make("signature").save(out, kind="png", scale=3)
    return out.getvalue()


def test_voucher_prints_the_signed_work_signer_time_and_hash() -> None:
    digest = "9f2c" + "0123456789abcdef" * 3 + "a1b2c3d4e5f6"
    voucher = Voucher(
        work_summary="Replaced the fan capacitor; ran 30 minutes, cooling normal.", labor_minutes=90,
        signer_name="王小明", signed_at=datetime(2026, 11, 23, 7, 45, 30, tzinfo=UTC), content_sha256=digest,
        parts=[VoucherLine("Fan capacitor 35uF", 1, Decimal("45.00"), Decimal("45.00"), sku="CAP-35")],
        amounts=[("Call-out fee", Decimal("80.00")), ("Labor 1.5 h", Decimal("180.00")),
                 ("Parts", Decimal("45.00"))],
        total=Decimal("305.00"), outcome="fixed", signature_png=_png())
    pdf = render_slip(slip(voucher=voucher))
    text, reader = pdf_text(pdf)
    assert len(reader.pages) == 1
    for fact in ("Service voucher", "服务凭证", "Replaced the fan capacitor", "90 min", "Fan capacitor 35uF",
                 "CAP-35", "45.00", "180.00", "305.00", "Fixed", "王小明", "2026-11-23 15:45:30", digest):
        assert fact in text, fact
    assert "Filled in on site" not in text  # the handwriting boxes are replaced by what was recorded
    images = [img for page in reader.pages for img in page.images]
    assert len(images) == 1  # the signature, from its data: URI


def test_the_fetcher_serves_static_files_only(app: Any) -> None:
    static = app.static_folder
    body, mime = engine.fetch_static(engine.DOCUMENT_ORIGIN + "/static/css/print.css", static)
    assert b"Noto Sans CJK SC" in body and mime == "text/css"
    for url in ("file:///etc/passwd", "http://example.com/", "https://example.com/static/css/print.css",
                engine.DOCUMENT_ORIGIN + "/etc/passwd",
                engine.DOCUMENT_ORIGIN + "/static/../../../../etc/passwd",
                engine.DOCUMENT_ORIGIN + "/static/%2e%2e/%2e%2e/pyproject.toml",
                engine.DOCUMENT_ORIGIN + "/static/css/no-such.css"):
        with pytest.raises(engine.RefusedURL):
            engine.fetch_static(url, static)
    fetcher = engine.static_fetcher(static)
    for url in ("file:///etc/passwd", "http://example.com/"):
        with pytest.raises(engine.RefusedURL):
            fetcher(url)
    assert fetcher(engine.DOCUMENT_ORIGIN + "/static/css/print.css").read().startswith(b"/*")


def test_html_that_asks_for_files_or_remote_urls_gets_nothing(app: Any) -> None:
    """Even if hostile markup reached a document, the engine would not read the disk or the network."""
    html = ('<p>x</p><img src="file:///etc/passwd"><img src="http://example.com/a.png">'
            '<link rel="stylesheet" href="file:///etc/passwd">')
    pdf = engine.html_to_pdf(html)
    _, reader = pdf_text(pdf)
    assert [img for page in reader.pages for img in page.images] == []


def test_a_logo_from_static_prints(app: Any, tmp_path: Any) -> None:
    import shutil
    from pathlib import Path

    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "img").mkdir()
    shutil.copy(Path(app.static_folder) / "css" / "print.css", static / "css" / "print.css")
    (static / "img" / "logo.png").write_bytes(_png())
    original = app.static_folder
    try:
        app.static_folder = str(static)
        app.config["COMPANY_LOGO"] = "img/logo.png"
        company = company_info()
        assert company.logo_url == "/static/img/logo.png"
        _, reader = pdf_text(render_slip(slip(company=company)))
        assert len([img for page in reader.pages for img in page.images]) == 1
    finally:
        app.static_folder = original
        app.config["COMPANY_LOGO"] = None


def test_documents_registry_makes_a_new_document_a_small_step(app: Any, tmp_path: Any) -> None:
    assert SLIP.template == "pdf/slip.html"
    doc = DocumentType("test-note", "pdf/slip.html", "Test")
    text, reader = pdf_text(render_document(doc, [slip()], qr_svg=engine.qr_svg))
    assert "VS-2026-000007" in text and len(reader.pages) == 1
