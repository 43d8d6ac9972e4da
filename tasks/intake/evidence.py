"""Evidence files uploaded on the portal: names made safe, types checked by content, stored by sha256."""

from __future__ import annotations

import hashlib
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cascade.settings import get_settings
from templates import message

# Extension → the magic bytes its content must start with (documents, spreadsheets, scans, archives).
ALLOWED: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "docx": (b"PK\x03\x04",),
    "xlsx": (b"PK\x03\x04",),
    "pptx": (b"PK\x03\x04",),
    "odt": (b"PK\x03\x04",),
    "ods": (b"PK\x03\x04",),
    "zip": (b"PK\x03\x04",),
    "doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
    "xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
}
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "zip": "application/zip",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
}
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')


class EvidenceError(ValueError):
    """An upload that cannot be kept; the message is for the unit, in Vietnamese."""


@dataclass(frozen=True)
class StoredFile:
    filename: str  # sanitised, as shown and downloaded
    sha256: str
    size: int
    content_type: str


def safe_filename(name: str) -> str:
    """The last path component of an uploaded name, NFC, without control or reserved characters,
    at most 120 characters with its extension kept: '../../a<b>.pdf' → 'a b .pdf'."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join(_UNSAFE.sub(" ", name).split()).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = stem[: 120 - len(ext) - 1].rstrip(" .") or "tai-lieu"
    return f"{stem}.{ext}" if ext else stem


def store_evidence(source: BinaryIO, name: str) -> StoredFile:
    """Copy an upload into the content-addressed store, checking its type and size as it streams;
    raises EvidenceError (nothing is kept) when it is not one of ALLOWED or is over the size limit."""
    settings = get_settings()
    filename = safe_filename(name)
    ext = filename.rpartition(".")[2].lower() if "." in filename else ""
    if ext not in ALLOWED:
        raise EvidenceError(message("intake.evidence.type", filename=filename, allowed=sorted(ALLOWED)))
    limit = int(settings.portal_max_file_mb * 1024 * 1024)
    spool = settings.attachments_dir / "incoming"
    spool.mkdir(parents=True, exist_ok=True)
    digest, size, head = hashlib.sha256(), 0, b""
    with tempfile.NamedTemporaryFile(dir=spool, delete=False) as partial:
        try:
            for chunk in iter(lambda: source.read(1 << 16), b""):
                if len(head) < 16:
                    head += chunk[:16]
                size += len(chunk)
                if size > limit:
                    raise EvidenceError(message("intake.evidence.too_large", filename=filename, limit_mb=settings.portal_max_file_mb))
                digest.update(chunk)
                partial.write(chunk)
            if size == 0:
                raise EvidenceError(message("intake.evidence.empty", filename=filename))
            if not head.startswith(ALLOWED[ext]):
                raise EvidenceError(message("intake.evidence.content", filename=filename, ext=ext))
        except BaseException:
            Path(partial.name).unlink(missing_ok=True)
            raise
    sha = digest.hexdigest()
    target = settings.attachments_dir / sha[:2] / sha
    if target.exists():
        Path(partial.name).unlink()
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        Path(partial.name).replace(target)
    return StoredFile(filename, sha, size, CONTENT_TYPES[ext])
