"""The peer of `make bench`: the mail-merge script a clerk would write to send the same notices.

For each row of a merge list (one unit): the letter rendered from the project's Word template with
docxtpl (python-docx underneath), the data-entry form filled from the Excel template with openpyxl,
the notice's text and HTML rendered with Jinja2, and a stdlib `EmailMessage` carrying the letter, the
plan and the form, sent over one `smtplib` connection. No database, no outbox, no retries, no
record of what was sent: what is left is the work of building and sending every message, which
the cascade does too. (The project itself sends through yagmail; this is a yardstick.)

    python benchmarks/peers/mail_merge.py MERGE_LIST.json --port 2525

A merge list is JSON: {"plan_document": path, "sender": address, "rows": [{"to": [addresses],
"subject": text, "letter": the letter template's context, "form": {"cells": {sheet: {cell: text}},
"indicators": [[metric, unit, goal], ...], "sections": [title, ...]}}]}; dates as 'YYYY-MM-DD'.
"""

from __future__ import annotations

import argparse
import json
import smtplib
import time
from datetime import date
from email.message import EmailMessage
from io import BytesIO
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate
from jinja2 import Environment
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parents[2]
LETTER = ROOT / "templates" / "documents" / "cong_van_giao_nhiem_vu.docx"
FORM = ROOT / "templates" / "forms" / "data_entry.xlsx"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIRST_INDICATOR_ROW, FIRST_SECTION_ROW = 23, 5

TEXT = """Kính gửi: {{ unit.name }}

Thực hiện Kế hoạch số {{ plan.code }} ngày {{ plan.issued_on | short_date }} của {{ plan.issuer_name }}, đề nghị {{ unit.name }}
tổ chức thực hiện và gửi {{ duty.title | lower_first }} trước ngày {{ assignment.due_on | short_date }}.

Chỉ tiêu:
{% for t in targets %}  - {{ t.metric }}: {{ t.value if t.value is not none else '-' }} {{ t.unit_of_measure }}
{% endfor %}
Mã theo dõi: {{ assignment.reference }}. Trang báo cáo trực tuyến: {{ assignment.portal_url }}
"""
HTML = """<p>Kính gửi: {{ unit.name }}</p>
<p>Thực hiện Kế hoạch số {{ plan.code }} ngày {{ plan.issued_on | short_date }} của {{ plan.issuer_name }}, đề nghị {{ unit.name }}
tổ chức thực hiện và gửi {{ duty.title | lower_first }} trước ngày <b>{{ assignment.due_on | short_date }}</b>.</p>
<ul>{% for t in targets %}<li>{{ t.metric }}: {{ t.value if t.value is not none else '-' }} {{ t.unit_of_measure }}</li>{% endfor %}</ul>
<p>Mã theo dõi: {{ assignment.reference }}. <a href="{{ assignment.portal_url }}">Trang báo cáo trực tuyến</a></p>
"""


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def environment() -> Environment:
    """Jinja2 with the few filters the letter template uses, written as a clerk would."""
    env = Environment(autoescape=False)
    env.filters["short_date"] = lambda v: _day(v).strftime("%d/%m/%Y") if v else ""
    env.filters["lower_first"] = lambda t: t if t[1:2].isupper() else t[:1].lower() + t[1:]
    env.filters["comparator_word"] = lambda c: {"ge": "ít nhất", "gt": "trên", "le": "không quá", "lt": "dưới", "eq": "bằng"}.get(str(c), str(c))
    env.filters["measure"] = lambda v, unit: "-" if v is None else (f"{v}%" if unit == "%" else f"{v} {unit}")
    return env


def form_bytes(form: dict[str, Any]) -> bytes:
    """The template filled cell by cell: header texts, then a row per indicator and a title per section."""
    wb = load_workbook(FORM)
    for sheet, cells in form["cells"].items():
        for cell, text in cells.items():
            wb[sheet][cell] = text
    table, narrative = wb.worksheets[0], wb.worksheets[1]
    for i, (metric, unit, goal) in enumerate(form["indicators"]):
        row = FIRST_INDICATOR_ROW + i
        table.cell(row, 1, i + 1), table.cell(row, 2, metric), table.cell(row, 3, unit), table.cell(row, 4, goal)
    for i, title in enumerate(form["sections"]):
        narrative.cell(FIRST_SECTION_ROW + 2 * i, 1, f"{i + 1}. {title}")
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def letter_bytes(env: Environment, context: dict[str, Any]) -> bytes:
    letter = DocxTemplate(LETTER)
    letter.render(context, env)
    out = BytesIO()
    letter.save(out)
    return out.getvalue()


def merge(rows: list[dict[str, Any]], plan_document: Path, port: int, host: str = "127.0.0.1", sender: str = "bench@plan-cascade.local") -> float:
    """Build and send one message per row over one connection; returns the seconds it took."""
    env = environment()
    text, html = env.from_string(TEXT), env.from_string(HTML)
    started = time.perf_counter()
    plan = plan_document.read_bytes()
    with smtplib.SMTP(host, port) as smtp:
        for row in rows:
            context = row["letter"]
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = sender, ", ".join(row["to"]), row["subject"]
            message.set_content(text.render(context))
            message.add_alternative(html.render(context), subtype="html")
            code = context["assignment"]["reference"]
            message.add_attachment(letter_bytes(env, context), maintype="application", subtype=DOCX.split("/")[1], filename=f"Cong van {code}.docx")
            message.add_attachment(plan, maintype="application", subtype=DOCX.split("/")[1], filename=plan_document.name)
            message.add_attachment(form_bytes(row["form"]), maintype="application", subtype=XLSX.split("/")[1], filename=f"Bieu mau {code}.xlsx")
            smtp.send_message(message)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("merge_list", type=Path)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    data = json.loads(args.merge_list.read_text(encoding="utf-8"))
    seconds = merge(data["rows"], Path(data["plan_document"]), args.port, args.host, data.get("sender", "bench@plan-cascade.local"))
    print(f"{len(data['rows'])} messages in {seconds:.2f} s ({len(data['rows']) / seconds:,.0f}/s)")


if __name__ == "__main__":
    main()
