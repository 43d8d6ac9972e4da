"""The signer's block of a state document per Decree 30/2020/NĐ-CP (Phụ lục I, mục 7): who signs on whose
behalf, written above the signature in capitals."""

from __future__ import annotations

import unicodedata

AUTHORITIES = ("TM.", "KT.", "Q.", "TL.", "TUQ.", "T/M", "K/T")
# Bodies that work as a collective (chế độ tập thể): their head signs on the body's behalf (TM.)
COLLECTIVE_BODIES = ("ỦY BAN NHÂN DÂN", "UỶ BAN NHÂN DÂN")


def _capitals(text: str) -> str:
    return unicodedata.normalize("NFC", text).upper()


def collective_body(issuer_name: str) -> str | None:
    """'ỦY BAN NHÂN DÂN' for a People's Committee ('Ủy ban nhân dân phường Gia Bình'), None for a body run by its head."""
    name = _capitals(issuer_name)
    return next(("ỦY BAN NHÂN DÂN" for body in COLLECTIVE_BODIES if name.startswith(body)), None)


def signature_lines(issuer_name: str, title: str) -> list[str]:
    """The lines above the signature. A title written in full ('KT. GIÁM ĐỐC / PHÓ GIÁM ĐỐC') is kept line by
    line; a bare title gets its authority: a People's Committee's chairman signs 'TM. ỦY BAN NHÂN DÂN / CHỦ
    TỊCH', a deputy 'KT. <head> / PHÓ <head>' (under 'TM. ỦY BAN NHÂN DÂN' for a People's Committee)."""
    lines = [_capitals(part.strip()) for part in title.split(" / ") if part.strip()]  # ' / ' parts lines; 'T/M' stays whole
    body = collective_body(issuer_name)
    if lines and lines[0].startswith(AUTHORITIES):
        if body is not None and lines[0].startswith(("KT.", "K/T")):
            return [f"TM. {body}", *lines]
        return lines
    bare = lines[-1] if lines else ""
    deputy = bare.startswith("PHÓ ")
    own = [f"KT. {bare.removeprefix('PHÓ ')}", bare] if deputy else [bare]
    return [f"TM. {body}", *own] if body is not None else own
