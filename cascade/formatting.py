"""Vietnamese formatting: document dates per Decree 30/2020, numbers with a decimal comma.

Numbers are rounded with `Decimal` and ROUND_HALF_UP, as offices do by hand (floats would
turn 101,25 into 101,2).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

from cascade.clock import VN_TZ


def vn_date(day: date | datetime) -> str:
    """'ngày 05 tháng 6 năm 2024': day < 10 and months 1-2 zero-padded (Decree 30/2020, Appendix I)."""
    if isinstance(day, datetime):
        day = day.astimezone(VN_TZ).date() if day.tzinfo else day.date()
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def short_date(day: date | datetime) -> str:
    """'30/10/2024', the form used outside document headers."""
    if isinstance(day, datetime):
        day = day.astimezone(VN_TZ).date() if day.tzinfo else day.date()
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def vn_datetime(moment: datetime) -> str:
    """'14:05 ngày 28/10/2024' in Vietnam time."""
    local = moment.astimezone(VN_TZ)
    return f"{local:%H:%M} ngày {short_date(local)}"


def _to_decimal(value: Decimal | int | float | str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def vn_number(value: Decimal | int | float | str | None, places: int = 2) -> str:
    """'1.234.567,5': dot for thousands, comma for decimals, trailing zeros dropped."""
    if value is None:
        return "-"
    number = _to_decimal(value)
    if not number.is_finite():
        return str(number)
    quantum = Decimal(1).scaleb(-places)
    # A precision for any figure a person may type (1e27 in a cell): the default 28 digits would raise
    rounded = number.quantize(quantum, rounding=ROUND_HALF_UP, context=Context(prec=max(28, number.adjusted() + places + 2)))
    sign = "-" if rounded < 0 else ""
    whole, _, frac = f"{abs(rounded):f}".partition(".")
    frac = frac.rstrip("0")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = ".".join(groups)
    return f"{sign}{text},{frac}" if frac else f"{sign}{text}"


def vn_percent(value: Decimal | int | float | str | None, places: int = 1) -> str:
    """'86,5%' for a value already in percent (86.5)."""
    if value is None:
        return "-"
    return f"{vn_number(value, places)}%"


MAX_FIGURE = Decimal(10) ** 15  # no figure a unit reports or a plan sets reaches this: beyond it, a typo (and Decimal's precision ends)


def parse_vn_number(text: str) -> Decimal:
    """Read '1.234,5', '86,5%', '715' or '0.5' as a Decimal; raise ValueError otherwise.

    A lone dot followed by exactly three digits is a thousands separator ('1.234' = 1234),
    as Vietnamese offices write it; any other lone dot is a decimal point.
    """
    raw = text.strip().replace("\u00a0", "").replace(" ", "")
    if raw.endswith("%"):
        raw = raw[:-1]
    if not raw:
        raise ValueError("empty number")
    if "," in raw:
        raw = raw.replace(".", "").replace(",", ".")
    elif raw.count(".") > 1 or (
        raw.count(".") == 1 and len(raw.split(".")[1]) == 3 and raw.split(".")[0].lstrip("-").isdigit() and raw.split(".")[0].lstrip("-") not in ("", "0")
    ):
        raw = raw.replace(".", "")
    try:
        number = Decimal(raw)
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {text!r}") from exc
    if not number.is_finite() or abs(number) >= MAX_FIGURE:
        raise ValueError(f"not a figure: {text!r} (figures are below {vn_number(MAX_FIGURE, 0)})")
    return number


def plain_number(number: Decimal) -> str:
    """715, 86.5: a Decimal without trailing zeros or exponent, for messages and stored text."""
    text = f"{number:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


_ACRONYMS = {"UBND", "HĐND", "MTTQ", "BCH", "BTV", "TW", "VP", "CAND", "QĐND"}
_PLACE_NOUNS = (("THÀNH", "PHỐ"), ("THỊ", "XÃ"), ("THỊ", "TRẤN"), ("TỈNH",), ("HUYỆN",), ("QUẬN",), ("XÃ",), ("PHƯỜNG",))
_FIELD_BODIES = {"SỞ", "BAN", "PHÒNG", "BỘ", "CỤC", "VỤ"}  # their next word opens the field's name: 'Sở Xây dựng', 'Ban Dân vận'


def body_in_sentence(name: str) -> str:
    """A body's name written in capitals for a header ('UBND TỈNH ĐỒNG NAI') as a list or a sentence writes
    it: 'UBND tỉnh Đồng Nai', 'Huyện ủy Vĩnh Cửu', 'Sở Xây dựng'. Acronyms stay, the place noun is lower
    case and the place name capitalised; a name not all in capitals is returned as it is."""
    words = name.split()
    if not words or name != name.upper():
        return name
    out: list[str] = []
    i, in_place = 0, False
    while i < len(words):
        word = words[i]
        noun = next((n for n in _PLACE_NOUNS if tuple(words[i : i + len(n)]) == n), None)
        if noun is not None and not in_place and i + len(noun) < len(words) and words[i + len(noun)] in ("ỦY", "UỶ"):
            out += [noun[0].capitalize(), *(w.lower() for w in noun[1:]), "ủy"]  # a Party committee: 'Huyện ủy', 'Thị ủy'
            i += len(noun) + 1
            in_place = True
        elif noun is not None and not in_place:
            out += [w.lower() for w in noun]
            i += len(noun)
            in_place = True
        else:
            if word in _ACRONYMS:
                out.append(word)
            elif in_place or not out or (out[-1].upper() in _FIELD_BODIES and len(out) == 1):
                out.append(word.capitalize())
            else:
                out.append(word.lower())
            i += 1
    return " ".join(out)
