"""PDF copies of documents through LibreOffice headless, when it is installed.

One `soffice` call converts a whole batch (starting LibreOffice costs seconds, converting a
page milliseconds). Each call gets its own profile folder, so that conversions running in
parallel (several workers, several tests) never share one and lock each other out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cascade.errors import CascadeError

CONVERT_TIMEOUT_SECONDS = 300


class PdfUnavailable(CascadeError):
    """LibreOffice (soffice) is not installed: no PDF can be made here."""


class PdfConversionError(CascadeError):
    """LibreOffice ran but did not produce a PDF for a document."""


def soffice() -> str | None:
    """The LibreOffice executable, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def pdf_available() -> bool:
    return soffice() is not None


def to_pdf(documents: Sequence[Path], outdir: Path | None = None) -> list[Path]:
    """Convert .docx/.xlsx files to PDF (beside each file, or into `outdir`); returns the PDFs in order.

    Raises PdfUnavailable without LibreOffice and PdfConversionError naming the documents that
    did not convert (with LibreOffice's own output).
    """
    executable = soffice()
    if executable is None:
        raise PdfUnavailable("LibreOffice is not installed (apt-get install libreoffice-writer-nogui libreoffice-calc-nogui): no PDF made")
    documents = [Path(d).resolve() for d in documents]
    missing = [str(d) for d in documents if not d.is_file()]
    if missing:
        raise PdfConversionError(f"not a file: {', '.join(missing)}")
    groups: dict[Path, list[Path]] = {}
    for document in documents:
        groups.setdefault((outdir or document.parent).resolve(), []).append(document)
    results: dict[Path, Path] = {}
    with tempfile.TemporaryDirectory(prefix="cascade-soffice-") as profile:
        for folder, batch in groups.items():
            folder.mkdir(parents=True, exist_ok=True)
            for document in batch:
                (folder / f"{document.stem}.pdf").unlink(missing_ok=True)
            command = [
                executable, "--headless", "--norestore", "--nologo", "--nolockcheck",
                f"-env:UserInstallation={Path(profile).as_uri()}",
                "--convert-to", "pdf", "--outdir", str(folder), *map(str, batch),
            ]  # fmt: skip
            env = {**os.environ, "HOME": profile}  # LibreOffice writes its caches under HOME
            try:
                run = subprocess.run(command, capture_output=True, text=True, timeout=CONVERT_TIMEOUT_SECONDS, env=env, check=False)
            except subprocess.TimeoutExpired as exc:
                raise PdfConversionError(f"LibreOffice did not finish converting {len(batch)} document(s) in {CONVERT_TIMEOUT_SECONDS} s") from exc
            failed = [d for d in batch if not (folder / f"{d.stem}.pdf").is_file()]
            if failed:
                output = " ".join((run.stdout + run.stderr).split())[-500:]
                raise PdfConversionError(f"LibreOffice made no PDF of {', '.join(map(str, failed))} (exit {run.returncode}): {output}")
            results.update({d: folder / f"{d.stem}.pdf" for d in batch})
    return [results[d] for d in documents]
