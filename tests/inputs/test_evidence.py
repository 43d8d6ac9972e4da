"""A submission file's evidence comes from its own folder (or the one given with --evidence-dir), never from
anywhere else on the disk, and within the portal's size limits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cascade.errors import SubmissionError
from tasks.intake.submission_files import load_submission

CASCADE = str(Path(sys.executable).parent / "cascade")
HEAD = "plan: 74/KH-SXD\nduty: bao_cao_nam\nunit: sxd.vp\nvalues: {}\nsections: {}\n"


def submission(folder: Path, attachments: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bao-cao.yaml"
    path.write_text(HEAD + "attachments:\n" + "".join(f"  - {name!r}\n" for name in attachments), encoding="utf-8")
    return path


@pytest.fixture()
def report(tmp_path: Path) -> Path:
    folder = tmp_path / "don-vi"
    (folder / "minh-chung").mkdir(parents=True)
    (folder / "minh-chung" / "so-lieu.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("not evidence", encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("/etc/passwd", "evidence must come from the submission's folder: '/etc/passwd'"),
        ("../../../../etc/passwd", "evidence must come from the submission's folder: '../../../../etc/passwd'"),
        ("minh-chung/../../secret.txt", "evidence must come from the submission's folder"),
        ("lien-ket.txt", "leads outside it"),  # a link out of the folder
        ("rong.pdf", "the evidence file 'rong.pdf' is empty"),
        ("lon.pdf", "the evidence file 'lon.pdf' is 10.5 MB, above the limit of 10 MB (setting portal_max_file_mb)"),
        ("khong-co.pdf", "attachment not found"),
    ],
)
def test_evidence_outside_the_folder_empty_or_too_large_is_refused(workspace: Path, report: Path, name: str, expected: str) -> None:
    (report / "lien-ket.txt").symlink_to(report.parent / "secret.txt")
    (report / "rong.pdf").write_bytes(b"")
    with (report / "lon.pdf").open("wb") as handle:
        handle.truncate(int(10.5 * 1024 * 1024))
    with pytest.raises(SubmissionError) as raised:
        load_submission(submission(report, [name]))
    assert expected in str(raised.value) and "bao-cao.yaml:" in str(raised.value), str(raised.value)


def test_evidence_inside_the_folder_or_the_evidence_dir_is_taken(workspace: Path, report: Path, tmp_path: Path) -> None:
    assert [p.name for p in load_submission(submission(report, ["minh-chung/so-lieu.csv"])).attachment_paths] == ["so-lieu.csv"]
    elsewhere = submission(tmp_path / "thu-muc-khac", ["so-lieu.csv"])
    with pytest.raises(SubmissionError, match="attachment not found"):
        load_submission(elsewhere)
    loaded = load_submission(elsewhere, evidence_dir=report / "minh-chung")
    assert loaded.attachment_paths == ((report / "minh-chung" / "so-lieu.csv").resolve(),)


def test_too_many_evidence_files_are_refused(workspace: Path, report: Path) -> None:
    names = []
    for n in range(21):
        (report / f"f{n}.pdf").write_bytes(b"%PDF-1.4")
        names.append(f"f{n}.pdf")
    with pytest.raises(SubmissionError, match=r"21 evidence files: at most 20 on one report \(setting portal_max_files\)"):
        load_submission(submission(report, names))


def test_the_command_refuses_a_path_out_of_the_folder_and_records_nothing(tmp_path: Path, report: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASCADE_")} | {"CASCADE_WORKSPACE": str(tmp_path / "ws"), "CASCADE_COMMAND_SERVER": "off"}
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run(
        [CASCADE, "submit", str(submission(report, ["/etc/passwd"])), "--evidence-dir", str(report)], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1 and "evidence must come from the submission's folder: '/etc/passwd'" in done.stderr, done.stderr
    assert not (tmp_path / "ws" / "attachments").exists() or not any((tmp_path / "ws" / "attachments").rglob("*"))
