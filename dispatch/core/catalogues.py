"""Keeping the two catalogues whole: `make messages` runs `python -m dispatch.core.catalogues update`.

English is the source language: its catalogue repeats each msgid (so a missing translation is never
hidden by a fallback). zh_CN is written by hand in the users' own words (DOMAIN.md); an entry with no
msgstr there fails tests/dispatch/test_i18n.py until someone translates it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

LOCALES = ("zh_CN", "en")
# Babel names Simplified Chinese zh_Hans_CN, and gettext looks for that folder (then "zh"), not zh_CN.
FOLDERS = {"zh_CN": "zh_Hans_CN", "en": "en"}


def catalogue_path(root: Path, locale: str) -> Path:
    return root / FOLDERS[locale] / "LC_MESSAGES" / "messages.po"


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalog, width=100, omit_header=False, ignore_obsolete=True, include_previous=False,
                 sort_output=True)


def template(project: Path) -> Catalog:
    """Every marked string of the project: the catalogue both languages are updated from."""
    pot = Catalog(domain="messages")
    for message, _where in extract_messages(project):
        if message not in pot:
            pot.add(message)
    return pot


def update(root: Path) -> None:
    """Extract, then bring both catalogues up to date: new msgids arrive empty in zh_CN (to translate by
    hand), vanished ones are dropped, English repeats every msgid."""
    pot = template(root.parent)
    for locale in LOCALES:
        path = catalogue_path(root, locale)
        catalog = read(path, locale) if path.exists() else Catalog(locale=locale, domain="messages")
        catalog.update(pot, no_fuzzy_matching=True)
        for message in catalog:
            if not message.id:
                continue
            message.flags.discard("fuzzy")
            message.locations = []  # the .po stays stable when code moves
            if locale == "en":
                message.string = message.id
        write(path, catalog)
        print(f"{path}: {len(missing(catalog))} untranslated of {sum(1 for m in catalog if m.id)}")


def missing(catalog: Catalog) -> list[str]:
    """msgids with no translation (a plural needs every form)."""
    gaps = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if not all(strings) or "fuzzy" in message.flags:
            gaps.append(message.id if isinstance(message.id, str) else message.id[0])
    return gaps


KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None, "N_": None,
            "print_label": None}


def extract_messages(root: Path) -> list[tuple[str | tuple[str, ...], str]]:
    """Every marked message (a plural as its (singular, plural) pair) with where it was found, as
    `make messages` extracts them (babel.cfg, KEYWORDS)."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with (root / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = []
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(root), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        if isinstance(message, tuple):
            message = tuple(m for m in message if m)
            if len(message) == 1:
                message = message[0]
        if message:
            found.append((message, f"{filename}:{lineno}"))
    return found


def extract(root: Path, only: list[str] | None = None) -> dict[str, str]:
    """msgid (the singular of a plural) -> the first place it was found."""
    found: dict[str, str] = {}
    for message, where in extract_messages(root):
        if only and not any(where.startswith(prefix) for prefix in only):
            continue
        found.setdefault(message if isinstance(message, str) else message[0], where)
    return found


def merge(root: Path, files: list[Path]) -> None:
    """Fill zh_CN msgstrs from JSON files of {msgid: translation} (those already translated stay)."""
    import json

    path = catalogue_path(root, "zh_CN")
    catalog = read(path, "zh_CN")
    given: dict[str, str] = {}
    for file in files:
        given.update(json.loads(file.read_text()))
    filled = 0
    for message in catalog:
        if message.id and isinstance(message.id, str) and not message.string and given.get(message.id):
            message.string = given[message.id]
            filled += 1
        elif message.id and not isinstance(message.id, str) and not all(message.string or ("",)):
            text = given.get(message.id[0])
            if text:
                message.string = (text,) * catalog.num_plurals  # Chinese has one plural form
                filled += 1
    write(path, catalog)
    print(f"{path}: filled {filled}; {len(missing(catalog))} still untranslated")


def preview(root: Path, out: Path, files: list[Path]) -> None:
    """Both catalogues as they would be after `update` and `merge`, written and compiled under `out`
    (the project's own are untouched): for trying translations before they are merged."""
    import shutil

    from babel.messages.mofile import write_mo

    shutil.rmtree(out, ignore_errors=True)
    for locale in LOCALES:
        source = catalogue_path(root, locale)
        target = catalogue_path(out, locale)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    pot = template(root.parent)
    for locale in LOCALES:
        path = catalogue_path(out, locale)
        catalog = read(path, locale)
        catalog.update(pot, no_fuzzy_matching=True)
        for message in catalog:
            if message.id and locale == "en":
                message.string = message.id
        write(path, catalog)
    merge(out, files)
    for locale in LOCALES:
        catalog = read(catalogue_path(out, locale), locale)
        with catalogue_path(out, locale).with_suffix(".mo").open("wb") as fh:
            write_mo(fh, catalog)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "update" and len(sys.argv) == 3:
        update(Path(sys.argv[2]))
    elif command == "merge" and len(sys.argv) >= 4:
        merge(Path(sys.argv[2]), [Path(f) for f in sys.argv[3:]])
    elif command == "preview" and len(sys.argv) >= 4:
        # python -m dispatch.core.catalogues preview OUT_DIR FILE.json... ; then run the tests with
        # DISPATCH_TEST_TRANSLATIONS=OUT_DIR to see the translations in place.
        preview(Path("translations"), Path(sys.argv[2]), [Path(f) for f in sys.argv[3:]])
    elif command == "todo":
        # python -m dispatch.core.catalogues todo [PATH_PREFIX ...] [--known FILE.json ...]
        import json

        args = sys.argv[2:]
        known: dict[str, str] = {}
        if "--known" in args:
            i = args.index("--known")
            for file in args[i + 1:]:
                if Path(file).exists():
                    known.update(json.loads(Path(file).read_text()))
            args = args[:i]
        root = Path.cwd()
        zh = catalogue_path(root / "translations", "zh_CN")
        done = {m.id: m.string for m in read(zh, "zh_CN") if m.id and isinstance(m.id, str) and m.string} \
            if zh.exists() else {}
        for msgid, where in sorted(extract(root, args or None).items(), key=lambda kv: kv[1]):
            if msgid not in done and msgid not in known:
                print(json.dumps(msgid, ensure_ascii=False), "#", where)
    else:
        raise SystemExit("usage: python -m dispatch.core.catalogues update DIR | merge DIR FILE.json... | "
                         "preview OUT_DIR FILE.json... | todo [PATH_PREFIX...] [--known FILE.json...]")
