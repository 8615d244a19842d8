"""Two languages everywhere: every marked string translated in both catalogues, no user-visible text in a
template outside a translation call, the language chosen by the user, the browser, then the default."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from dispatch.core.catalogues import LOCALES, catalogue_path, extract, missing, read
from dispatch.core.extensions import db
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"


def _extracted() -> set[str]:
    """What `make messages` would extract now (the same function)."""
    return set(extract(ROOT))


def test_every_marked_string_is_translated_in_both_catalogues() -> None:
    extracted = _extracted()
    assert len(extracted) > 100  # the extraction itself works
    for locale in LOCALES:
        catalog = read(catalogue_path(TRANSLATIONS, locale), locale)
        ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
        not_in_catalogue = sorted(extracted - ids)
        assert not not_in_catalogue, f"{locale}: run `make messages` and translate: {not_in_catalogue[:20]}"
        untranslated = missing(catalog)
        assert not untranslated, f"{locale}: untranslated: {untranslated[:20]}"


def test_chinese_catalogue_uses_the_users_words() -> None:
    catalog = read(catalogue_path(TRANSLATIONS, "zh_CN"), "zh_CN")
    words = {m.id: m.string for m in catalog if m.id and isinstance(m.id, str)}
    # DOMAIN.md's glossary, where the English term is a msgid of its own.
    expected = {"Dispatch slip": "服务派工单", "Service voucher": "服务凭证", "Charged service": "收费服务",
                "Contract service": "合同服务", "Free service": "免费服务", "Urgent": "紧急",
                "Carry-back": "携回修护"}
    for english, chinese in expected.items():
        if english in words:
            assert words[english] == chinese, english


# ----------------------------------------------------------------------------- templates


VISIBLE_ATTRIBUTES = {"placeholder", "title", "alt", "aria-label"}
MARK = "\x00"  # where a Jinja expression or statement stood


class _TextNodes(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value and _has_words(value):
                self.found.append(f"{name}={value!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and _has_words(data):
            self.found.append(data.strip())


def _has_words(text: str) -> bool:
    text = text.replace(MARK, " ")
    return any(ch.isalpha() for ch in text)


def _visible_text(app: Any, name: str) -> list[str]:
    env = app.jinja_env
    source = env.loader.get_source(env, name)[0]
    # A block that fills a class attribute of the base layout (body_class, main_class) holds class names.
    source = re.sub(r"{%-? block \w+_class -?%}.*?{%-? endblock -?%}", MARK, source, flags=re.S)
    parts = []
    for _lineno, kind, value in env.lex(source):
        parts.append(value if kind == "data" else MARK)
    # Collapse each Jinja construct to one mark (its tokens come one by one).
    text = re.sub(f"{MARK}+", MARK, "".join(parts))
    parser = _TextNodes()
    parser.feed(text)
    return parser.found


def test_templates_have_no_text_outside_translation_calls(app: Any) -> None:
    names = [n for n in app.jinja_env.list_templates() if n.endswith(".html")]
    assert len(names) > 30
    offenders = {name: found for name in names if (found := _visible_text(app, name))}
    assert not offenders, offenders


# ----------------------------------------------------------------------------- choosing the language


def test_browser_language_then_user_setting_then_default(client: Any, dispatcher: Any, login: Any,
                                                          app: Any) -> None:
    login(dispatcher)
    page = client.get("/calls", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'lang="zh-CN"' in html and "报修" in html
    page = client.get("/calls", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert 'lang="en"' in page.get_data(as_text=True)

    dispatcher.locale = "zh_CN"  # the user's own setting wins over the browser
    db.session.commit()
    page = client.get("/calls", headers={"Accept-Language": "en"})
    assert 'lang="zh-CN"' in page.get_data(as_text=True)


def test_default_locale_when_the_browser_says_nothing(app: Any, dispatcher: Any, login: Any) -> None:
    client = app.test_client()
    login(dispatcher, client)
    previous = app.config["DEFAULT_LOCALE"]
    app.config["DEFAULT_LOCALE"] = "zh_CN"
    try:
        assert 'lang="zh-CN"' in client.get("/calls").get_data(as_text=True)
    finally:
        app.config["DEFAULT_LOCALE"] = previous


def test_account_page_sets_the_language(client: Any, dispatcher: Any, login: Any) -> None:
    login(dispatcher)
    assert client.get("/account").status_code == 200
    response = client.post("/account/language", data={"lang-locale": "zh_CN"})
    assert response.status_code == 302
    db.session.refresh(dispatcher)
    assert dispatcher.locale == "zh_CN"
    assert "我的账户" in client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)
    bad = client.post("/account/language", data={"lang-locale": "fr"})
    assert bad.status_code == 422


def test_account_page_changes_the_own_password(client: Any, dispatcher: Any, login: Any) -> None:
    login(dispatcher)
    wrong = client.post("/account/password", data={"pw-current_password": "nope", "pw-new_password": "a-new-one-1",
                                                   "pw-confirm": "a-new-one-1"})
    assert wrong.status_code == 422
    ok = client.post("/account/password", data={"pw-current_password": PASSWORD,
                                                "pw-new_password": "a-new-one-12", "pw-confirm": "a-new-one-12"})
    assert ok.status_code == 302
    db.session.refresh(dispatcher)
    assert dispatcher.check_password("a-new-one-12")
    assert client.get("/account").status_code == 200  # this session lives on


@pytest.mark.parametrize(("header", "expected"), [
    ("zh-CN,zh;q=0.9,en;q=0.5", "报修无法保存。"), ("en-US,en;q=0.9", "The call cannot be saved."),
    ("zh-Hans", "报修无法保存。"), ("fr-FR,en;q=0.5", "The call cannot be saved."),
])
def test_api_messages_follow_accept_language(api: Any, dispatcher: Any, header: str, expected: str) -> None:
    """A call sent without its fields is refused in the caller's language; code and field names stay English."""
    response = api(dispatcher).post("/api/v1/calls", json={"channel": "fax"}, headers={"Accept-Language": header})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert error["message"].startswith(expected)
    assert {"channel", "priority", "problem_type", "description"} <= set(error["fields"])
    assert "phone, email" in error["fields"]["channel"]  # enum values stay as the API spells them
    chinese = expected.startswith("报修")
    assert (error["fields"]["description"] == "必填") == chinese
    assert (error["fields"]["description"] == "required") != chinese
