"""The unit's pages, reached by the magic link in its emails: read the plan, report, save a draft,
upload evidence or the filled Excel form, see earlier versions and the upper level's comments."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from cascade.errors import ConflictError, FormError
from cascade.settings import get_settings
from flows.deliver_outbox import deliver_outbox
from models.db import session_scope
from models.submission import Attachment, Channel, Submission
from portal import link_guard
from portal.pages import client_of, download, not_found, page, read_form, refused
from portal.unit_page import draft_evidence, page_context, page_fields, record_version, save_draft, web_input
from tasks.documents.forms import form_filename, form_spec, write_form
from tasks.intake.access import find_by_link, mark_opened, refusal
from tasks.intake.evidence import EvidenceError, StoredFile, store_evidence
from tasks.intake.form_reader import read_form as read_excel_form
from tasks.intake.submissions import attachment_path
from tasks.intake.web_form import field_names, read_web_form
from templates import message

router = APIRouter()


def _today(request: Request) -> Any:
    return request.app.state.today()


def _link_known(request: Request, token: str) -> bool:
    with session_scope() as session:
        return find_by_link(session, token, _today(request)) is not None


async def _blocked(request: Request, token: str) -> Response | None:
    """429 for an unknown link from an address (and link pattern) that has guessed too often; None otherwise.
    A link that opens a page is never refused (portal.link_guard)."""
    if await run_in_threadpool(_link_known, request, token):
        return None
    if await run_in_threadpool(link_guard.over_limit, client_of(request), token):
        return refused(429)
    return None


async def _answer(request: Request, work: Callable[..., Response | None], token: str, *args: Any) -> Response:
    """Run `work(request, token, *args)` off the event loop; its None means an unknown link, answered with
    the 404 of a missing page after the guard's delay, or 429 once the guard refuses it."""
    response = await run_in_threadpool(work, request, token, *args)
    if response is None:
        delay, refuse = await run_in_threadpool(link_guard.unknown_link, client_of(request), token)
        if refuse:
            return refused(429)
        if delay:
            await asyncio.sleep(delay)
        return not_found()
    return response


def _render(request: Request, token: str, *, status: int = 200, fields: dict[str, str] | None = None,
            errors: dict[str, str] | None = None, problems: list[Any] | None = None) -> Response | None:  # fmt: skip
    """The unit's page (None for an unknown link): the form filled from `fields`, else from the draft or latest version."""
    as_of = _today(request)
    with session_scope() as session:
        assignment = find_by_link(session, token, as_of)
        if assignment is None:
            return None
        if status == 200:
            mark_opened(session, assignment, as_of)
        context = page_context(session, assignment, as_of)
        saved, draft = page_fields(session, assignment, context["spec"]) if context["spec"] else ({}, None)
        context.update(
            fields=fields if fields is not None else saved,
            errors=errors or {},
            problems=problems or [],
            draft_saved_at=draft.saved_at if draft is not None else None,
            evidence=[{"filename": f.filename, "sha256": f.sha256, "size": f.size} for f in draft_evidence(session, assignment.id)],
            notice=request.query_params.get("ok"),
            path=f"/u/{token}",
            max_file_mb=get_settings().portal_max_file_mb,
        )
    return page(request, "unit.html.j2", status=status, **context)


@router.get("/u/{token}")
async def unit_page(request: Request, token: str) -> Response:
    return await _answer(request, _render, token)


def _store_uploads(uploads: list[UploadFile]) -> tuple[list[StoredFile], list[str]]:
    stored, problems = [], []
    for upload in uploads:
        try:
            stored.append(store_evidence(upload.file, upload.filename or ""))
        except EvidenceError as exc:
            problems.append(str(exc))
    return stored, problems


def _save_or_submit(request: Request, token: str, form: Any) -> Response | None:
    as_of = _today(request)
    action = form.get("action")
    uploads = [f for f in form.getlist("evidence") if isinstance(f, UploadFile) and f.filename]
    removed = [str(v) for v in form.getlist("remove")]
    with session_scope() as session:
        assignment = find_by_link(session, token, as_of)
        if assignment is None:
            return None
        if refusal(assignment) is not None:
            session.rollback()
            return _render(request, token, status=409)
        spec = form_spec(session, assignment, as_of=as_of)
        fields = {name: str(form.get(name) or "") for name in field_names(spec)}
        stored, upload_problems = _store_uploads(uploads)
        # What was typed and uploaded is kept even when the report cannot be sent yet: nothing is lost.
        save_draft(session, assignment, fields, stored, removed, as_of)
        errors = {"evidence": " ".join(upload_problems)} if upload_problems else {}
        if action == "submit":
            report = read_web_form(spec, fields)
            errors.update(report.errors)
            if not errors:
                data = web_input(assignment, report, str(form.get("submit_key") or ""), sender=None)
                try:
                    recorded = record_version(session, assignment, data, [], as_of)
                except ConflictError:
                    session.rollback()
                    return _render(request, token, status=409)
                session.commit()
                request.app.state.jobs.start("deliver-outbox", deliver_outbox, as_of)
                return RedirectResponse(f"/u/{token}?ok=sent-{recorded.version}", status_code=303)
        if errors:
            session.commit()
            return _render(request, token, status=422, fields=fields, errors=errors)
    return RedirectResponse(f"/u/{token}?ok=saved", status_code=303)


@router.post("/u/{token}")
async def unit_post(request: Request, token: str) -> Response:
    if blocked := await _blocked(request, token):  # before the body is read
        return blocked
    form = await read_form(request)
    try:
        return await _answer(request, _save_or_submit, token, form)
    finally:
        await form.close()


def _excel_form(request: Request, token: str) -> Response | None:
    as_of = _today(request)
    with session_scope() as session:
        assignment = find_by_link(session, token, as_of)
        if assignment is None or refusal(assignment) == "plan_duty":
            return None
        spec = form_spec(session, assignment, as_of=as_of)
    with tempfile.TemporaryDirectory() as folder:
        content = write_form(spec, Path(folder) / "form.xlsx").read_bytes()
    return download(content, form_filename(spec), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@router.get("/u/{token}/bieu-mau.xlsx")
async def excel_form(request: Request, token: str) -> Response:
    return await _answer(request, _excel_form, token)


def _upload_excel(request: Request, token: str, upload: UploadFile | None) -> Response | None:
    as_of = _today(request)
    with session_scope() as session:
        assignment = find_by_link(session, token, as_of)
        if assignment is None:
            return None
        if refusal(assignment) is not None:
            return _render(request, token, status=409)
        assignment_id = assignment.id
    if upload is None or not upload.filename:
        return _render(request, token, status=422, errors={"excel": message("portal.no_form_file")})
    try:
        stored = store_evidence(upload.file, upload.filename)
    except EvidenceError as exc:
        return _render(request, token, status=422, errors={"excel": str(exc)})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / stored.filename
        path.write_bytes(attachment_path(stored.sha256).read_bytes())
        try:
            data = read_excel_form(path, expected_assignment_id=assignment_id, channel=Channel.WEB)
        except FormError as exc:
            return _render(request, token, status=422, problems=[{"path": p.path, "message": p.message} for p in exc.problems])
    with session_scope() as session:
        assignment = find_by_link(session, token, as_of)
        if assignment is None:
            return None
        try:
            recorded = record_version(session, assignment, data, [stored], as_of)
        except ConflictError:
            session.rollback()
            return _render(request, token, status=409)
    request.app.state.jobs.start("deliver-outbox", deliver_outbox, as_of)
    return RedirectResponse(f"/u/{token}?ok=sent-{recorded.version}", status_code=303)


@router.post("/u/{token}/excel")
async def upload_excel(request: Request, token: str) -> Response:
    if blocked := await _blocked(request, token):
        return blocked
    form = await read_form(request)
    upload = form.get("form_file")
    try:
        return await _answer(request, _upload_excel, token, upload if isinstance(upload, UploadFile) else None)
    finally:
        await form.close()


def _evidence_file(request: Request, token: str, attachment_id: int) -> Response | None:
    with session_scope() as session:
        assignment = find_by_link(session, token, _today(request))
        if assignment is None:
            return None
        found = session.get(Attachment, attachment_id)
        if found is None or session.get_one(Submission, found.submission_id).assignment_id != assignment.id:
            return not_found()
        name, sha, media_type = found.filename, found.sha256, found.content_type
    return download(attachment_path(sha).read_bytes(), name, media_type)


@router.get("/u/{token}/files/{attachment_id}")
async def evidence_file(request: Request, token: str, attachment_id: int) -> Response:
    return await _answer(request, _evidence_file, token, attachment_id)
