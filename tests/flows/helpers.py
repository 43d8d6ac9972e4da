"""Small helpers shared by the flow tests."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from email.message import EmailMessage

from models.submission import Channel
from tasks.intake.submissions import FigureInput, SubmissionInput


def submission(plan: str, unit: str, *, key: str | None = None, **values: object) -> SubmissionInput:
    """A file-channel submission with the given indicator values (numbers, or (numerator, denominator) pairs)."""
    figures = {}
    for code, value in values.items():
        if isinstance(value, tuple):
            figures[code] = FigureInput(numerator=Decimal(value[0]), denominator=Decimal(value[1]))
        else:
            figures[code] = FigureInput(value=Decimal(str(value)))
    return SubmissionInput(
        plan=plan,
        duty="bao_cao_nam",
        unit=unit,
        channel=Channel.FILE,
        # The content decides the key, as a file's bytes do (hashed: the column holds 128 characters).
        source_key=key or f"{unit}-" + hashlib.sha256(repr(sorted(values.items())).encode()).hexdigest(),
        values=figures,
        sections={"tinh_hinh": f"Tình hình chung của đơn vị {unit}.", "ket_qua": f"Kết quả của {unit}: hoàn thành 788 hồ sơ."},
    )


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


def by_subject(messages: list[EmailMessage], prefix: str) -> list[EmailMessage]:
    return [m for m in messages if str(m["Subject"]).startswith(prefix)]
