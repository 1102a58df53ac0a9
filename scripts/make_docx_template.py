#!/usr/bin/env python3
"""Write the shipped Word template of the minutes draft, src/pilots/asr/templates/minutes.docx.

Run from the repository root after changing the layout, and commit the result:

    .venv/bin/python scripts/make_docx_template.py

An office may replace the template with its own (letterhead, fonts, styles):
any .docx with these placeholders, each in a paragraph or a table cell:

    {{会議名}} {{日時}} {{場所}} {{出席者}} {{所属}}          header block
    {{本文}}                                                  a paragraph of its own,
                                                              replaced by the body
    {{モデル}} {{録音時間}} {{処理時間}} {{要確認箇所}}        closing block
    {{フィラー}} {{用語集}} {{話者}} {{音声ファイル}}

The output is byte-for-byte the same on every run (fixed dates in the
document properties and in the zip), so that git only sees real changes.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path

import docx
from docx.document import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.text.paragraph import Paragraph

OUTPUT = Path(__file__).resolve().parent.parent / "src/pilots/asr/templates/minutes.docx"

# Present on every Japanese Windows and Mac Office; Century is Word's Japanese
# default for Latin text beside MS 明朝.
MINCHO = "ＭＳ 明朝"
GOTHIC = "ＭＳ ゴシック"
LATIN = "Century"

HEADER_FIELDS = ("会議名", "日時", "場所", "出席者", "所属")
CLOSING_LINES = (
    "モデル：{{モデル}}",
    "録音時間：{{録音時間}}",
    "処理時間：{{処理時間}}",
    "要確認箇所：{{要確認箇所}}件",
    "フィラー：{{フィラー}}",
    "用語集：{{用語集}}",
    "話者：{{話者}}",
)
FIXED_TIME = datetime(2025, 4, 1)


def set_fonts(rpr: object, east_asian: str, latin: str = LATIN) -> None:
    """Name the fonts explicitly, dropping theme fonts (which would win over them)."""
    rfonts = rpr.get_or_add_rFonts()  # type: ignore[attr-defined]
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(theme), None)
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)
    rfonts.set(qn("w:eastAsia"), east_asian)
    rfonts.set(qn("w:cs"), latin)


def setup_styles(document: Document) -> None:
    styles_element = document.styles.element
    defaults = styles_element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    set_fonts(rpr, MINCHO)
    lang = rpr.find(qn("w:lang"))
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "ja-JP")
    # Word's Japanese default spacing: single lines, no gap after a paragraph.
    spacing = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr")).find(qn("w:spacing"))
    spacing.set(qn("w:after"), "0")
    spacing.set(qn("w:line"), "240")

    normal = document.styles["Normal"]
    normal.font.size = Pt(10.5)
    set_fonts(normal.element.get_or_add_rPr(), MINCHO)


def add_field(paragraph: Paragraph, instruction: str) -> None:
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def build() -> Document:
    document = docx.Document()
    setup_styles(document)

    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin = section.bottom_margin = Mm(25)
    section.left_margin = section.right_margin = Mm(25)
    section.header_distance = section.footer_distance = Mm(12)

    header = section.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    header.add_run("{{会議名}}").font.size = Pt(9)

    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("- ")
    add_field(footer, "PAGE")
    footer.add_run(" -")

    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(12)
    run = title.add_run("議事録（案）")
    run.bold = True
    run.font.size = Pt(16)
    set_fonts(run._r.get_or_add_rPr(), GOTHIC)

    table = document.add_table(rows=len(HEADER_FIELDS), cols=2)
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for row, name in zip(table.rows, HEADER_FIELDS, strict=True):
        label, value = row.cells
        label.width, value.width = Mm(30), Mm(130)
        label.paragraphs[0].add_run(name).bold = True
        value.paragraphs[0].add_run(f"{{{{{name}}}}}")

    heading = document.add_paragraph()
    heading.paragraph_format.space_before = Pt(12)
    heading.paragraph_format.space_after = Pt(6)
    run = heading.add_run("議事内容")
    run.bold = True
    set_fonts(run._r.get_or_add_rPr(), GOTHIC)

    body = document.add_paragraph()
    body.paragraph_format.space_after = Pt(6)
    # A hanging indent keeps the text clear of the [hh:mm:ss] on wrapped lines.
    body.paragraph_format.left_indent = Mm(20)
    body.paragraph_format.first_line_indent = Mm(-20)
    body.add_run("{{本文}}")

    rule = document.add_paragraph()
    rule.paragraph_format.space_before = Pt(12)
    rule.add_run("作成情報").bold = True
    for line in CLOSING_LINES:
        document.add_paragraph().add_run(line).font.size = Pt(9)
    note = document.add_paragraph()
    note.paragraph_format.space_before = Pt(6)
    note.add_run(
        "この議事録案は音声認識による下書きです。"
        "黄色の【要確認】箇所は録音を聞いて確かめてください。"
    ).font.size = Pt(9)

    properties = document.core_properties
    properties.title = "議事録（案）"
    properties.author = properties.last_modified_by = "pilots"
    properties.comments = "pilots asr の議事録案テンプレート（scripts/make_docx_template.py）"
    properties.created = properties.modified = FIXED_TIME
    properties.revision = 1
    return document


def reproducible_zip(data: bytes) -> bytes:
    """Rewrite the zip with fixed timestamps, in the same member order."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def main() -> None:
    buffer = io.BytesIO()
    build().save(buffer)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_bytes(reproducible_zip(buffer.getvalue()))
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
