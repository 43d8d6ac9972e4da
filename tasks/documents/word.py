"""Word documents per Decree 30/2020: the plan (KẾ HOẠCH), the consolidated report (BÁO CÁO) and
the letter assigning a duty to a unit, rendered from the docxtpl templates in templates/documents/.

Contexts are plain dicts built here from the database; every word the reader sees is in the
templates. Files are written atomically, so a crash never leaves half a document under its name.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from docxtpl import DocxTemplate
from jinja2 import Template
from lxml import etree
from sqlalchemy.orm import Session

from cascade.formatting import vn_date
from cascade.settings import get_settings
from models.assignment import Assignment
from models.consolidation import Consolidation, ReportHeader
from models.plan import Aggregation, Plan, PlanAmendment, TaskRole, duty_assignees, is_party_symbol, joined_names
from models.report_outline import report_outline
from models.unit import Unit, UnitSystem
from tasks.documents.signing import signature_lines
from tasks.plans.contexts import assignment_context, reference
from tasks.plans.targets import target_sharers, unit_share
from templates import TEMPLATE_DIR, document_environment, environment, measure, message, render

DOCUMENTS_DIR = TEMPLATE_DIR / "documents"
PLAN_TEMPLATE = "ke_hoach.docx"
REPORT_TEMPLATE = "bao_cao.docx"
NOTICE_TEMPLATE = "cong_van_giao_nhiem_vu.docx"
AMENDMENT_TEMPLATE = "sua_doi_ke_hoach.docx"

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n|\n")
_UNSAFE_IN_NAME = re.compile(r'[\\/:*?"<>|]+')
_DOCUMENT_PART = "word/document.xml"
_CORE_PART = "docProps/core.xml"


@dataclass(frozen=True)
class _CompiledTemplate:
    """A Word template prepared once per process: every part but the body, already compressed into
    a package, and its document.xml as a Jinja template after docxtpl's tag patching ({%p %},
    {%tr %}, tags split over runs)."""

    base: bytes
    body: Template
    docx: DocxTemplate


@lru_cache(maxsize=16)
def _compiled(template: str) -> _CompiledTemplate:
    raw = (DOCUMENTS_DIR / template).read_bytes()
    docx = DocxTemplate(BytesIO(raw))
    base = BytesIO()
    with zipfile.ZipFile(BytesIO(raw)) as archive, zipfile.ZipFile(base, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for info in archive.infolist():
            if info.filename not in (_DOCUMENT_PART, _CORE_PART):
                out.writestr(info, archive.read(info))
        xml = archive.read(_DOCUMENT_PART).decode("utf-8")
    source = re.sub(r"<w:p([ >])", r"\n<w:p\1", docx.patch_xml(xml))
    return _CompiledTemplate(base.getvalue(), document_environment().from_string(source), docx)


def signer_context(issuer_name: str, title: str, name: str, *, party: bool = False) -> dict[str, Any]:
    """The signer's block for a template: the lines above the signature (tasks.documents.signing) and the name."""
    return {"title": title, "name": name, "lines": signature_lines(issuer_name, title, party=party)}


def _core_properties(title: str, author: str) -> bytes:
    """The package's core properties: what Word shows as the document's title and author (never the library's name)."""
    return (
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{xml_escape(title)}</dc:title><dc:creator>{xml_escape(author)}</dc:creator>"
        f"<cp:lastModifiedBy>{xml_escape(author)}</cp:lastModifiedBy><cp:revision>1</cp:revision></cp:coreProperties>"
    ).encode()


def render_docx(template: str, context: dict[str, Any], path: Path, *, title: str = "", author: str = "") -> Path:
    """Render `templates/documents/<template>` with `context` into `path` (atomically); returns the path.

    Same tags and result as docxtpl's `render` for the document body (its patching, autoescape,
    line breaks), without re-reading, re-serialising and re-compressing the package's other parts
    for every document (its styles alone are 0.8 MB of XML): the rendered body is appended to a
    copy of the compressed rest. The rendered XML is checked to parse. `title` and `author` (the
    issuing body) are the document's core properties.
    """
    compiled = _compiled(template)
    xml = re.sub(r"\n<w:p([ >])", r"<w:p\1", compiled.body.render(context))
    xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
    xml = compiled.docx.resolve_listing(xml)
    data = xml.encode("utf-8")
    try:
        etree.fromstring(data)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"templates/documents/{template} rendered to invalid XML: {exc}") from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(compiled.base)
    with zipfile.ZipFile(partial, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_DOCUMENT_PART, data)
        archive.writestr(_CORE_PART, _core_properties(title, author))
    partial.replace(path)
    return path


def paragraphs(text: str | None) -> list[str]:
    """A text's paragraphs (one per line or blank-line-separated block), without empty ones."""
    return [" ".join(chunk.split()) for chunk in _PARAGRAPH_BREAK.split(text or "") if chunk.strip()]


def file_part(text: str) -> str:
    """A document number or code made safe for a file name: '104/KH-UBND' → '104-KH-UBND'."""
    return _UNSAFE_IN_NAME.sub("-", text).strip("- ") or "du-thao"


def roman(number: int) -> str:
    """I, II, III ... as section numbers are written."""
    numerals = (
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    )
    out = []
    for value, numeral in numerals:
        while number >= value:
            out.append(numeral)
            number -= value
    return "".join(out)


def number_line(plan: Plan | PlanAmendment) -> str:
    """'Số: 74/KH-SXD' (Decree 30), 'Số 215-KH/HU' (Hướng dẫn 36: no colon); a draft leaves room for the number."""
    if is_party_symbol(plan.symbol):
        return f"Số {plan.number}-{plan.symbol}" if plan.number else f"Số {' ' * 8}-{plan.symbol}"
    return f"Số: {plan.code}" if plan.number else f"Số: {' ' * 8}/{plan.symbol}"


def header_lines(units: Sequence[Unit]) -> list[dict[str, Any]]:
    """The left column of a header above the number, in capitals: the superior body (plain), then the issuing
    body (bold). A joint document's issuers under one superior body share its line; else each has its own."""
    superiors = [(unit.governing_body or "").upper() for unit in units]
    lines: list[dict[str, Any]] = []
    for i, unit in enumerate(units):
        if superiors[i] and (i == 0 or superiors[i] != superiors[i - 1]):
            lines.append({"text": superiors[i], "bold": False})
        lines.append({"text": unit.name.upper(), "bold": True})
    return lines


def issuer_context(unit: Unit, co_issuers: Sequence[Unit] = ()) -> dict[str, Any]:
    """How the issuing body appears in a document header (with a joint document's other issuers, lead first)."""
    return {
        "name": unit.name,
        "name_upper": unit.name.upper(),
        "lines": header_lines([unit, *co_issuers]),
        "names": joined_names([unit.name, *(co.name for co in co_issuers)]),
        "governing_body": (unit.governing_body or "").upper(),
        "party": unit.system == UnitSystem.PARTY,
        "symbol": unit.issuer_symbol or "",
        "place": unit.place or "",
    }


def with_archive_line(recipients: list[str]) -> list[str]:
    """The recipients without trailing punctuation, ending with the archive line ('Lưu: VT') that
    Decree 30 requires; one is added when the list has none."""
    lines = [line.strip().rstrip(";.").strip() for line in recipients if line.strip().rstrip(";.").strip()]
    if not any(line.lower().startswith("lưu") for line in lines):
        lines.append(message("plans.archive_line"))
    archive = [line for line in lines if line.lower().startswith("lưu")]
    return [line for line in lines if not line.lower().startswith("lưu")] + archive


# ----------------------------------------------------------------------------------------------
# The plan
# ----------------------------------------------------------------------------------------------


def plan_document_context(session: Session, plan: Plan) -> dict[str, Any]:
    """Everything templates/documents/ke_hoach.docx shows of a plan."""
    on = plan.issued_on
    sharers = target_sharers(session, plan, on)
    allocated = []
    for target in plan.targets:
        if target.aggregation != Aggregation.SUM or not (target.allocations or target.allocation_rule):
            continue
        names = {u.code: u.name for u in session.query(Unit).filter(Unit.code.in_(sharers.get(target.code, [])))}
        shares = [
            {"unit": names[code], "share": measure(unit_share(session, target, code, on), target.unit_of_measure)} for code in sharers.get(target.code, [])
        ]
        if shares:
            allocated.append({"metric": target.metric, "total": measure(target.value, target.unit_of_measure), "shares": shares})
    duties = [duty for duty in plan.duties if not duty.withdrawn]  # a duty an amendment withdrew is no longer the plan's
    assignees: dict[str, str] = {}
    for duty in duties:
        for unit in duty_assignees(session, duty, on=on):
            assignees.setdefault(unit.code, unit.name)
    tasks = []
    for task in plan.tasks:
        lead = sorted(tu.unit.name for tu in task.units if tu.role == TaskRole.LEAD)
        support = sorted(tu.unit.name for tu in task.units if tu.role == TaskRole.SUPPORT)
        tasks.append({"title": task.title, "paragraphs": paragraphs(task.content), "lead": ", ".join(lead), "support": ", ".join(support)})
    co_units = {u.code: u for u in session.query(Unit).filter(Unit.code.in_([c["code"] for c in plan.co_issuers or ()]))}
    co_issuers = [(co_units[c["code"]], c) for c in plan.co_issuers or () if c["code"] in co_units]
    signer = signer_context(plan.issuer.name, plan.signer_title, plan.signer_name, party=plan.issuer.system == UnitSystem.PARTY)
    co_signers = [signer_context(unit.name, c["signer_title"], c["signer_name"], party=unit.system == UnitSystem.PARTY) for unit, c in co_issuers]
    if co_signers:  # signatures side by side: their names on one line
        depth = max(len(block["lines"]) for block in [signer, *co_signers])
        for block in [signer, *co_signers]:
            block["lines"] = block["lines"] + [""] * (depth - len(block["lines"]))
    return {
        "issuer": issuer_context(plan.issuer, [unit for unit, _ in co_issuers]),
        "co_signers": co_signers,
        "place_date": f"{plan.place}, {vn_date(plan.issued_on)}",
        "number_line": number_line(plan),
        "plan": {
            "code": plan.code,
            "kind_word": plan.kind_word,
            "kind_title": plan.kind_title,
            "title": plan.title,
            "year": plan.year,
            "basis": list(plan.basis),
            "implements": plan.parent_plan_id is not None,
            "purposes": paragraphs(plan.purposes),
            "requirements": paragraphs(plan.requirements),
            "tasks": tasks,
            "targets": [{"text": t.text} for t in plan.targets],
            "allocated": allocated,
            "duties": [{"title": d.title, "due_on": d.due_on, "cutoff_on": d.cutoff_on} for d in duties],
            "assignees": sorted(assignees.values()),
        },
        "recipients": with_archive_line(list(plan.recipients)),
        "signer": signer,
    }


def plan_document_path(plan: Plan) -> Path:
    return get_settings().documents_dir / plan.key / message("plans.files.plan", code=file_part(plan.code))


def write_plan_document(session: Session, plan: Plan) -> Path:
    """Render the plan's Word document into the workspace (rewritten each time: a draft changes)."""
    title = message("plans.files.plan_title", title=plan.title)
    return render_docx(PLAN_TEMPLATE, plan_document_context(session, plan), plan_document_path(plan), title=title, author=plan.issuer_names)


# ----------------------------------------------------------------------------------------------
# The amendment
# ----------------------------------------------------------------------------------------------


def _shares(before: dict[str, Any], after: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    """A target's allocations that the amendment changed, unit by unit."""
    old, new = before.get("allocations") or {}, after.get("allocations") or {}
    return [
        {"unit": names.get(code, code), "before": old.get(code), "after": new.get(code)}
        for code in sorted(set(old) | set(new), key=lambda c: names.get(c, c))
        if old.get(code) != new.get(code)
    ]


def amendment_document_context(session: Session, amendment: PlanAmendment) -> dict[str, Any]:
    """Everything templates/documents/sua_doi_ke_hoach.docx shows: the amending document's header and signer, and
    one item per change (templates/plans/amendment_item.txt.j2), each a list of paragraphs."""
    plan = amendment.plan
    codes = set()
    for change in amendment.changes:
        for side in (change["before"], change["after"]):
            if isinstance(side, dict):
                codes |= {*side.get("lead", []), *side.get("support", []), *(side.get("allocations") or {}), *side.get("assignees", [])}
            elif isinstance(side, list) and change["kind"] == "assignees":
                codes |= set(side)
    names: dict[str, str] = {code: name for code, name in session.query(Unit.code, Unit.name).filter(Unit.code.in_(codes))} if codes else {}
    items = []
    for change in amendment.changes:
        shown = dict(change)
        if change["kind"] == "target":
            shown["shares"] = _shares(change["before"], change["after"], names)
        text = render("plans/amendment_item.txt.j2", change=shown, names=names, plan={"kind_word": plan.kind_word}, issuer=plan.issuer.name)
        items.append({"lines": paragraphs(text)})
    party = plan.issuer.system == UnitSystem.PARTY
    return {
        "issuer": issuer_context(plan.issuer),
        "co_signers": [],
        "place_date": f"{amendment.place}, {vn_date(amendment.issued_on)}",
        "number_line": number_line(amendment),
        "amendment": {"kind_title": amendment.kind_word.upper(), "reason": paragraphs(amendment.reason)},
        "plan": {"code": plan.code, "issued_on": plan.issued_on, "issuer_name": plan.issuer_names, "title": plan.title, "kind_word": plan.kind_word},
        "items": items,
        "recipients": with_archive_line(list(plan.recipients)),
        "signer": signer_context(plan.issuer.name, amendment.signer_title, amendment.signer_name, party=party),
    }


def amendment_document_path(amendment: PlanAmendment) -> Path:
    return get_settings().documents_dir / amendment.plan.key / f"v{amendment.version}" / message("plans.files.amendment", code=file_part(amendment.code))


def write_amendment_document(session: Session, amendment: PlanAmendment) -> Path:
    """Render the amendment's Word document into the workspace."""
    title = message("plans.files.amendment_title", code=amendment.plan.code)
    path = amendment_document_path(amendment)
    return render_docx(AMENDMENT_TEMPLATE, amendment_document_context(session, amendment), path, title=title, author=amendment.plan.issuer_names)


# ----------------------------------------------------------------------------------------------
# The assignment letter
# ----------------------------------------------------------------------------------------------


def notice_document_context(session: Session, assignment: Assignment, *, as_of: date) -> dict[str, Any]:
    """The assignment email's context plus the header and signer of the plan's issuer."""
    plan = assignment.duty.plan
    issuer = plan.issuer
    return {
        **assignment_context(session, assignment, as_of=as_of),
        "issuer": issuer_context(issuer),
        "place_date": f"{issuer.place or plan.place}, {vn_date(as_of)}",
        "signer": signer_context(issuer.name, plan.signer_title, plan.signer_name, party=issuer.system == UnitSystem.PARTY),
        "co_signers": [],  # the letter is the lead issuer's own, even for a joint plan
    }


def notice_document_path(assignment: Assignment) -> Path:
    plan = assignment.duty.plan
    return get_settings().documents_dir / plan.key / assignment.unit.code / message("plans.files.notice", reference=reference(assignment))


def write_notice_document(session: Session, assignment: Assignment, *, as_of: date) -> Path:
    context = notice_document_context(session, assignment, as_of=as_of)
    title = message("plans.files.notice_title", code=assignment.duty.plan.code)
    return render_docx(NOTICE_TEMPLATE, context, notice_document_path(assignment), title=title, author=context["issuer"]["name"])


# ----------------------------------------------------------------------------------------------
# The consolidated report
# ----------------------------------------------------------------------------------------------


def report_subject(duty_title: str) -> str:
    """The title block under 'BÁO CÁO': the duty's title without its leading 'Báo cáo'."""
    words = duty_title.strip()
    if words.lower().startswith("báo cáo "):
        rest = words[len("báo cáo ") :].strip()
        return rest[:1].upper() + rest[1:]
    return words


def report_document_context(header: ReportHeader, result: Consolidation) -> dict[str, Any]:
    """Everything templates/documents/bao_cao.docx shows."""
    row = vars(environment().get_template("reports/_target.j2").module)  # the macros it defines, by name
    outline = header.outline or report_outline([{"code": code, "title": title} for code, title, _ in result.sections], has_figures=bool(result.results))
    written = {code: texts for code, _, texts in result.sections}
    sections = [
        {
            "code": s.code,
            "numeral": roman(i),
            "title": s.title or message("reporting.added_section", s.code),
            "asked": s.asked,
            "reporting": s.reporting,
            "figures": s.figures,
            "texts": [{"unit_name": t.unit_name, "paragraphs": paragraphs(t.text) or [""]} for t in written.get(s.code, ())],
        }
        for i, s in enumerate(outline, start=1)
    ]
    targets = [
        {
            "metric": t.rule.metric,
            "target": str(row["goal"](t)),
            "figure": " ".join(part for part in (str(row["figure"](t)), str(row["counts"](t))) if part),
            "reported": f"{t.reported}/{t.expected}",
            "verdict": str(row["verdict"](t)),
        }
        for t in result.results
    ]
    return {
        "issuer": header.issuer,
        "place_date": f"{header.issuer['place']}, {vn_date(result.as_of)}",
        "plan": header.plan,
        "duty": header.duty,
        "r": result,
        "report": {
            "title": report_subject(header.duty["title"]),
            "levels": list(result.levels) if len(result.levels) > 1 else [],
            "targets": targets,
            "sections": sections,
        },
        "recipients": with_archive_line(list(header.report_recipients)),
        "signer": signer_context(header.issuer["name"], header.signer_title, header.signer_name, party=bool(header.issuer.get("party"))),
        "co_signers": [],  # a report is its consolidating unit's own
    }


def write_report_document(header: ReportHeader, result: Consolidation, path: Path) -> Path:
    context = report_document_context(header, result)
    return render_docx(REPORT_TEMPLATE, context, path, title=context["report"]["title"], author=header.issuer["name"])
