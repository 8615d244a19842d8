"""Issue 16, the parts of a fast slip that must not cost a character: the CJK font subset built at install
time prints the common characters, the full Noto font still prints the rare ones (喆 堃 赟 in a name), and
without the subset everything prints from the full font. The day's batch has every slip. (The speed
itself is measured by bench/bench_slips.py, never asserted here.)"""

from __future__ import annotations

import io
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from dispatch.core import pdf
from dispatch.core.pdf_fonts import DEFAULT_SUBSET, FAMILY, SOURCE_FAMILY, build, source_font, subset_path
from dispatch.slips.documents import render_slip
from tests.dispatch.test_slips import DAY, book

RARE = "喆堃赟"
NAME = f"王{RARE}暖通设备有限公司"
# How the PDF names an embedded font: its family, spaces as hyphens.
SUBSET_FONT, FULL_FONT = FAMILY.replace(" ", "-"), SOURCE_FAMILY.replace(" ", "-")


def fonts_of(data: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            names.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
    return names


def text_of(data: bytes) -> str:
    return "".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


@pytest.fixture(scope="module")
def subset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The subset `make fonts` builds, or one built here when it has not been."""
    if DEFAULT_SUBSET.is_file():
        return DEFAULT_SUBSET
    source = source_font()
    if source is None:
        pytest.fail("Noto Sans CJK is not installed (make system-deps installs fonts-noto-cjk)")
    return build(source, tmp_path_factory.mktemp("fonts") / "subset.otf")


def render_in_new_thread(app: Any, data: Any) -> bytes:
    """Each thread keeps its own font configuration (made with the subset setting of its first render)."""
    out: list[Any] = []

    def run() -> None:
        try:
            with app.app_context(), app.test_request_context():
                out.append(render_slip(data))
        except Exception as exc:  # surfaced below
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    assert out and isinstance(out[0], bytes), out
    return out[0]


def test_rare_characters_in_a_name_print(api: Any, dispatcher: Any, technician: Any) -> None:
    visit = book(dispatcher, technician, 10, customer_name=NAME)
    r = api(dispatcher).get(f"/api/v1/visits/{visit.id}/slip.pdf")
    assert r.status_code == 200
    assert NAME in text_of(r.data)


def test_the_subset_prints_and_the_full_font_fills_in(app: Any, monkeypatch: Any, subset: Path,
                                                      dispatcher: Any, technician: Any) -> None:
    from dispatch.slips.data import slip_data

    visit = book(dispatcher, technician, 10, customer_name=NAME)
    data = slip_data(visit)
    monkeypatch.setitem(app.config, "CJK_FONT_SUBSET", str(subset))
    assert subset_path(app.config) == subset
    printed = render_in_new_thread(app, data)
    text = text_of(printed)
    assert NAME in text  # the customer's name, rare characters included
    fonts = fonts_of(printed)
    assert SUBSET_FONT in fonts, fonts  # the common characters from the subset
    assert FULL_FONT in fonts, fonts  # 喆 堃 赟 from the full font
    # A slip of common characters only (the slip's own words in both languages) needs no full font at all.
    common = render_in_new_thread(app, replace(data, customer_name="上海测试设备有限公司"))
    assert "上海测试设备有限公司" in text_of(common)
    assert FULL_FONT not in fonts_of(common), fonts_of(common)


def test_without_the_subset_the_full_font_prints_everything(app: Any, monkeypatch: Any, tmp_path: Path,
                                                             dispatcher: Any, technician: Any) -> None:
    from dispatch.slips.data import slip_data

    visit = book(dispatcher, technician, 10, customer_name=NAME)
    data = slip_data(visit)
    missing = tmp_path / "not-built.otf"
    monkeypatch.setitem(app.config, "CJK_FONT_SUBSET", str(missing))
    assert subset_path(app.config) is None
    printed = render_in_new_thread(app, data)
    assert NAME in text_of(printed)
    fonts = fonts_of(printed)
    assert SUBSET_FONT not in fonts and FULL_FONT in fonts, fonts


def test_the_day_batch_has_every_slip(api: Any, dispatcher: Any, technician: Any) -> None:
    visits = [book(dispatcher, technician, hour, customer_name=f"{RARE}客户{hour}") for hour in (8, 10, 12, 14)]
    r = api(dispatcher).get(f"/api/v1/slips.pdf?date={DAY.isoformat()}&technician_id={technician.id}")
    assert r.status_code == 200 and r.headers["X-Slip-Count"] == str(len(visits))
    reader = PdfReader(io.BytesIO(r.data))
    assert len(reader.pages) >= len(visits)
    text = text_of(r.data)
    for visit in visits:
        assert visit.slip_number in text
        assert visit.call.customer.name in text


def test_the_qr_code_of_a_url_is_made_once() -> None:
    pdf.qr_svg.cache_clear()
    first = pdf.qr_svg("https://service.example.cn/t/visits/1")
    assert pdf.qr_svg("https://service.example.cn/t/visits/1") is first
    assert pdf.qr_svg.cache_info().hits == 1
    assert pdf.qr_svg("https://service.example.cn/t/visits/2") != first
