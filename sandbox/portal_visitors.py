"""The demo's people on the portal, over HTTP like a browser: a unit's office opens the link from its
email, types its report (or uploads its filled Excel form) and sends it; a secretariat logs in to its
dashboard and returns a report with a comment. Each keeps its own cookies, as its own browser would."""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import Self
from urllib.parse import unquote

import httpx

from tasks.documents.forms import FormSpec
from tasks.intake.submissions import SubmissionInput
from tasks.intake.web_form import fields_of_version
from templates import message as text

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
SUBMIT_KEY = re.compile(r'name="submit_key" value="([^"]+)"')
LINK = re.compile(r"(https?://\S+/u/[A-Za-z0-9_-]+)")


def link_in(messages: list[EmailMessage], address: str, subject_prefix: str | None = None) -> str:
    """The portal link in the latest message to `address` whose subject starts with `subject_prefix`
    (by default, the assignment's notice)."""
    subject_prefix = subject_prefix or text("demo.subject_starts.assignment")
    for message in reversed(messages):
        if str(message["Subject"]).startswith(subject_prefix) and address in str(message["To"]):
            body = message.get_body(preferencelist=("plain",))
            found = LINK.search(body.get_content()) if body is not None else None
            if found:
                return found.group(1)
    raise LookupError(f"no email to {address} starting {subject_prefix!r} carries a portal link")


def _page(client: httpx.Client, url: str) -> str:
    response = client.get(url)
    response.raise_for_status()
    return response.text


def _field(pattern: re.Pattern[str], html: str) -> str:
    """A hidden field's value on the page (the CSRF token, the submission key)."""
    found = pattern.search(html)
    if found is None:
        raise RuntimeError(f"the page has no field matching {pattern.pattern!r}")
    return found.group(1)


def _sent_version(response: httpx.Response, what: str) -> int:
    location = response.headers.get("location", "")
    if response.status_code != 303 or "ok=sent-" not in location:
        raise RuntimeError(f"the portal did not take {what}: HTTP {response.status_code}")
    return int(location.rsplit("sent-", 1)[1])


class _Visitor:
    """Its own cookies, like its own browser; closed at the end of a `with` block."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=120)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.client.close()


class UnitOffice(_Visitor):
    """One unit's office with its own browser session."""

    def report(self, link: str, spec: FormSpec, data: SubmissionInput, evidence: Sequence[Path] = ()) -> int:
        """Type the report into the page, attach the evidence, send it; returns the version recorded."""
        html = _page(self.client, link)
        fields = fields_of_version(spec, data.values, data.sections, data.self_score, data.self_assessment)
        form = {**fields, "csrf": _field(CSRF, html), "submit_key": _field(SUBMIT_KEY, html), "action": "submit"}
        files = [("evidence", (path.name, path.read_bytes(), "application/octet-stream")) for path in evidence]
        return _sent_version(self.client.post(link, data=form, files=files or None), f"the report of {data.unit}")

    def upload_form(self, link: str, path: Path) -> int:
        """Upload the filled Excel form on the page instead of typing; returns the version recorded."""
        html = _page(self.client, link)
        response = self.client.post(f"{link}/excel", data={"csrf": _field(CSRF, html)}, files={"form_file": (path.name, path.read_bytes())})
        return _sent_version(response, path.name)

    def download_form(self, link: str, folder: Path) -> Path:
        response = self.client.get(f"{link}/bieu-mau.xlsx")
        response.raise_for_status()
        name = re.search(r"filename\*=utf-8''(.+)$", response.headers["content-disposition"])
        path = folder / (unquote(name.group(1)) if name else "form.xlsx")
        path.write_bytes(response.content)
        return path


class Secretariat(_Visitor):
    """The office that follows the reports on its dashboard."""

    def __init__(self, base_url: str, user: str, password: str) -> None:
        super().__init__(base_url)
        html = _page(self.client, "/admin/login")
        response = self.client.post("/admin/login", data={"csrf": _field(CSRF, html), "user": user, "password": password})
        if response.status_code != 303:
            raise RuntimeError(f"dashboard login refused: HTTP {response.status_code}")

    def return_report(self, assignment_id: int, submission_id: int, comment: str) -> None:
        html = _page(self.client, f"/admin/assignments/{assignment_id}")
        response = self.client.post(
            f"/admin/submissions/{submission_id}/review",
            data={"csrf": _field(CSRF, html), "action": "return", "comment": comment},
        )
        if response.status_code != 303:
            raise RuntimeError(f"the return was refused: HTTP {response.status_code}")


def minimal_pdf(title: str) -> bytes:
    """A one-page PDF with one line of ASCII text: the demo's scanned minutes."""
    stream = f"BT /F1 14 Tf 72 770 Td ({title}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
