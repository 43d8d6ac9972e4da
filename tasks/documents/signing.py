"""The signer's block, written above the signature in capitals: who signs on whose behalf. A state body per
Decree 30/2020/NĐ-CP (Phụ lục I, mục 7: TM., KT., Q., TL., TUQ.), a Party body per Hướng dẫn 36-HD/VPTW
(T/M, K/T, with slashes)."""

from __future__ import annotations

import unicodedata

AUTHORITIES = ("TM.", "KT.", "Q.", "TL.", "TUQ.", "T/M", "K/T", "Q/", "T/L")
# Bodies that work as a collective: their head signs on the body's behalf. (name opens with, the body signed for)
STATE_COLLECTIVES = (("ỦY BAN NHÂN DÂN", "ỦY BAN NHÂN DÂN"), ("UỶ BAN NHÂN DÂN", "ỦY BAN NHÂN DÂN"))
PARTY_COLLECTIVES = (
    ("TỈNH ỦY", "BAN THƯỜNG VỤ"), ("THÀNH ỦY", "BAN THƯỜNG VỤ"), ("THỊ ỦY", "BAN THƯỜNG VỤ"), ("HUYỆN ỦY", "BAN THƯỜNG VỤ"),
    ("QUẬN ỦY", "BAN THƯỜNG VỤ"), ("ĐẢNG ỦY", "ĐẢNG ỦY"), ("CHI BỘ", "CHI BỘ"),
    ("BAN CÁN SỰ ĐẢNG", "BAN CÁN SỰ ĐẢNG"), ("ĐẢNG ĐOÀN", "ĐẢNG ĐOÀN"),
)  # fmt: skip


def _capitals(text: str) -> str:
    return unicodedata.normalize("NFC", text).upper()


def collective_body(issuer_name: str, *, party: bool = False) -> str | None:
    """The collective a head signs for: 'ỦY BAN NHÂN DÂN' for a People's Committee, 'BAN THƯỜNG VỤ' for a
    district Party committee, 'ĐẢNG ỦY' for a commune's; None for a body run by its head (a department, a Ban)."""
    name = _capitals(issuer_name)
    return next((body for opening, body in (PARTY_COLLECTIVES if party else STATE_COLLECTIVES) if name.startswith(opening)), None)


def signature_lines(issuer_name: str, title: str, *, party: bool = False) -> list[str]:
    """The lines above the signature. A title written in full ('KT. GIÁM ĐỐC / PHÓ GIÁM ĐỐC') is kept line by
    line; a bare title gets its authority: a People's Committee's chairman signs 'TM. ỦY BAN NHÂN DÂN / CHỦ
    TỊCH', a deputy 'KT. <head> / PHÓ <head>' (under the collective, if any); a Party committee's secretary
    'T/M BAN THƯỜNG VỤ / BÍ THƯ', a deputy 'K/T BÍ THƯ / PHÓ BÍ THƯ' under it."""
    on_behalf, deputy_for = ("T/M", "K/T") if party else ("TM.", "KT.")
    lines = [_capitals(part.strip()) for part in title.split(" / ") if part.strip()]  # ' / ' parts lines; 'T/M' stays whole
    body = collective_body(issuer_name, party=party)
    if lines and lines[0].startswith(AUTHORITIES):
        if body is not None and lines[0].startswith(("KT.", "K/T")):
            return [f"{on_behalf} {body}", *lines]
        return lines
    bare = lines[-1] if lines else ""
    own = [f"{deputy_for} {bare.removeprefix('PHÓ ')}", bare] if bare.startswith("PHÓ ") else [bare]
    return [f"{on_behalf} {body}", *own] if body is not None else own
