from datetime import date
from decimal import Decimal as D

import pytest

from cascade.formatting import body_in_sentence, parse_vn_number, short_date, vn_date, vn_number, vn_percent


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 2, 15), "ngày 15 tháng 02 năm 2024"),  # months 1-2 are padded
        (date(2024, 6, 5), "ngày 05 tháng 6 năm 2024"),  # days < 10 are padded
        (date(2024, 1, 30), "ngày 30 tháng 01 năm 2024"),
        (date(2024, 12, 1), "ngày 01 tháng 12 năm 2024"),
    ],
)
def test_vn_date_follows_decree_30(day: date, expected: str) -> None:
    assert vn_date(day) == expected


def test_short_date() -> None:
    assert short_date(date(2024, 4, 2)) == "02/04/2024"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(D("1234567.5"), "1.234.567,5"), (D("715"), "715"), (D("101.25"), "101,25"), (D("-1234.5"), "-1.234,5"), (0, "0")],
)
def test_vn_number(value: D, expected: str) -> None:
    assert vn_number(value) == expected


def test_rounding_is_half_up_not_bankers() -> None:
    assert vn_number(D("101.25"), 1) == "101,3"
    assert vn_number(101.25, 1) == "101,3"
    assert vn_percent(D("88.05")) == "88,1%"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("86,5%", D("86.5")), ("1.234", D("1234")), ("1.234.567,89", D("1234567.89")), ("0.5", D("0.5")), (" 715 ", D("715")), ("32,4", D("32.4"))],
)
def test_parse_vn_number(text: str, expected: D) -> None:
    assert parse_vn_number(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "12,3,4", "%"])
def test_parse_vn_number_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_vn_number(text)


@pytest.mark.parametrize(
    ("header", "written"),
    [
        ("UBND TỈNH ĐỒNG NAI", "UBND tỉnh Đồng Nai"),
        ("UBND THỊ XÃ TRẢNG BÀNG", "UBND thị xã Trảng Bàng"),
        ("ĐẢNG BỘ TỈNH ĐỒNG NAI", "Đảng bộ tỉnh Đồng Nai"),
        ("HUYỆN ỦY VĨNH CỬU", "Huyện ủy Vĩnh Cửu"),
        ("BAN DÂN VẬN TỈNH ỦY", "Ban Dân vận Tỉnh ủy"),
        ("SỞ XÂY DỰNG", "Sở Xây dựng"),
        ("Sở Nội vụ", "Sở Nội vụ"),  # already as a sentence writes it
    ],
)
def test_a_header_name_is_written_as_a_list_writes_it(header: str, written: str) -> None:
    assert body_in_sentence(header) == written
