"""The portal's report form: its field names, and reading what a unit typed into a submission.

The page shows the same indicators and sections as the unit's Excel form (`tasks.documents.forms.FormSpec`)
and applies the same rules as the form reader: numbers typed the Vietnamese way ('32,4', '1.234',
'86,5%'), 'Đạt'/'Không đạt' for a yes/no criterion, a numerator and a denominator for a rate, every
section required, a score from 0 to 100. Each problem is keyed by the field it is about, so that the
page shows it next to that field, in the words of `templates/messages/forms.yaml`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from cascade.formatting import vn_number
from tasks.documents.forms import FormIndicator, FormSpec, one_line, typed_figure
from tasks.intake.submissions import FigureInput
from templates import message, words

MAX_TEXT = 20_000  # characters in one section or note: a report page, not a book


def value_field(code: str) -> str:
    return f"v-{code}"


def numerator_field(code: str) -> str:
    return f"n-{code}"


def denominator_field(code: str) -> str:
    return f"d-{code}"


def note_field(code: str) -> str:
    return f"note-{code}"


def section_field(code: str) -> str:
    return f"s-{code}"


SCORE_FIELD = "score"
ASSESSMENT_FIELD = "assessment"


def field_names(spec: FormSpec) -> list[str]:
    """Every field the page of `spec` has, in page order (a draft keeps exactly these)."""
    names: list[str] = []
    for indicator in spec.indicators:
        if indicator.asks_rate:
            names += [numerator_field(indicator.code), denominator_field(indicator.code)]
        else:
            names.append(value_field(indicator.code))
        names.append(note_field(indicator.code))
    names += [section_field(s.code) for s in spec.sections]
    return [*names, SCORE_FIELD, ASSESSMENT_FIELD]


@dataclass
class WebReport:
    """What a page's fields hold once read: the figures, sections and self-assessment, or the problems
    (field name → message; empty when the report can be recorded)."""

    values: dict[str, FigureInput] = field(default_factory=dict)
    sections: dict[str, str] = field(default_factory=dict)
    self_score: Decimal | None = None
    self_assessment: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _clean(text: str | None) -> str:
    return unicodedata.normalize("NFC", (text or "").replace("\r\n", "\n")).strip()


class _Reader:
    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = fields
        self.report = WebReport()

    def problem(self, name: str, kind: str, /, **context: object) -> None:
        self.report.errors.setdefault(name, one_line(message("forms.problems", kind, **context)))

    def text(self, name: str, what: str) -> str:
        text = _clean(self.fields.get(name))
        if len(text) > MAX_TEXT:
            self.report.errors.setdefault(name, one_line(message("forms.web.too_long", what=what, limit=vn_number(MAX_TEXT), found=vn_number(len(text)))))
        return text

    def number(self, name: str, what: str, *, yes_no: bool = False) -> Decimal | None:
        """The field as a number; None when empty or wrong (a problem is recorded for the latter)."""
        text = _clean(self.fields.get(name))
        if not text:
            return None
        number = typed_figure(text, yes_no=yes_no)
        if number is None:
            self.problem(name, "not_yes_no" if yes_no else "not_a_number", what=what, found=text)
            return None
        if number < 0:
            self.problem(name, "negative", what=what, found=vn_number(number))
            return None
        return number

    def indicator(self, indicator: FormIndicator) -> None:
        code, metric = indicator.code, indicator.metric
        note = self.text(note_field(code), one_line(message("forms.fields.note", metric=metric)))
        if indicator.asks_rate:
            parts = []
            for name, kind in ((numerator_field(code), "numerator"), (denominator_field(code), "denominator")):
                what = one_line(message("forms.fields", kind, metric=metric))
                part = self.number(name, what)
                if part is None and name not in self.report.errors:
                    self.problem(name, "required_rate", what=what)
                parts.append(part)
            top, bottom = parts
            if top is None or bottom is None:
                return
            if bottom == 0 and top > 0:  # 0/0 is allowed: nothing to count
                self.problem(denominator_field(code), "zero_denominator", what=one_line(message("forms.fields.denominator", metric=metric)))
            elif top > bottom:
                self.problem(numerator_field(code), "numerator_gt_denominator", what=one_line(message("forms.fields.numerator", metric=metric)),
                             numerator=vn_number(top), denominator=vn_number(bottom))  # fmt: skip
            else:
                self.report.values[code] = FigureInput(numerator=top, denominator=bottom, note=note)
            return
        name, what = value_field(code), one_line(message("forms.fields.value", metric=metric))
        figure = self.number(name, what, yes_no=indicator.is_yes_no)
        if figure is None:
            if name not in self.report.errors:
                self.problem(name, "required_value", what=what, yes_no=indicator.is_yes_no, unit_of_measure=indicator.unit_of_measure)
        elif indicator.is_percent and figure > 100 and not indicator.is_yes_no:
            self.problem(name, "percent_range", what=what, found=vn_number(figure))
        else:
            self.report.values[code] = FigureInput(value=figure, note=note)


def read_web_form(spec: FormSpec, fields: Mapping[str, str]) -> WebReport:
    """Read the page's fields (name → text as typed) against the form of an assignment."""
    reader = _Reader(fields)
    for indicator in spec.indicators:
        reader.indicator(indicator)
    for section in spec.sections:
        name = section_field(section.code)
        what = one_line(message("forms.fields.section", title=section.title))
        text = reader.text(name, what)
        if not text:
            reader.report.errors.setdefault(name, one_line(message("forms.web.section_empty", what=what)))
        else:
            reader.report.sections[section.code] = text
    score = reader.number(SCORE_FIELD, one_line(message("forms.fields.score")))
    if score is not None and not 0 <= score <= 100:
        reader.problem(SCORE_FIELD, "score_range", what=one_line(message("forms.fields.score")), found=vn_number(score))
    else:
        reader.report.self_score = score
    reader.report.self_assessment = reader.text(ASSESSMENT_FIELD, one_line(message("forms.fields.assessment")))
    return reader.report


def fields_of_version(spec: FormSpec, values: Mapping[str, FigureInput], sections: Mapping[str, str],
                      self_score: Decimal | None, self_assessment: str) -> dict[str, str]:  # fmt: skip
    """A recorded version as the page's fields, typed the Vietnamese way: a returned report is
    corrected from what was sent, not typed again."""
    fields: dict[str, str] = {}
    for indicator in spec.indicators:
        figure = values.get(indicator.code)
        if figure is None:
            continue
        if indicator.asks_rate:
            fields[numerator_field(indicator.code)] = vn_number(figure.numerator) if figure.numerator is not None else ""
            fields[denominator_field(indicator.code)] = vn_number(figure.denominator) if figure.denominator is not None else ""
        elif indicator.is_yes_no and figure.value in (0, 1):
            fields[value_field(indicator.code)] = words("forms.answer")["met" if figure.value == 1 else "not_met"]
        else:
            fields[value_field(indicator.code)] = vn_number(figure.value) if figure.value is not None else ""
        fields[note_field(indicator.code)] = figure.note
    for section in spec.sections:
        if section.code in sections:
            fields[section_field(section.code)] = sections[section.code]
    fields[SCORE_FIELD] = vn_number(self_score) if self_score is not None else ""
    fields[ASSESSMENT_FIELD] = self_assessment
    return fields
