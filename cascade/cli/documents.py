"""`cascade document plan|form|pdf`: the plan in Word, a unit's Excel form, PDF copies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cascade.cli.common import AsOf, checked, parse_day, ready
from cascade.errors import ConflictError

# Commands import what they use inside their bodies: flows and tasks pull in Prefect (seconds), models
# SQLAlchemy and Alembic; `cascade --help` and a mistyped command should pay for none of them.


app = typer.Typer()
document_app = typer.Typer(help="Documents: the plan in Word, a unit's form in Excel, PDF copies.", no_args_is_help=True)
app.add_typer(document_app, name="document")


@document_app.command("plan")
def document_plan(
    plan: Annotated[str, typer.Argument(help="Plan key or number/symbol.")],
    pdf: Annotated[bool, typer.Option(help="Also make a PDF (LibreOffice).")] = False,
) -> None:
    """Write the plan as a Word document per Decree 30/2020 (and as PDF); prints the paths."""
    from models.db import session_scope
    from tasks.documents.pdf import to_pdf
    from tasks.documents.word import write_plan_document
    from tasks.plans.lookup import find_plan

    ready()

    def write() -> list[Path]:
        with session_scope() as session:
            word = write_plan_document(session, find_plan(session, plan))
        return [word, *(to_pdf([word]) if pdf else [])]

    for path in checked(write):
        typer.echo(str(path))


@document_app.command("form")
def document_form(
    plan: Annotated[str, typer.Argument(help="Plan key or number/symbol.")],
    duty: Annotated[str, typer.Argument(help="Duty code, e.g. bao_cao_nam.")],
    unit: Annotated[str, typer.Argument(help="Unit code.")],
    as_of: AsOf = None,
) -> None:
    """Write a unit's data-entry form for a duty again (e.g. when it lost the one sent); prints its path."""
    from models.db import session_scope
    from tasks.documents.forms import form_filename, form_spec, needs_form, write_form
    from tasks.documents.word import notice_document_path
    from tasks.plans.lookup import find_assignment, find_plan

    ready()

    def write() -> Path:
        with session_scope() as session:
            assignment = find_assignment(session, find_plan(session, plan), duty, unit)
            if not needs_form(assignment.duty):
                raise ConflictError(f"duty {duty} asks for an implementing plan, not figures: it has no form")
            spec = form_spec(session, assignment, as_of=parse_day(as_of))
            return write_form(spec, notice_document_path(assignment).with_name(form_filename(spec)))

    typer.echo(str(checked(write)))


@document_app.command("pdf")
def document_pdf(files: Annotated[list[Path], typer.Argument(help="Word or Excel files.")]) -> None:
    """Convert documents to PDF beside them with LibreOffice headless; prints the PDFs' paths."""
    from tasks.documents.pdf import to_pdf

    for path in checked(lambda: to_pdf(files)):
        typer.echo(str(path))
