"""tasks.plans.changes: what a resubmission changed, figure by figure and word by word."""

from __future__ import annotations

from tasks.plans.changes import FigureChange, changes_between, word_diff


def test_words_removed_and_added_in_reading_order() -> None:
    pieces = word_diff("Hoàn thành 788 hồ sơ đúng hạn.", "Hoàn thành 812 hồ sơ, đúng hạn.")
    assert pieces == (
        ("same", "Hoàn thành "), ("removed", "788 "), ("added", "812 "), ("same", "hồ "), ("removed", "sơ "), ("added", "sơ, "), ("same", "đúng hạn."),
    )  # fmt: skip
    assert "".join(text for kind, text in pieces if kind != "removed") == "Hoàn thành 812 hồ sơ, đúng hạn."
    assert "".join(text for kind, text in pieces if kind != "added") == "Hoàn thành 788 hồ sơ đúng hạn."


def test_only_what_changed_is_listed() -> None:
    before = {
        "figures": [{"metric": "Nhà ở xã hội", "shown": "1.234 căn", "note": ""}, {"metric": "Nước sạch", "shown": "694/788 (88,1%)", "note": ""},
                    {"metric": "Hài lòng", "shown": "96%", "note": "Khảo sát"}],
        "sections": [{"title": "Tình hình chung", "text": "Ổn định."}, {"title": "Kết quả", "text": "Hoàn thành 788 hồ sơ."},
                     {"title": "Kiến nghị", "text": "Không."}],
    }  # fmt: skip
    after = {
        "figures": [{"metric": "Nhà ở xã hội", "shown": "1.234 căn", "note": ""}, {"metric": "Nước sạch", "shown": "720/788 (91,4%)", "note": ""},
                    {"metric": "Hài lòng", "shown": "96%", "note": "Khảo sát tháng 9"}],
        "sections": [{"title": "Tình hình chung", "text": "Ổn định.\n"}, {"title": "Kết quả", "text": "Hoàn thành 812 hồ sơ."}],
    }  # fmt: skip
    changes = changes_between(1, before, after)
    assert changes.any and changes.since == 1
    assert changes.figures == (
        FigureChange("Nước sạch", "694/788 (88,1%)", "720/788 (91,4%)"),
        FigureChange("Hài lòng", "96% (Khảo sát)", "96% (Khảo sát tháng 9)"),
    )
    assert [s.title for s in changes.sections] == ["Kết quả", "Kiến nghị"]  # a trailing newline is no change; a dropped section is
    assert changes.sections[1].pieces == (("removed", "Không."),)
    assert not changes_between(2, after, after).any
