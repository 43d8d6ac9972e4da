"""Build the Word templates of this folder (`python templates/documents/build_templates.py`).

The .docx files are the templates: an office may open one in Word, change a word, a font or
a margin, and save it; this script only lays out the first version of each, following
Decree 30/2020/NĐ-CP (Appendix I): A4, margins 20/20/30/15 mm, Times New Roman, the
two-column header, the title block, numbered sections, "Nơi nhận" and the signer.
The Jinja tags in the paragraphs ({{ ... }}, {%p ... %}, {%tr ... %}) are docxtpl's.

Rebuilding overwrites edits made in Word: after an office has edited a template, change the
.docx itself rather than this script.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeAlias

from docx import Document
from docx.document import Document as WordDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.section import Section
from docx.shared import Cm, Length, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from lxml import etree

HERE = Path(__file__).parent
FONT = "Times New Roman"
TEXT_WIDTH = Cm(21.0 - 3.0 - 1.5)  # A4 less the left and right margins
LEFT_COLUMN = Cm(6.5)
RIGHT_COLUMN = Cm(21.0 - 3.0 - 1.5 - 6.5)

CENTER = WD_ALIGN_PARAGRAPH.CENTER
JUSTIFY = WD_ALIGN_PARAGRAPH.JUSTIFY
LEFT = WD_ALIGN_PARAGRAPH.LEFT

Container: TypeAlias = WordDocument | _Cell  # what a paragraph or a table is added to


def new_document() -> WordDocument:
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.0)
    section.left_margin, section.right_margin = Cm(3.0), Cm(1.5)
    section.header_distance = section.footer_distance = Cm(1.0)

    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(14)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    fmt = normal.paragraph_format
    fmt.alignment = JUSTIFY
    fmt.first_line_indent = Cm(1.27)
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(6)
    fmt.line_spacing_rule = WD_LINE_SPACING.MULTIPLE
    fmt.line_spacing = 1.15
    _page_numbers(section)
    return doc


def _page_numbers(section: Section) -> None:
    """Page number centred in the header, from page 2 on (Decree 30: not on the first page)."""
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = CENTER
    paragraph.paragraph_format.first_line_indent = Cm(0)
    run = paragraph.add_run()
    run.font.size = Pt(13)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)


def para(
    container: Container,
    text: str = "",
    *,
    bold: bool = False,
    italic: bool = False,
    size: float | None = None,
    align: WD_ALIGN_PARAGRAPH | None = None,
    indent: bool = True,
    upper: bool = False,
    space_after: float | None = None,
    space_before: float | None = None,
    keep_with_next: bool = False,
    underline: bool = False,
) -> Paragraph:
    """A paragraph of one run (docxtpl needs each tag whole inside one run)."""
    paragraph = container.add_paragraph()
    fmt = paragraph.paragraph_format
    if align is not None:
        paragraph.alignment = align
    if not indent:
        fmt.first_line_indent = Cm(0)
    if space_after is not None:
        fmt.space_after = Pt(space_after)
    if space_before is not None:
        fmt.space_before = Pt(space_before)
    if keep_with_next:
        fmt.keep_with_next = True
    if text:
        run = paragraph.add_run(text.upper() if upper else text)
        run.bold = bold or None
        run.italic = italic or None
        run.underline = underline or None
        if size is not None:
            run.font.size = Pt(size)
    return paragraph


def tag(container: Container, text: str) -> Paragraph:
    """A paragraph holding only a docxtpl block tag ({%p ... %}); docxtpl removes it when rendering."""
    return para(container, text, indent=False, space_after=0)


def rule(container: Container, width_cm: float, column_cm: float) -> Paragraph:
    """A short centred line under a header line, drawn as the top border of a tiny paragraph."""
    paragraph = para(container, indent=False, space_after=0, space_before=3, align=CENTER)
    side = max((column_cm - width_cm) / 2, 0)
    paragraph.paragraph_format.left_indent = Cm(side)
    paragraph.paragraph_format.right_indent = Cm(side)
    paragraph.paragraph_format.line_spacing = Pt(2)
    borders = etree.SubElement(paragraph._p.get_or_add_pPr(), qn("w:pBdr"))
    top = etree.SubElement(borders, qn("w:top"))
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        top.set(qn(key), value)
    return paragraph


def no_borders(table: Table) -> None:
    borders = etree.SubElement(table._tbl.tblPr, qn("w:tblBorders"))
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        etree.SubElement(borders, qn(f"w:{side}")).set(qn("w:val"), "nil")


def grid_borders(table: Table) -> None:
    borders = etree.SubElement(table._tbl.tblPr, qn("w:tblBorders"))
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = etree.SubElement(borders, qn(f"w:{side}"))
        for key, value in (("w:val", "single"), ("w:sz", "4"), ("w:space", "0"), ("w:color", "000000")):
            element.set(qn(key), value)


def set_widths(table: Table, widths: list[Length]) -> None:
    """Column widths on the grid and on every cell: LibreOffice reads the cells, Word the grid."""
    table.autofit = False
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width


def first_paragraph(cell: _Cell) -> Paragraph:
    """The cell's own empty paragraph, formatted like `para` would (a cell starts with one)."""
    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.first_line_indent = Cm(0)
    paragraph.paragraph_format.space_after = Pt(0)
    return paragraph


def cell_para(cell: _Cell, text: str = "", *, first: bool = False, **kwargs: Any) -> Paragraph:
    """A header-cell line: centred, single-spaced, no indent, 13 pt unless given."""
    kwargs.setdefault("align", CENTER)
    kwargs.setdefault("size", 13)
    if first:
        paragraph = first_paragraph(cell)
        paragraph.alignment = kwargs["align"]
        paragraph.paragraph_format.line_spacing = 1.0
        if text:
            run = paragraph.add_run(text.upper() if kwargs.get("upper") else text)
            run.bold = kwargs.get("bold") or None
            run.italic = kwargs.get("italic") or None
            run.font.size = Pt(kwargs["size"])
        return paragraph
    paragraph = para(cell, text, indent=False, space_after=0, **kwargs)
    paragraph.paragraph_format.line_spacing = 1.0
    return paragraph


def header(doc: WordDocument, number_line: str, *, subject: str | None = None) -> None:
    """The two-column header. A state body's (Decree 30/2020, Appendix I, items 1-4): governing body, issuer
    and number on the left; the national motto and the place-date line on the right. A Party body's
    (Hướng dẫn 36-HD/VPTW): its superior Party body, the issuer and a star on the left, then the number;
    ĐẢNG CỘNG SẢN VIỆT NAM, underlined, over the place-date line on the right."""
    table = doc.add_table(rows=1, cols=2)
    no_borders(table)
    left, right = table.rows[0].cells
    # superior body (plain), issuing body (bold): one pair per issuer of a joint document (tasks.documents.word.header_lines)
    cell_para(left, "{%p for line in issuer.lines %}", first=True, size=13)
    cell_para(left, "{%p if line.bold %}", size=13)
    cell_para(left, "{{ line.text }}", bold=True, size=13)
    cell_para(left, "{%p else %}", size=13)
    cell_para(left, "{{ line.text }}", size=13)
    cell_para(left, "{%p endif %}", size=13)
    cell_para(left, "{%p endfor %}", size=13)
    cell_para(left, "{%p if issuer.party %}", size=13)
    cell_para(left, "*", size=13)
    cell_para(left, "{%p else %}", size=13)
    rule(left, 2.5, LEFT_COLUMN.cm)
    cell_para(left, "{%p endif %}", size=13)
    cell_para(left, number_line, size=13, space_before=6)
    if subject:
        cell_para(left, subject, size=12)
    cell_para(right, "{%p if issuer.party %}", first=True, size=13)
    cell_para(right, "ĐẢNG CỘNG SẢN VIỆT NAM", bold=True, underline=True, size=13)
    cell_para(right, "{%p else %}", size=13)
    cell_para(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, size=12)
    cell_para(right, "Độc lập - Tự do - Hạnh phúc", bold=True, size=13)
    rule(right, 5.6, RIGHT_COLUMN.cm)
    cell_para(right, "{%p endif %}", size=13)
    cell_para(right, "{{ place_date }}", italic=True, size=13, space_before=6)
    set_widths(table, [LEFT_COLUMN, RIGHT_COLUMN])
    para(doc, indent=False, space_after=0)


def title(doc: WordDocument, kind: str, subtitle: str) -> None:
    para(doc, kind, bold=True, size=14, align=CENTER, indent=False, space_after=0, space_before=6, keep_with_next=True)
    para(doc, subtitle, bold=True, size=14, align=CENTER, indent=False, space_after=0, keep_with_next=True)
    rule(doc, 3.0, TEXT_WIDTH.cm)
    para(doc, indent=False, space_after=0)


def heading(doc: Container, text: str) -> Paragraph:
    """A numbered heading line ('I. MỤC ĐÍCH, YÊU CẦU', '1. Mục đích'): bold, kept with what follows."""
    return para(doc, text, bold=True, keep_with_next=True)


def paragraphs(doc: Container, items: str, text: str = "{{ p }}", var: str = "p") -> None:
    """One body paragraph per item of `items` (a list of strings in the context)."""
    tag(doc, f"{{%p for {var} in {items} %}}")
    para(doc, text)
    tag(doc, "{%p endfor %}")


def closing(doc: WordDocument, *, recipients: list[str] | None = None) -> None:
    """'Nơi nhận:' bottom left, the signer's title and name bottom right (Decree 30, items 7-9).

    The recipients are the context's `recipients` list, or the fixed lines given. The block prints whole
    (its row never splits across pages) on the page of the paragraph before it, and the document ends
    right after it: no page holding only its number.
    """
    last = doc.paragraphs[-1] if doc.paragraphs else None
    if last is not None:
        last.paragraph_format.keep_with_next = True  # the closing sentence ("… ./.") goes where the signature goes
    # A joint document (co_signers in the context) signs in a row of its own: the co-issuers on the left, the
    # lead issuer on the right (Decree 30, Appendix I, item 8); Nơi nhận follows under them.
    table = doc.add_table(rows=4, cols=2)
    no_borders(table)
    first_paragraph(table.rows[0].cells[0]).add_run("{%tr if co_signers %}")
    co_left, co_right = table.rows[1].cells
    cell_para(co_left, "{%p for sg in co_signers %}", first=True, size=14)
    _signature(co_left, "sg", keep_with_next=True)
    cell_para(co_left, "{%p endfor %}", size=14)
    _signature(co_right, "signer", keep_with_next=True, first=True)
    first_paragraph(table.rows[2].cells[0]).add_run("{%tr endif %}")
    for row in (table.rows[1], table.rows[3]):
        etree.SubElement(row._tr.get_or_add_trPr(), qn("w:cantSplit"))
    left, right = table.rows[3].cells
    cell_para(left, "Nơi nhận:", first=True, bold=True, italic=True, size=12, align=LEFT)
    if recipients is None:
        tag(left, "{%p for r in recipients %}")
        cell_para(left, "- {{ r }}{{ '.' if loop.last else ';' }}", size=11, align=LEFT)
        tag(left, "{%p endfor %}")
    else:
        for i, line in enumerate(recipients):
            cell_para(left, f"- {line}{'.' if i == len(recipients) - 1 else ';'}", size=11, align=LEFT)
    cell_para(right, "{%p if not co_signers %}", first=True, size=14)
    _signature(right, "signer")
    cell_para(right, "{%p endif %}", size=14)
    set_widths(table, [Cm(7.5), Cm(21.0 - 3.0 - 1.5 - 7.5)])
    # A document cannot end with a table: Word and LibreOffice add a paragraph after it, which, full size,
    # can spill onto a page of its own. This one is 1 pt high.
    end = para(doc, indent=False, space_after=0)
    end.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    end.paragraph_format.line_spacing = Pt(1)
    end.add_run("").font.size = Pt(1)


def _signature(cell: _Cell, signer: str, *, keep_with_next: bool = False, first: bool = False) -> None:
    """A signer's block in a cell (from the cell's own first paragraph when `first`): the TM./KT. lines and
    the title (Decree 30, item 7), room to sign, the name."""
    cell_para(cell, f"{{%p for line in {signer}.lines %}}", size=14, first=first)
    cell_para(cell, "{{ line }}", bold=True, size=14, keep_with_next=keep_with_next)
    cell_para(cell, "{%p endfor %}", size=14)
    for _ in range(4):
        cell_para(cell, "", size=14, keep_with_next=keep_with_next)
    cell_para(cell, f"{{{{ {signer}.name }}}}", bold=True, size=14, keep_with_next=keep_with_next)


def data_table(doc: WordDocument, headers: list[str], cells: list[str], widths_cm: list[float], *, loop: str) -> Table:
    """A bordered table: a bold header row, then one row per item of `loop` ('t in targets')."""
    table = doc.add_table(rows=3, cols=len(headers))
    grid_borders(table)
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        cell_para(cell, text, first=True, bold=True, size=12)
    _mark_repeat_header(table)
    first_paragraph(table.rows[1].cells[0]).add_run(f"{{%tr for {loop} %}}")
    for header_text, cell, text in zip(headers, table.rows[2].cells, cells, strict=True):
        align = LEFT if header_text in ("Chỉ tiêu", "Đơn vị") else CENTER  # names read from the left, figures centred
        cell_para(cell, text, first=True, size=12, align=align)
    # the closing tag row
    closing_row = table.add_row()
    first_paragraph(closing_row.cells[0]).add_run("{%tr endfor %}")
    set_widths(table, [Cm(w) for w in widths_cm])
    return table


def _mark_repeat_header(table: Table) -> None:
    etree.SubElement(table.rows[0]._tr.get_or_add_trPr(), qn("w:tblHeader"))


def plan_template() -> WordDocument:
    """KẾ HOẠCH: the plan a level issues (or the implementing plan drafted for a unit)."""
    doc = new_document()
    header(doc, "{{ number_line }}")
    title(doc, "{{ plan.kind_title }}", "{{ plan.title }}")
    tag(doc, "{%p for b in plan.basis %}")
    para(doc, "{{ 'Thực hiện' if plan.implements else 'Căn cứ' }} {{ b }}{{ '.' if loop.last else ';' }}")
    tag(doc, "{%p endfor %}")
    para(doc, "{{ issuer.names }} xây dựng {{ plan.kind_word }} {{ plan.title | lower_first }} như sau:")

    heading(doc, "I. MỤC ĐÍCH, YÊU CẦU")
    heading(doc, "1. Mục đích")
    paragraphs(doc, "plan.purposes")
    heading(doc, "2. Yêu cầu")
    paragraphs(doc, "plan.requirements")

    heading(doc, "II. NỘI DUNG, NHIỆM VỤ")
    tag(doc, "{%p for t in plan.tasks %}")
    heading(doc, "{{ loop.index }}. {{ t.title }}")
    paragraphs(doc, "t.paragraphs")
    tag(doc, "{%p if t.lead %}")
    para(doc, "- Đơn vị chủ trì: {{ t.lead }}{{ '; đơn vị phối hợp: ' ~ t.support if t.support else '' }}.")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p endfor %}")

    heading(doc, "III. CHỈ TIÊU CỤ THỂ NĂM {{ plan.year }}")
    tag(doc, "{%p for t in plan.targets %}")
    para(doc, "{{ loop.index }}. {{ t.text }}")
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p for t in plan.allocated %}")
    para(doc, "Phân bổ chỉ tiêu “{{ t.metric }}” ({{ t.total }}) cho các đơn vị:", keep_with_next=True)
    data_table(doc, ["STT", "Đơn vị", "Chỉ tiêu giao"], ["{{ loop.index }}", "{{ a.unit }}", "{{ a.share }}"], [1.5, 10.5, 4.5], loop="a in t.shares")
    para(doc, indent=False, space_after=0)
    tag(doc, "{%p endfor %}")

    heading(doc, "IV. TỔ CHỨC THỰC HIỆN")
    para(doc, "1. Các cơ quan, đơn vị được giao nhiệm vụ", bold=True, keep_with_next=True)
    para(
        doc,
        "{{ plan.assignees | join(', ') if plan.assignees | length <= 12 else 'Các đơn vị trực thuộc (' ~ plan.assignees | length ~ ' đơn vị)' }}: căn cứ nội dung Kế hoạch này, xây dựng kế hoạch cụ thể, phân công nhiệm vụ và tổ chức triển khai thực hiện phù hợp với tình hình thực tế của đơn vị.",
    )
    para(doc, "2. Chế độ báo cáo", bold=True, keep_with_next=True)
    tag(doc, "{%p for d in plan.duties %}")
    para(
        doc,
        "- {{ d.title }}: gửi về {{ issuer.name }} trước ngày {{ d.due_on | short_date }}{{ ' (số liệu tính đến ngày ' ~ (d.cutoff_on | short_date) ~ ')' if d.cutoff_on else '' }}.",
    )
    tag(doc, "{%p endfor %}")
    para(doc, "Trong quá trình thực hiện, nếu có khó khăn, vướng mắc, đề nghị các đơn vị kịp thời phản ánh về {{ issuer.name }} để được hướng dẫn, giải quyết.")
    para(doc, "Trên đây là {{ plan.kind_word }} {{ plan.title | lower_first }} của {{ issuer.names }}./.")
    closing(doc)
    return doc


def report_template() -> WordDocument:
    """BÁO CÁO: a level's consolidated report, which goes up as its own report."""
    doc = new_document()
    header(doc, "{% if issuer.party %}Số        -BC/{{ issuer.symbol }}{% else %}Số:        /BC-{{ issuer.symbol }}{% endif %}")
    title(doc, "BÁO CÁO", "{{ report.title }}")
    para(
        doc,
        "Thực hiện {{ plan.kind_word }} số {{ plan.code }} ngày {{ plan.issued_on | short_date }} của {{ plan.issuer_name }} {{ plan.title | lower_first }}, trên cơ sở báo cáo của {{ r.submitted | length }}/{{ r.expected }} đơn vị{{ ' (số liệu tính đến ngày ' ~ (duty.cutoff_on | short_date) ~ ')' if duty.cutoff_on else '' }}, {{ issuer.name }} báo cáo kết quả như sau:",
    )

    tag(doc, "{%p if plan.version_note is defined and plan.version_note %}")
    para(doc, "{{ plan.version_note }}", italic=True)
    tag(doc, "{%p endif %}")

    # The numbered sections as the duty lists them (models.report_outline): each may open with the reporting
    # status and the figures table, then gives every unit's text once, under the unit's name.
    tag(doc, "{%p for s in report.sections %}")
    heading(doc, "{{ s.numeral }}. {{ s.title | upper }}")
    tag(doc, "{%p if s.reporting %}")
    para(
        doc,
        "Số đơn vị phải báo cáo: {{ r.expected }}; đã báo cáo: {{ r.submitted | length }} (đạt {{ r.completeness | vn_percent }}); báo cáo đúng hạn (trước ngày {{ duty.due_on | short_date }}): {{ r.on_time | length }} (đạt {{ r.timeliness | vn_percent }}).",
    )
    para(
        doc,
        "Đơn vị báo cáo chậm: {% for u in r.late %}{{ u.name }} (ngày {{ u.submitted_on | short_date }}, chậm {{ (u.submitted_on - u.due_on).days }} ngày){{ '.' if loop.last else '; ' }}{% else %}không có.{% endfor %}",
    )
    para(
        doc,
        "Đơn vị chưa báo cáo: {% for u in r.missing %}{{ u.name }}{{ ' (quá hạn ' ~ (r.as_of - u.due_on).days ~ ' ngày)' if u.is_late(r.as_of) else '' }}{{ '.' if loop.last else '; ' }}{% else %}không có.{% endfor %}",
    )
    tag(doc, "{%p if r.returned %}")
    para(doc, "Đơn vị bị trả lại, chờ bổ sung: {% for u in r.returned %}{{ u.name }} (lần gửi {{ u.version }}){{ '.' if loop.last else '; ' }}{% endfor %}")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if r.before_amendment %}")
    para(
        doc,
        "Báo cáo lập theo kế hoạch trước sửa đổi (số liệu vẫn được tổng hợp, chỉ tiêu đánh giá theo kế hoạch sửa đổi): {% for u in r.before_amendment %}{{ u.name }} (gửi ngày {{ u.submitted_on | short_date }}, trước văn bản số {{ u.earlier_plan }}){{ '.' if loop.last else '; ' }}{% endfor %}",
    )
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if report.levels %}")
    para(doc, "Tình hình báo cáo theo từng cấp (đến ngày {{ r.as_of | short_date }}):", keep_with_next=True)
    data_table(
        doc,
        ["Cấp", "Phải báo cáo", "Đã báo cáo", "Tỷ lệ đầy đủ", "Đúng hạn", "Tỷ lệ đúng hạn"],
        [
            "Cấp {{ lv.level }}",
            "{{ lv.expected }}",
            "{{ lv.submitted }}",
            "{{ lv.completeness | vn_percent }}",
            "{{ lv.on_time }}",
            "{{ lv.timeliness | vn_percent }}",
        ],
        [2.0, 2.8, 2.8, 3.0, 2.6, 3.3],
        loop="lv in report.levels",
    )
    para(doc, indent=False, space_after=0)
    tag(doc, "{%p endif %}")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if s.figures %}")
    para(doc, "Kết quả thực hiện các chỉ tiêu: đạt {{ r.met }}/{{ r.judged }} chỉ tiêu, cụ thể:", keep_with_next=True)
    data_table(
        doc,
        ["STT", "Chỉ tiêu", "Mục tiêu", "Kết quả", "Đơn vị báo cáo", "Đánh giá"],
        ["{{ loop.index }}", "{{ t.metric }}", "{{ t.target }}", "{{ t.figure }}", "{{ t.reported }}", "{{ t.verdict }}"],
        [1.2, 5.4, 2.6, 3.2, 2.0, 2.1],
        loop="t in report.targets",
    )
    para(doc, indent=False, space_after=0)
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if s.asked %}")
    tag(doc, "{%p for u in s.texts %}")
    para(doc, "{{ u.unit_name }}", bold=True, italic=True, keep_with_next=True)  # each unit's text once, under its name
    paragraphs(doc, "u.paragraphs")
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p if not s.texts %}")
    para(doc, "Chưa có đơn vị nào báo cáo nội dung này.", italic=True)
    tag(doc, "{%p endif %}")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p endfor %}")
    para(doc, "Trên đây là báo cáo {{ report.title | lower_first }} của {{ issuer.name }}./.")
    closing(doc)
    return doc


def notice_template() -> WordDocument:
    """The letter (công văn) that assigns a plan's duty to one unit, sent with the plan and the form.
    Its context is the assignment email's (tasks.plans.contexts.assignment_context) plus issuer and signer."""
    doc = new_document()
    header(
        doc,
        "{% if issuer.party %}Số        -CV/{{ issuer.symbol }}{% else %}Số:        /{{ issuer.symbol }}-VP{% endif %}",
        subject="V/v triển khai thực hiện {{ plan.kind_word }} số {{ plan.code }}",
    )
    para(doc, "Kính gửi: {{ unit.name }}.", align=CENTER, indent=False, space_after=12)
    para(
        doc,
        "Thực hiện {{ plan.kind_word }} số {{ plan.code }} ngày {{ plan.issued_on | short_date }} của {{ plan.issuer_name }} {{ plan.title | lower_first }} (gửi kèm theo), {{ issuer.name }} đề nghị {{ unit.name }} thực hiện các nội dung sau:",
    )

    heading(doc, "1. Nhiệm vụ")
    # Worded as plans assign work: "Giao Công an phường chủ trì, phối hợp với … <the task>".
    tag(doc, "{%p for t in tasks %}")
    tag(doc, "{%p if t.lead %}")
    para(doc, "- Giao {{ unit.name }} chủ trì{{ ', phối hợp với ' ~ t.partners if t.partners else '' }} {{ t.title.rstrip('.') | lower_first }}.")
    tag(doc, "{%p elif t.support %}")
    para(doc, "- Giao {{ unit.name }} phối hợp{{ ' với ' ~ t.partners if t.partners else '' }} {{ t.title.rstrip('.') | lower_first }}.")
    tag(doc, "{%p else %}")
    para(doc, "- Giao {{ unit.name }} {{ t.title.rstrip('.') | lower_first }}.")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p if not tasks %}")
    para(doc, "- Thực hiện các nội dung của Kế hoạch theo chức năng, nhiệm vụ của đơn vị.")
    tag(doc, "{%p endif %}")

    heading(doc, "2. Chỉ tiêu")
    tag(doc, "{%p for t in targets %}")
    para(
        doc,
        "- {{ t.metric }}: {% if t.comparator is none %}báo cáo số liệu, không đặt mục tiêu{% else %}{{ t.comparator | comparator_word }} {{ t.value | measure(t.unit_of_measure) }}{% endif %}.",
    )
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p if not targets %}")
    para(doc, "- Không giao chỉ tiêu định lượng; đơn vị báo cáo kết quả thực hiện các nhiệm vụ nêu trên.")
    tag(doc, "{%p endif %}")

    tag(doc, "{%p if duty.is_plan %}")
    heading(doc, "3. Ban hành kế hoạch thực hiện")
    para(doc, "- Xây dựng, ban hành kế hoạch thực hiện của đơn vị và gửi về {{ issuer.name }} trước ngày {{ assignment.due_on | short_date }}.")
    tag(doc, "{%p if has_subordinates %}")
    para(doc, "- Giao nhiệm vụ, chỉ tiêu cho các đơn vị trực thuộc; theo dõi, tổng hợp kết quả thực hiện của các đơn vị.")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p else %}")
    heading(doc, "3. Chế độ báo cáo")
    # "Gửi" only before a report ("Gửi báo cáo …"); a duty to do something is given ("Giao … thành lập …").
    tag(doc, "{%p if duty.title.lower().startswith('báo cáo') %}")
    para(
        doc,
        "- Gửi {{ duty.title | lower_first }}{{ ' (số liệu tính đến ngày ' ~ (duty.cutoff_on | short_date) ~ ')' if duty.cutoff_on else '' }} về {{ issuer.name }} trước ngày {{ assignment.due_on | short_date }}, theo biểu mẫu gửi kèm theo.",
    )
    tag(doc, "{%p else %}")
    para(
        doc,
        "- Giao {{ unit.name }} {{ duty.title.rstrip('.') | lower_first }}; báo cáo kết quả{{ ' (số liệu tính đến ngày ' ~ (duty.cutoff_on | short_date) ~ ')' if duty.cutoff_on else '' }} về {{ issuer.name }} trước ngày {{ assignment.due_on | short_date }}, theo biểu mẫu gửi kèm theo.",
    )
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if duty.sections %}")
    para(doc, "- Báo cáo gồm các nội dung: {{ duty.sections | join('; ') }}.")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if has_subordinates %}")
    para(doc, "- Đơn vị tổng hợp báo cáo của các đơn vị trực thuộc vào báo cáo của mình.")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p endif %}")

    para(doc, "Mã theo dõi: {{ assignment.reference }}. Khi gửi báo cáo, đơn vị trả lời thư điện tử giao nhiệm vụ (kèm biểu mẫu đã điền) và giữ nguyên mã này.")
    para(doc, "Đề nghị {{ unit.name }} quan tâm, triển khai thực hiện./.")
    closing(doc, recipients=["Như trên", "Lưu: VT"])
    return doc


def amendment_template() -> WordDocument:
    """KẾ HOẠCH (or QUYẾT ĐỊNH) sửa đổi, bổ sung: what an amendment changes in an issued plan, item by item;
    the rest of the plan stands. Its context: tasks.documents.word.amendment_document_context."""
    doc = new_document()
    header(doc, "{{ number_line }}")
    title(
        doc,
        "{{ amendment.kind_title }}",
        "Sửa đổi, bổ sung {{ plan.kind_word }} số {{ plan.code }} ngày {{ plan.issued_on | short_date }} của {{ plan.issuer_name }} {{ plan.title | lower_first }}",
    )
    para(
        doc, "Căn cứ {{ plan.kind_word }} số {{ plan.code }} ngày {{ plan.issued_on | short_date }} của {{ plan.issuer_name }} {{ plan.title | lower_first }};"
    )
    paragraphs(doc, "amendment.reason")
    para(doc, "{{ issuer.name }} sửa đổi, bổ sung một số nội dung của {{ plan.kind_word }} số {{ plan.code }} như sau:")
    tag(doc, "{%p for item in items %}")
    para(doc, "{{ loop.index }}. {{ item.lines[0] }}")
    tag(doc, "{%p for line in item.lines[1:] %}")
    para(doc, "{{ line }}")
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p endfor %}")
    para(doc, "Các nội dung khác giữ nguyên theo {{ plan.kind_word }} số {{ plan.code }} ngày {{ plan.issued_on | short_date }} của {{ plan.issuer_name }}.")
    para(doc, "Đề nghị các cơ quan, đơn vị căn cứ nội dung sửa đổi, bổ sung nêu trên, kịp thời điều chỉnh kế hoạch của đơn vị và tổ chức thực hiện./.")
    closing(doc)
    return doc


TEMPLATES = {
    "ke_hoach.docx": plan_template,
    "bao_cao.docx": report_template,
    "cong_van_giao_nhiem_vu.docx": notice_template,
    "sua_doi_ke_hoach.docx": amendment_template,
}


def slim(doc: WordDocument) -> WordDocument:
    """Drop the parts of python-docx's default package no office needs: Word 2010's duplicate
    styles (stylesWithEffects, 0.4 MB of XML), the sample custom XML and the thumbnail. Every
    document sent to 2,000 units carries the package, so it is kept small."""
    for rId, rel in list(doc.part.rels.items()):
        if rel.reltype.rsplit("/", 1)[-1] in ("stylesWithEffects", "customXml"):
            doc.part.rels.pop(rId)
    for rId, rel in list(doc.part.package.rels.items()):
        if rel.reltype.rsplit("/", 1)[-1] == "thumbnail":
            doc.part.package.rels.pop(rId)
    return doc


def build(folder: Path = HERE) -> list[Path]:
    paths = []
    for name, make in TEMPLATES.items():
        path = folder / name
        slim(make()).save(str(path))  # python-docx types its argument as str or a stream
        paths.append(path)
    return paths


if __name__ == "__main__":
    for built in build():
        print(built)
