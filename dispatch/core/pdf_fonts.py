"""The Chinese font documents print with: a subset of Noto Sans CJK SC built at install time.

Every PDF embeds the glyphs it uses, cut from the font it was laid out with; cutting them from the full
Noto Sans CJK collection (19 MB, 65,000 glyphs) was the largest single part of a slip's render time. So
`make` builds, once, a font of the characters documents actually use — GB2312 levels 1 and 2 (6,763 hanzi),
ASCII, Latin-1, CJK and full-width punctuation, and every character of the document templates and the
Chinese catalogue — under a family of its own, FAMILY. The print stylesheet lists FAMILY first and the
full "Noto Sans CJK SC" after it, so a rare character the subset lacks (喆, 堃, 赟 in a name) still prints
from the full font; and without the subset (not built yet) everything prints from the full font as before.

    python -m dispatch.core.pdf_fonts [--source TTC] [--output OTF]     (make fonts)

The built file lives in build/fonts/ (not committed); CJK_FONT_SUBSET (setting or environment) names
another.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SUBSET = ROOT / "build" / "fonts" / "dispatch-cjk-subset.otf"
SOURCES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
           "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
           "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc")
SOURCE_FAMILY = "Noto Sans CJK SC"
FAMILY = "Dispatch CJK Subset"
POSTSCRIPT_NAME = "DispatchCJKSubset-Regular"


# ----------------------------------------------------------------------------- which characters


def gb2312() -> str:
    """Every character of GB2312: symbols (rows 1-9) and hanzi levels 1 and 2 (rows 16-87)."""
    chars = []
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return "".join(chars)


def _ranges(*spans: tuple[int, int]) -> str:
    return "".join(chr(c) for start, end in spans for c in range(start, end + 1))


def document_characters(root: Path = ROOT) -> str:
    """The characters the documents' own words use: templates and the Chinese catalogue."""
    texts = []
    for pattern in ("templates/pdf/*.html", "translations/zh*/LC_MESSAGES/messages.po", "static/css/print.css"):
        texts += [path.read_text(encoding="utf-8") for path in sorted(root.glob(pattern))]
    return "".join(texts)


def characters(root: Path = ROOT) -> set[int]:
    text = gb2312() + document_characters(root) + _ranges(
        (0x20, 0x7E), (0xA0, 0xFF),  # ASCII, Latin-1
        (0x2000, 0x206F), (0x2100, 0x214F), (0x2190, 0x21FF), (0x2460, 0x24FF), (0x25A0, 0x25FF),
        (0x3000, 0x303F), (0xFF00, 0xFFEF))  # punctuation, symbols, arrows, circled numbers, CJK, full-width
    return {ord(c) for c in text if not c.isspace() or c == " "}


# ----------------------------------------------------------------------------- building it


def source_font() -> Path | None:
    for candidate in SOURCES:
        if Path(candidate).is_file():
            return Path(candidate)
    return None


def build(source: Path, output: Path, root: Path = ROOT) -> Path:
    """Cut the subset from `source` (a collection: its SOURCE_FAMILY face) into `output`, renamed FAMILY."""
    from fontTools import subset
    from fontTools.ttLib import TTCollection, TTFont

    if source.suffix.lower() in (".ttc", ".otc"):
        faces = TTCollection(str(source), lazy=True).fonts
        font = next((f for f in faces if f["name"].getDebugName(1) == SOURCE_FAMILY), None)
        if font is None:
            raise SystemExit(f"{source} has no {SOURCE_FAMILY} face.")
    else:
        font = TTFont(str(source), lazy=True)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.hinting = False  # PDFs are not hinted by the viewer anyway; a smaller font is faster to cut
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(characters(root)))
    subsetter.subset(font)
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 4, 16, 17, 18, 3, 6, 21, 22):
            names.removeNames(nameID=record.nameID)
    names.setName(FAMILY, 1, 3, 1, 0x409)
    names.setName("Regular", 2, 3, 1, 0x409)
    names.setName(f"{FAMILY}; built from {source.name}", 3, 3, 1, 0x409)
    names.setName(FAMILY, 4, 3, 1, 0x409)
    names.setName(POSTSCRIPT_NAME, 6, 3, 1, 0x409)
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [POSTSCRIPT_NAME]
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(output.suffix + ".partial")
    font.save(str(partial))
    partial.replace(output)  # whole or not at all: a server starting meanwhile sees no half-written font
    return output


# ----------------------------------------------------------------------------- using it


def subset_path(config: Any = None) -> Path | None:
    """The built subset, if there is one (CJK_FONT_SUBSET setting, environment, or build/fonts/)."""
    configured = (config or {}).get("CJK_FONT_SUBSET") or os.environ.get("CJK_FONT_SUBSET")
    path = Path(configured) if configured else DEFAULT_SUBSET
    return path if path.is_file() else None


def register(font_configuration: Any, path: Path) -> bool:
    """Make the subset known to one WeasyPrint font configuration (what WeasyPrint's own @font-face
    does: add the file to its Fontconfig configuration and tell Pango's font map)."""
    from weasyprint.text.ffi import ffi, fontconfig, pangoft2

    added = fontconfig.FcConfigAppFontAddFile(font_configuration._config, os.fsencode(path))
    if added:
        pangoft2.pango_fc_font_map_config_changed(ffi.cast("PangoFcFontMap *", font_configuration.font_map))
    return bool(added)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the CJK font subset the PDFs print with.")
    parser.add_argument("--source", type=Path, help="the full font (default: Noto Sans CJK, as installed)")
    parser.add_argument("--output", type=Path, default=DEFAULT_SUBSET)
    args = parser.parse_args(argv)
    source = args.source or source_font()
    if source is None:
        print("!! no Noto Sans CJK font installed (fonts-noto-cjk): documents print with the fonts there are.",
              file=sys.stderr)
        return 1
    out = build(source, args.output)
    print(f">> {out} ({out.stat().st_size // 1024} KB, {len(characters())} characters) from {source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
