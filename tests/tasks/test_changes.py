"""tasks.plans.changes: what a resubmission changed, figure by figure and word by word."""

from __future__ import annotations

import copy

from tasks.plans.changes import FigureChange, changes_between, plan_changes, word_diff


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


def test_a_plan_adjusted_by_its_unit_lists_what_it_changed_from_its_draft() -> None:
    drafted = {"plan": {
        "title": "Thực hiện công tác Dân vận năm 2024", "purposes": "Nâng cao chất lượng.", "requirements": "Bám sát kế hoạch.",
        "targets": [{"code": "hai_long", "text": "Hài lòng từ 90%", "value": 90}, {"code": "kheo", "text": "Mô hình Dân vận khéo", "value": 3}],
        "duties": [{"code": "bao_cao_nam", "title": "Báo cáo năm", "due_on": "2024-10-23"}],
        "tasks": [{"code": "t1", "title": "Quán triệt", "content": "Tổ chức học tập nghị quyết."}, {"code": "t2", "title": "Thi đua", "content": "Phát động."}],
    }}  # fmt: skip
    issued = copy.deepcopy(drafted)
    plan = issued["plan"]
    plan["targets"][0]["value"] = 95.0
    plan["duties"][0]["due_on"] = "2024-10-21"
    plan["tasks"][0]["content"] = "Tổ chức học tập nghị quyết cho toàn thể cán bộ."
    plan["tasks"] = [plan["tasks"][0], {"code": "nv3", "title": "Đối thoại", "content": "Đối thoại với Nhân dân."}]
    changes = plan_changes(drafted, issued)
    assert [(c.kind, c.name, c.before, c.after) for c in changes if c.kind in ("target", "deadline")] == [
        ("target", "Hài lòng từ 90%", "90", "95"), ("deadline", "Báo cáo năm", "2024-10-23", "2024-10-21")
    ]  # fmt: skip
    changed = next(c for c in changes if c.kind == "task_changed")
    assert changed.pieces == (("same", "Quán triệt: Tổ chức học tập nghị "), ("removed", "quyết."), ("added", "quyết cho toàn thể cán bộ."))
    assert [(c.kind, c.name) for c in changes if c.kind.startswith("task_") and c.kind != "task_changed"] == [
        ("task_added", "Đối thoại"),
        ("task_removed", "Thi đua"),
    ]
    assert plan_changes(drafted, copy.deepcopy(drafted)) == ()
