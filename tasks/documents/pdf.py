"""PDF copies of documents through LibreOffice headless, when it is installed.

One `soffice` call converts a whole batch, from any folders (starting LibreOffice costs seconds, converting a
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
    """Convert .docx/.xlsx files to PDF (beside each file, or into `outdir`) in one LibreOffice process;
    returns the PDFs in order. A PDF takes its final name only once made, replacing an earlier one.

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
    if not documents:
        return []
    with tempfile.TemporaryDirectory(prefix="cascade-soffice-") as work:
        profile, inputs, made = Path(work) / "profile", Path(work) / "in", Path(work) / "out"
        inputs.mkdir()
        # Numbered links in one folder: documents of the same name from different folders do not collide
        staged = [inputs / f"{number:06d}{document.suffix}" for number, document in enumerate(documents)]
        for link, document in zip(staged, documents, strict=True):
            link.symlink_to(document)
        command = [
            executable, "--headless", "--norestore", "--nologo", "--nolockcheck",
            f"-env:UserInstallation={profile.as_uri()}",
            "--convert-to", "pdf", "--outdir", str(made), *map(str, staged),
        ]  # fmt: skip
        env = {**os.environ, "HOME": str(profile)}  # LibreOffice writes its caches under HOME
        try:
            run = subprocess.run(command, capture_output=True, text=True, timeout=CONVERT_TIMEOUT_SECONDS, env=env, check=False)
        except subprocess.TimeoutExpired as exc:
            raise PdfConversionError(f"LibreOffice did not finish converting {len(documents)} document(s) in {CONVERT_TIMEOUT_SECONDS} s") from exc
        failed = [str(document) for link, document in zip(staged, documents, strict=True) if not (made / f"{link.stem}.pdf").is_file()]
        if failed:
            output = " ".join((run.stdout + run.stderr).split())[-500:]
            raise PdfConversionError(f"LibreOffice made no PDF of {', '.join(failed)} (exit {run.returncode}): {output}")
        results = []
        for link, document in zip(staged, documents, strict=True):
            target = (outdir or document.parent).resolve() / f"{document.stem}.pdf"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(made / f"{link.stem}.pdf", target.with_suffix(".pdf.part"))
            target.with_suffix(".pdf.part").replace(target)
            results.append(target)
    return results
