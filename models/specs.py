"""The three documented input formats: a units file, a plan file and a submission file.

Each format is a pydantic model (unknown fields are refused, strings are stripped and kept
in Unicode NFC, Vietnamese text is welcome everywhere). `json_schema(kind)` prints the JSON
Schema of one format (`cascade schema units|plan|submission`); every field carries a
description, so the schema doubles as the reference documentation.

Checks that need the database (do the unit codes exist, is the plan key free) live in
`tasks.plans.imports`; everything that can be decided from the file alone lives here.

Checks that span several fields raise a `cross_check` error whose context holds the exact
sub-paths of the offending fields (`issues`), so that the loader can point at their lines.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PositiveInt,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from cascade.formatting import MAX_FIGURE, parse_vn_number, plain_number
from cascade.settings import get_settings
from models.cascading import AllocationRule, IssueMode
from models.plan import Aggregation, Comparator, DayOffRule, DutyKind, ReportBlock
from models.unit import UnitKind, UnitSystem

# ---------------------------------------------------------------------------------------------
# Helpers shared by the loaders
# ---------------------------------------------------------------------------------------------

Loc = tuple[str | int, ...]


def show(value: Any) -> str:
    """A short rendering of an input value for error messages: 'about', 12, nothing."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return f"'{text}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def cross_check(issues: Sequence[tuple[Loc, str]]) -> PydanticCustomError:
    """One error carrying several problems, each with its path relative to the failing field or model."""
    summary = "; ".join(message for _, message in issues)
    return PydanticCustomError("cross_check", "{summary}", {"summary": summary, "issues": [(tuple(loc), msg) for loc, msg in issues]})


def nfc(value: Any) -> Any:
    """Unicode NFC for every string in a nested structure of dicts and lists (keys included)."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {nfc(k): nfc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nfc(v) for v in value]
    return value


class Spec(BaseModel):
    """Base of every input model: strict about field names, lenient about whitespace and numbers as text."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True, use_enum_values=False)

    @model_validator(mode="before")
    @classmethod
    def _nfc(cls, data: Any) -> Any:
        return nfc(data)


# ---------------------------------------------------------------------------------------------
# Field types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pattern:
    """Annotation metadata for a code field: the whole string matches `regex` and is at most `max_length` long.

    The JSON Schema carries both as `pattern` and `maxLength`; a mismatch says what was `expected`."""

    regex: str
    expected: str
    max_length: int

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {**handler(schema), "pattern": f"^{self.regex}$", "maxLength": self.max_length}

    def _check(self, value: str) -> str:
        if not re.fullmatch(self.regex, value) or len(value) > self.max_length:
            raise PydanticCustomError("pattern", "expected {hint}; got {got}", {"hint": self.expected, "got": show(value)})
        return value


UnitCode = Annotated[str, _Pattern(r"[A-Za-z0-9_.\-]+", "a unit code of letters, digits, '_', '.' or '-' (e.g. 'sxd.vp')", 64)]
ItemCode = Annotated[str, _Pattern(r"[A-Za-z0-9_.\-]+", "a code of letters, digits, '_', '.' or '-' (e.g. 'cchc')", 32)]
IndicatorCode = Annotated[str, _Pattern(r"[a-z0-9_]+", "an indicator code of lowercase letters, digits and '_' (e.g. 'nha_o_xa_hoi')", 32)]
PlanKey = Annotated[str, _Pattern(r"[\w.\-]+", "a plan key of letters, digits, '.', '_' or '-' (e.g. '74-kh-sxd-2024')", 96)]

_SYMBOL_RE = re.compile(r"[^\W_]+(?:-[^\W_]+)+")  # a state body's KIND-ISSUER (Decree 30): KH-SXD
_PARTY_SYMBOL_RE = re.compile(r"[^\W_]+/[^\W_]+(?:[-.][^\W_]+)*")  # a Party body's KIND/ISSUER (HD 36): KH/HU, KH/BDVTU-BCS.UBND


def _symbol(value: str) -> str:
    kind, rest = re.split(r"[-/]", value, maxsplit=1) if re.search(r"[-/]", value) else (value, "")
    capitals = value == value.upper() or (kind == "CTr" and rest == rest.upper())  # 'CTr' (chương trình) is written so
    if not (_SYMBOL_RE.fullmatch(value) or _PARTY_SYMBOL_RE.fullmatch(value)) or not capitals or len(value) > 32:
        raise PydanticCustomError(
            "symbol",
            "expected a symbol in capitals: a state body's KIND-ISSUER such as 'KH-SXD', or a Party body's KIND/ISSUER such as 'KH/HU' "
            "(the number goes in 'number'); got {got}",
            {"got": show(value)},
        )
    return value


Symbol = Annotated[str, AfterValidator(_symbol), Field(json_schema_extra={"pattern": r"^[^\W_]+((-[^\W_]+)+|/[^\W_]+([-.][^\W_]+)*)$"})]


def _plan_number(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        if not re.fullmatch(r"\d{1,10}[A-Za-z]?", value):
            raise PydanticCustomError(
                "plan_number", "expected the sequence number only, e.g. '74' (the symbol goes in 'symbol'); got {got}", {"got": show(value)}
            )
    return value


PlanNumber = Annotated[str | None, BeforeValidator(_plan_number)]

_DMY_RE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def _date(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        parts: tuple[int, int, int] | None = None
        if m := _ISO_RE.fullmatch(text):
            parts = int(m[1]), int(m[2]), int(m[3])
        elif m := _DMY_RE.fullmatch(text):
            parts = int(m[3]), int(m[2]), int(m[1])
        if parts is not None:
            try:
                return date(*parts)
            except ValueError as exc:
                raise PydanticCustomError(
                    "date", "expected a real date as YYYY-MM-DD or DD/MM/YYYY; got {got} ({reason})", {"got": show(value), "reason": str(exc)}
                ) from None
    raise PydanticCustomError("date", "expected a date as YYYY-MM-DD or DD/MM/YYYY; got {got}", {"got": show(value)})


VnDate = Annotated[date, BeforeValidator(_date)]


def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise PydanticCustomError("number", "expected a number such as 715, 86.5 or '86,5'; got {got}", {"got": show(value)})
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = parse_vn_number(value)
        except ValueError:
            raise PydanticCustomError("number", "expected a number such as 715, 86.5 or '86,5'; got {got}", {"got": show(value)}) from None
    else:
        raise PydanticCustomError("number", "expected a number such as 715, 86.5 or '86,5'; got {got}", {"got": show(value)})
    if not number.is_finite():
        raise PydanticCustomError("number", "expected a finite number; got {got}", {"got": show(value)})
    if abs(number) >= MAX_FIGURE:
        raise PydanticCustomError("number", "expected a number below 1.000.000.000.000.000 (10^15); got {got}", {"got": show(value)})
    return number


VnNumber = Annotated[Decimal, BeforeValidator(_number)]

YES_WORDS = {"đạt": 1, "có": 1, "hoàn thành": 1, "không đạt": 0, "chưa đạt": 0, "không": 0, "chưa hoàn thành": 0}


def _flex_number(value: Any) -> Decimal:
    """A reported figure: a number, a percentage, true/false or đạt/không đạt/có/không (→ 1/0)."""
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, str) and value.strip().lower() in YES_WORDS:
        return Decimal(YES_WORDS[value.strip().lower()])
    try:
        return _number(value)
    except PydanticCustomError as exc:
        if "below" in exc.message_template or "finite" in exc.message_template:  # a number, out of range: say so
            raise
        raise PydanticCustomError(
            "number", "expected a number (715, 86.5, '86,5%', '1.234'), true/false or đạt/không đạt/có/không; got {got}", {"got": show(value)}
        ) from None


FlexNumber = Annotated[Decimal, BeforeValidator(_flex_number)]

COMPARATOR_WORDS: dict[str, Comparator] = {
    "eq": Comparator.EQ,
    "=": Comparator.EQ,
    "==": Comparator.EQ,
    "gt": Comparator.GT,
    ">": Comparator.GT,
    "ge": Comparator.GE,
    ">=": Comparator.GE,
    "≥": Comparator.GE,
    "lt": Comparator.LT,
    "<": Comparator.LT,
    "le": Comparator.LE,
    "<=": Comparator.LE,
    "≤": Comparator.LE,
}


def _comparator(value: Any) -> Comparator:
    if isinstance(value, str) and value.strip().lower() in COMPARATOR_WORDS:
        return COMPARATOR_WORDS[value.strip().lower()]
    raise PydanticCustomError("comparator", "expected one of eq, gt, ge, lt, le (or =, >, ≥, <, ≤); got {got}", {"got": show(value)})


ComparatorField = Annotated[
    Comparator,
    BeforeValidator(_comparator),
    WithJsonSchema({"type": "string", "enum": list(COMPARATOR_WORDS)}),
]


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")  # line breaks and other control characters: a name is printed on one line (and in headers)


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise PydanticCustomError(
            "email", "expected an email address such as vanphong@sxd.dongnai.example.gov.vn; got {got} ({reason})", {"got": show(value), "reason": str(exc)}
        ) from None


Email = Annotated[str, AfterValidator(_email), WithJsonSchema({"type": "string", "format": "email"})]


def _email_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[;,]", value) if part.strip()]
    return value


def _unique(items: Sequence[Any], what: str) -> list[tuple[Loc, str]]:
    first: dict[Any, int] = {}
    issues: list[tuple[Loc, str]] = []
    for index, item in enumerate(items):
        if item in first:
            issues.append(((index,), f"duplicate {what} '{item}' (already at position {first[item] + 1} of the list)"))
        else:
            first[item] = index
    return issues


def _unique_codes(items: Sequence[Any], what: str) -> list[tuple[Loc, str]]:
    first: dict[str, int] = {}
    issues: list[tuple[Loc, str]] = []
    for index, item in enumerate(items):
        if item.code in first:
            issues.append(((index, "code"), f"duplicate {what} code '{item.code}' (already used by item [{first[item.code]}])"))
        else:
            first[item.code] = index
    return issues


# ---------------------------------------------------------------------------------------------
# a) Units file
# ---------------------------------------------------------------------------------------------


class UnitSpec(Spec):
    """One unit of the tree: a department, an office, a centre, a ward..."""

    code: UnitCode = Field(description="Stable code of the unit, unique across the tree: letters, digits, '_', '.', '-' (e.g. 'sxd.vp').")
    name: str = Field(min_length=1, description="Full name as printed in documents: 'Phòng Quản lý hoạt động xây dựng'.")
    short_name: str | None = Field(None, description="Short name for tables and emails: 'Phòng QLHĐXD'.")
    kind: UnitKind = Field(UnitKind.OTHER, description="Kind of unit: " + ", ".join(k.value for k in UnitKind) + ".")
    system: UnitSystem = Field(
        UnitSystem.STATE, description="state: its documents follow Decree 30/2020; party (Huyện ủy, Đảng ủy, Ban Dân vận): Hướng dẫn 36-HD/VPTW."
    )
    issuer_symbol: str | None = Field(None, description="Abbreviation used in the symbol of its documents: 'SXD' in '74/KH-SXD'.")
    governing_body: str | None = Field(None, description="The body above it, printed over its name in document headers: 'UBND TỈNH ĐỒNG NAI'.")
    parent: UnitCode | None = Field(None, description="Code of the parent unit (in this file or already imported); null for a root.")
    emails: Annotated[list[Email], BeforeValidator(_email_list)] = Field(
        description="Mailboxes of the unit (at least one: units receive everything by email). In CSV: separated by ';'.",
        json_schema_extra={"minItems": 1},
    )
    head_title: str | None = Field(None, description="Title of the head, as printed above the signature: 'TRƯỞNG PHÒNG', 'GIÁM ĐỐC'.")
    head_name: str | None = Field(None, description="Name of the head: 'Hồ Văn Hà'.")
    head_email: Email | None = Field(None, description="The head's own mailbox: units overdue past the escalation step are reported there.")
    place: str | None = Field(None, description="Place name for the date line of its documents: 'Biên Hòa'.")
    valid_from: VnDate | None = Field(None, description="First day the unit exists (YYYY-MM-DD or DD/MM/YYYY); null = always.")
    valid_to: VnDate | None = Field(None, description="Last day the unit exists (after a merger or renaming); null = still active.")
    successor: UnitCode | None = Field(None, description="Code of the unit that takes over its work after valid_to.")

    @field_validator("name", "short_name", "issuer_symbol", "governing_body", "head_title", "head_name", "place")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and _CONTROL.search(value):
            raise PydanticCustomError("text", "expected text on one line, without control characters (line breaks, tabs); got {got}", {"got": show(value)})
        return value

    @field_validator("emails")
    @classmethod
    def _at_least_one_email(cls, emails: list[str]) -> list[str]:
        if not emails:
            raise PydanticCustomError("emails", "expected at least one email address: units receive everything by email", {})
        issues = _unique(emails, "email address")
        if issues:
            raise cross_check(issues)
        return emails

    @model_validator(mode="after")
    def _consistent(self) -> UnitSpec:
        issues: list[tuple[Loc, str]] = []
        if self.parent is not None and self.parent == self.code:
            issues.append((("parent",), f"a unit cannot be its own parent ('{self.code}')"))
        if self.successor is not None and self.successor == self.code:
            issues.append((("successor",), f"a unit cannot be its own successor ('{self.code}')"))
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            issues.append((("valid_to",), f"valid_to ({self.valid_to}) is before valid_from ({self.valid_from})"))
        if issues:
            raise cross_check(issues)
        return self


class UnitsFile(Spec):
    """A units file: `units:` followed by a list of units, in any order (parents may come after children)."""

    model_config = ConfigDict(
        title="Units file",
        json_schema_extra={
            "description": "Units of the administrative tree. Imported with upsert by code; CSV files use the same columns (header row, emails separated by ';', empty cell = null)."
        },
    )

    units: list[UnitSpec] = Field(description="The units; each is created or updated by its code.")

    @field_validator("units")
    @classmethod
    def _unique_units(cls, units: list[UnitSpec]) -> list[UnitSpec]:
        issues = _unique_codes(units, "unit")
        folded: dict[str, int] = {}
        for index, unit in enumerate(units):
            first = folded.setdefault(unit.code.casefold(), index)
            if first != index and units[first].code != unit.code:
                issues.append(
                    ((index, "code"), f"unit code '{unit.code}' differs from '{units[first].code}' (item [{first}]) only by case: codes must differ in letters")
                )
        if issues:
            raise cross_check(issues)
        return units


UNIT_COLUMNS: tuple[str, ...] = tuple(UnitSpec.model_fields)


# ---------------------------------------------------------------------------------------------
# b) Plan file
# ---------------------------------------------------------------------------------------------


class SignerSpec(Spec):
    title: str = Field(min_length=1, description="Title above the signature: 'GIÁM ĐỐC', 'CHỦ TỊCH', 'KT. GIÁM ĐỐC / PHÓ GIÁM ĐỐC'.")
    name: str = Field("", description="Name of the signer; may be empty on a draft.")


class CoIssuerSpec(Spec):
    """Another issuer of a joint plan, and who signs for it."""

    unit: UnitCode = Field(description="Code of the co-issuing unit: 'bcs_ubnd'.")
    signer: SignerSpec = Field(description="Its signer: {title, name}.")


class TaskSpec(Spec):
    """A key task (nhiệm vụ trọng tâm) with its lead (chủ trì) and supporting (phối hợp) units."""

    code: ItemCode = Field(description="Code of the task, unique in the plan: 'cchc'.")
    title: str = Field(min_length=1, description="Short title of the task.")
    content: str = Field("", description="Full wording of the task as in the plan.")
    lead: list[UnitCode] = Field(default_factory=list, description="Codes of the lead units (chủ trì).")
    support: list[UnitCode] = Field(default_factory=list, description="Codes of the supporting units (phối hợp).")

    @model_validator(mode="after")
    def _roles(self) -> TaskSpec:
        issues = [(("lead", *loc), msg) for loc, msg in _unique(self.lead, "unit")]
        issues += [(("support", *loc), msg) for loc, msg in _unique(self.support, "unit")]
        lead = set(self.lead)
        issues += [(("support", i), f"unit '{code}' is already a lead unit of this task") for i, code in enumerate(self.support) if code in lead]
        if issues:
            raise cross_check(issues)
        return self


class ThresholdSpec(Spec):
    comparator: ComparatorField = Field(description="How one unit's own figure is compared: eq, gt, ge, lt, le (or =, >, ≥, <, ≤).")
    value: VnNumber = Field(description="The threshold one unit's figure is compared with, e.g. 1 for a yes/no criterion reported as 1/0.")


class TargetSpec(Spec):
    """A quantified target (chỉ tiêu); its code is the indicator units report against."""

    code: IndicatorCode = Field(description="Indicator code units report against, unique in the plan: lowercase letters, digits, '_' ('nha_o_xa_hoi').")
    text: str = Field(min_length=1, description="The target as worded in the plan.")
    metric: str = Field(min_length=1, description="Short label of what is measured: 'Nhà ở xã hội hoàn thành'.")
    unit_of_measure: str = Field(min_length=1, max_length=32, description="Unit of measure: '%', 'căn', 'hồ sơ'.")
    comparator: Annotated[Comparator | None, BeforeValidator(_comparator), WithJsonSchema({"type": "string", "enum": list(COMPARATOR_WORDS)})] = Field(
        None,
        description="How the consolidated figure is judged: eq ('đạt 100%'), gt ('trên 80%'), ge ('ít nhất', 'đạt 715 căn'), lt, le; symbols =, >, >=, ≥, <, <=, ≤ are accepted. "
        "Without comparator and value the target is a plain figure (sum or mean): reported and listed, judged by nothing.",
    )
    value: VnNumber | None = Field(
        None, description="Target value; a number or Vietnamese text such as '86,5'. Given with comparator, or both left out for a plain figure."
    )
    aggregation: Aggregation = Field(
        description="How the units' figures combine: sum (quantities), mean (scores), weighted_rate (Σ numerators / Σ denominators × 100), share_of_units (% of units whose own figure meets unit_threshold)."
    )
    numerator: IndicatorCode | None = Field(
        None,
        description="Only for weighted_rate, with denominator: the code of a sum target of this plan counting the part (e.g. dossiers filed online). "
        "The rate is then computed from the two counts for each unit and overall; units are not asked for it.",
    )
    denominator: IndicatorCode | None = Field(
        None, description="Only for weighted_rate, with numerator: the code of a sum target of this plan counting the whole (e.g. dossiers received)."
    )
    unit_threshold: ThresholdSpec | None = Field(
        None,
        validate_default=True,
        description="Required for share_of_units (forbidden otherwise): how ONE unit's own figure is judged, e.g. {comparator: ge, value: 1} for a yes/no criterion reported as 1/0.",
    )
    reporters: list[UnitCode] = Field(default_factory=list, description="Codes of the units that report this indicator; empty = every assignee of the duty.")
    allocations: dict[UnitCode, VnNumber] | None = Field(
        None, description="Only for sum: unit code → its share of the target; the shares must add up exactly to value."
    )
    allocation_rule: AllocationRule | None = Field(
        None,
        description="Only for sum: how the target is shared among units that have no explicit allocation, at every level below: "
        "'equal' (equal shares, whole numbers when the value is whole). Without allocations or a rule, each unit works toward the whole value.",
    )

    @field_validator("unit_threshold")
    @classmethod
    def _threshold_fits(cls, threshold: ThresholdSpec | None, info: ValidationInfo) -> ThresholdSpec | None:
        aggregation = info.data.get("aggregation")
        if aggregation is None:
            return threshold
        if aggregation == Aggregation.SHARE_OF_UNITS and threshold is None:
            raise PydanticCustomError(
                "unit_threshold",
                "required for aggregation share_of_units: say how one unit's own figure is judged, e.g. {example}",
                {"example": "{comparator: ge, value: 1}"},
            )
        if aggregation != Aggregation.SHARE_OF_UNITS and threshold is not None:
            raise PydanticCustomError(
                "unit_threshold",
                "only allowed with aggregation share_of_units (this target's aggregation is {aggregation}); remove it",
                {"aggregation": str(aggregation)},
            )
        return threshold

    @field_validator("reporters")
    @classmethod
    def _unique_reporters(cls, reporters: list[str]) -> list[str]:
        issues = _unique(reporters, "reporter")
        if issues:
            raise cross_check(issues)
        return reporters

    @field_validator("allocations")
    @classmethod
    def _allocations_add_up(cls, allocations: dict[str, Decimal] | None, info: ValidationInfo) -> dict[str, Decimal] | None:
        if not allocations:
            return None
        aggregation = info.data.get("aggregation")
        value = info.data.get("value")
        if aggregation is not None and aggregation != Aggregation.SUM:
            raise PydanticCustomError(
                "allocations", "only allowed with aggregation sum (this target's aggregation is {aggregation})", {"aggregation": str(aggregation)}
            )
        negative = [((code,), f"expected a share ≥ 0; got {share}") for code, share in allocations.items() if share < 0]
        if negative:
            raise cross_check(negative)
        total = sum(allocations.values(), Decimal(0))
        if value is not None and total != value:
            raise PydanticCustomError(
                "allocations",
                "allocations add up to {total} but the target value is {value}; they must be equal",
                {"total": plain_number(total), "value": plain_number(value)},
            )
        return allocations

    @field_validator("allocation_rule")
    @classmethod
    def _rule_for_sums(cls, rule: AllocationRule | None, info: ValidationInfo) -> AllocationRule | None:
        aggregation = info.data.get("aggregation")
        if rule is not None and aggregation is not None and aggregation != Aggregation.SUM:
            raise PydanticCustomError(
                "allocation_rule", "only allowed with aggregation sum (this target's aggregation is {aggregation})", {"aggregation": str(aggregation)}
            )
        return rule

    @model_validator(mode="after")
    def _target_shape(self) -> TargetSpec:
        """Comparator and value together (or neither: a plain sum or mean), percentages within 0..100,
        numerator and denominator together on a weighted_rate."""
        issues: list[tuple[Loc, str]] = []
        if (self.comparator is None) != (self.value is None):
            missing = "value" if self.value is None else "comparator"
            issues.append(((missing,), "missing: give comparator and value together, or neither for a plain figure judged by nothing"))
        elif self.comparator is None:
            if self.aggregation not in (Aggregation.SUM, Aggregation.MEAN):
                issues.append(
                    (
                        ("comparator",),
                        f"missing: only a sum or mean may be a plain figure without comparator and value (this target's aggregation is {self.aggregation})",
                    )
                )
            for name in ("allocations", "allocation_rule"):
                if getattr(self, name):
                    issues.append(((name,), f"a plain figure has no value to share; remove {name} or give comparator and value"))
        if self.value is not None and self.aggregation in (Aggregation.WEIGHTED_RATE, Aggregation.SHARE_OF_UNITS) and not (0 <= self.value <= 100):
            issues.append((("value",), f"expected a percentage between 0 and 100 for aggregation {self.aggregation}; got {plain_number(self.value)}"))
        if self.numerator is not None or self.denominator is not None:
            if self.aggregation != Aggregation.WEIGHTED_RATE:
                name = "numerator" if self.numerator is not None else "denominator"
                issues.append(((name,), f"only allowed with aggregation weighted_rate (this target's aggregation is {self.aggregation}); remove it"))
            elif self.numerator is None or self.denominator is None:
                missing = "numerator" if self.numerator is None else "denominator"
                issues.append(((missing,), "missing: a rate computed from two counts needs both numerator and denominator"))
            elif self.numerator == self.denominator:
                issues.append((("denominator",), f"expected another indicator than the numerator '{self.numerator}'"))
            if self.reporters:
                issues.append((("reporters",), "a rate computed from two counts is reported by the units that report its counts; remove reporters"))
        if issues:
            raise cross_check(issues)
        return self

    @property
    def is_computed(self) -> bool:
        """A rate computed from two count targets: units are not asked for it."""
        return self.numerator is not None and self.denominator is not None


class SectionSpec(Spec):
    """A numbered section of the report (I, II, III…): what the units write under it, and the parts the
    consolidated report prints at its head."""

    code: IndicatorCode = Field(description="Code of the narrative section, unique in the duty: 'ket_qua'.")
    title: str = Field(min_length=1, description="Heading of the section: 'Kết quả triển khai, thực hiện'.")
    shows: list[ReportBlock] = Field(
        default_factory=list,
        description="Parts of the consolidated report printed at the head of this section: figures (the targets' results table), "
        "reporting (who reported, on time, late, not yet); each at most once in a duty. Where the duty places neither: "
        "reporting heads the first section and figures the first section titled 'Kết quả…' (or a section of their own after the first).",
    )
    asked: bool = Field(True, description="The units write this section (default); false: the report fills it with its parts only.")

    @model_validator(mode="after")
    def _holds_something(self) -> SectionSpec:
        if not self.asked and not self.shows:
            raise cross_check([(("shows",), "a section the units do not write must show figures or reporting; otherwise it stays empty")])
        return self

    def stored(self) -> dict[str, Any]:
        """As ReportDuty.sections keeps it: {code, title}, with shows and asked only when they are not the default."""
        out: dict[str, Any] = {"code": self.code, "title": self.title}
        if self.shows:
            out["shows"] = [str(block) for block in self.shows]
        if not self.asked:
            out["asked"] = False
        return out


PERIODIC_KINDS = (DutyKind.QUARTERLY, DutyKind.SIX_MONTH, DutyKind.NINE_MONTH, DutyKind.ANNUAL)


def _desc_unique(days: list[int]) -> list[int]:
    return sorted(set(days), reverse=True)


def _asc_unique(days: list[int]) -> list[int]:
    return sorted(set(days))


class DutySpec(Spec):
    """A reporting duty: what the assignees report, and when."""

    code: ItemCode = Field(description="Code of the duty, unique in the plan: 'bao_cao_nam'.")
    kind: DutyKind = Field(description="Kind of report: " + ", ".join(k.value for k in DutyKind) + ".")
    title: str = Field(min_length=1, description="Title of the requested report.")
    period_start: VnDate | None = Field(None, description="First day of the period reported on.")
    cutoff_on: VnDate | None = Field(None, description="Data up to this day ('từ đầu năm đến ngày 15/10'); must be on or before due_on.")
    due_on: VnDate | None = Field(
        None, description="Due date of the reports (YYYY-MM-DD or DD/MM/YYYY); required unless due_after_cutoff generates periodic reports."
    )
    due_after_cutoff: PositiveInt | None = Field(
        None,
        description="Periodic duties (quarterly, six_month, nine_month, annual) without due_on: one duty per period of the plan's year, "
        "with the data cut-off of Decree 09/2019/NĐ-CP (15th of the previous month to the 14th; the year from 15/12 to 14/12), "
        "each due this many working days after its cut-off. Codes get a suffix: bao_cao_quy.q1 ... .q4, .h1, .9m, .year.",
    )
    reminder_days: Annotated[list[PositiveInt], AfterValidator(_desc_unique)] = Field(
        default_factory=lambda: [7, 3, 1], description="Reminders this many days before the due date (sorted descending, duplicates dropped)."
    )
    overdue_days: Annotated[list[PositiveInt], AfterValidator(_asc_unique)] = Field(
        default_factory=lambda: [1, 7], description="Overdue notices this many days after the due date."
    )
    on_day_off: DayOffRule = Field(
        DayOffRule.BEFORE,
        description="When the due date falls on a weekend or public holiday: before (default: the last working day before it, as offices do), "
        "after (the next working day) or keep (the day itself). Applied at import and cascade, with a warning naming the duty, the date and the holiday.",
    )
    sections: list[SectionSpec] = Field(
        default_factory=list, description="Narrative sections every report must fill (at least one, except for an implementing_plan duty)."
    )
    indicators: list[IndicatorCode] = Field(default_factory=list, description="Target codes reported; empty = all the plan's targets.")
    assignees: list[UnitCode] = Field(default_factory=list, description="Codes of the units that must report; empty = the issuer's direct subordinates.")

    @field_validator("sections")
    @classmethod
    def _unique_sections(cls, sections: list[SectionSpec]) -> list[SectionSpec]:
        issues = _unique_codes(sections, "section")
        placed: dict[str, int] = {}
        for index, section in enumerate(sections):
            for j, block in enumerate(section.shows):
                if block in placed:
                    issues.append(((index, "shows", j), f"'{block}' is already shown by section [{placed[block]}]: each part prints once"))
                placed.setdefault(block, index)
        if issues:
            raise cross_check(issues)
        return sections

    @field_validator("indicators", "assignees")
    @classmethod
    def _unique_items(cls, items: list[str], info: ValidationInfo) -> list[str]:
        issues = _unique(items, "indicator" if info.field_name == "indicators" else "assignee")
        if issues:
            raise cross_check(issues)
        return items

    @model_validator(mode="after")
    def _dates_in_order(self) -> DutySpec:
        issues: list[tuple[Loc, str]] = []
        if not any(s.asked for s in self.sections) and self.kind != DutyKind.IMPLEMENTING_PLAN:
            issues.append((("sections",), "expected at least one narrative section the units write (only an implementing_plan duty may have none)"))
        if self.due_after_cutoff is not None:
            if self.kind not in PERIODIC_KINDS:
                issues.append((("due_after_cutoff",), f"only for periodic duties ({', '.join(PERIODIC_KINDS)}); this duty is {self.kind}"))
            if self.due_on is not None:
                issues.append((("due_on",), "give either due_on or due_after_cutoff, not both"))
            for name in ("cutoff_on", "period_start"):
                if getattr(self, name) is not None:
                    issues.append(((name,), f"{name} comes from the generated periods when due_after_cutoff is given; remove it"))
        elif self.due_on is None:
            issues.append((("due_on",), "missing: give the due date (or due_after_cutoff for a periodic duty)"))
        if self.due_on is None:  # periods are generated at import, with dates that are in order
            if issues:
                raise cross_check(issues)
            return self
        if self.cutoff_on and self.cutoff_on > self.due_on:
            issues.append((("cutoff_on",), f"cutoff_on ({self.cutoff_on}) must be on or before due_on ({self.due_on})"))
        if self.period_start and self.cutoff_on and self.period_start > self.cutoff_on:
            issues.append((("period_start",), f"period_start ({self.period_start}) must be on or before cutoff_on ({self.cutoff_on})"))
        elif self.period_start and self.period_start > self.due_on:
            issues.append((("period_start",), f"period_start ({self.period_start}) must be on or before due_on ({self.due_on})"))
        if issues:
            raise cross_check(issues)
        return self


class LevelSpec(Spec):
    """The policy of one level below the issuer (the first entry: its direct subordinates)."""

    lead_days: int = Field(
        5, ge=0, le=60, description="Working days a unit of this level keeps for consolidating: its subordinates are due this much earlier than it is."
    )
    issue: IssueMode = Field(
        IssueMode.AUTO,
        description="auto: its implementing plan is issued as drafted and cascaded at once; wait: drafted, then adjusted and issued by the unit.",
    )


class CascadeSpec(Spec):
    levels: list[LevelSpec] = Field(min_length=1, description="One entry per level below the issuer; the last entry applies to every deeper level.")


def derive_plan_key(number: str | None, symbol: str, year: int) -> str:
    """'74-kh-sxd-2024' from 74, KH-SXD, 2024; 'draft-kh-ubnd-2024' without a number."""
    return f"{number or 'draft'}-{symbol}-{year}".lower().replace("/", "-")


class PlanSpec(Spec):
    """A plan (Kế hoạch) with its tasks, targets and reporting duties."""

    key: PlanKey | None = Field(
        None, description="Stable identifier; default derived from number, symbol and year: '74-kh-sxd-2024' ('draft-kh-ubnd-2024' without a number)."
    )
    number: PlanNumber = Field(None, description="Sequence number as a string: '74'; empty or null for a draft ('Số: /KH-UBND').")
    symbol: Symbol = Field(description="Document kind and issuer: 'KH-SXD' (must look like KIND-ISSUER).")
    issuer: UnitCode = Field(description="Code of the issuing unit.")
    issued_on: VnDate = Field(description="Date of issue: 2024-04-02 or 02/04/2024.")
    place: str = Field(min_length=1, description="Place of issue for the date line: 'Biên Hòa'.")
    title: str = Field(min_length=1, description="Title after 'KẾ HOẠCH': 'Thực hiện công tác Dân vận chính quyền năm 2024'.")
    year: int | None = Field(None, ge=2000, le=2100, description="Year the plan covers (2000..2100); default: the year of issued_on.")
    basis: list[str] = Field(default_factory=list, description="Documents the plan implements (căn cứ), one string each.")
    parent_plan: str | None = Field(None, description="Key (or number/symbol) of the parent plan, already imported, that this plan implements.")
    purposes: str = Field("", description="Purposes (Mục đích), prose.")
    requirements: str = Field("", description="Requirements (Yêu cầu), prose.")
    recipients: list[str] = Field(default_factory=list, description="Recipients (Nơi nhận), one per line: 'Sở Nội vụ', 'Lưu: VT, VP Sở'.")
    signer: SignerSpec = Field(description="Signer: {title, name}.")
    joint_with: list[CoIssuerSpec] = Field(
        default_factory=list,
        description="A joint plan (liên tịch): the other issuers, each with its signer. The symbol names every issuer, the lead first "
        "('KH/BDVTU-BCS.UBND'); the document prints every issuer in its header and a signature block for each.",
    )
    report_recipients: list[str] = Field(
        default_factory=list,
        description="Nơi nhận of the consolidated reports this plan's issuer makes, one per line: 'UBND tỉnh (qua Sở Nội vụ)', "
        "'Lưu: VT'. Default: the body above (the issuer of the plan this one implements, or the issuer's superior).",
    )
    tasks: list[TaskSpec] = Field(default_factory=list, description="Key tasks with their lead and supporting units.")
    targets: list[TargetSpec] = Field(default_factory=list, description="Quantified targets; each code is an indicator units report.")
    duties: list[DutySpec] = Field(default_factory=list, description="Reporting duties: what is reported, by whom and when.")
    cascade: CascadeSpec | None = Field(
        None, description="How the plan passes down the levels below its issuer; default: every level issues automatically, 5 working days lead."
    )

    @field_validator("tasks")
    @classmethod
    def _unique_tasks(cls, tasks: list[TaskSpec]) -> list[TaskSpec]:
        issues = _unique_codes(tasks, "task")
        if issues:
            raise cross_check(issues)
        return tasks

    @field_validator("targets")
    @classmethod
    def _unique_targets(cls, targets: list[TargetSpec]) -> list[TargetSpec]:
        issues = _unique_codes(targets, "target")
        by_code = {t.code: t for t in targets}
        for i, target in enumerate(targets):
            if target.numerator is None or target.denominator is None:  # not computed (is_computed, spelled so that both narrow)
                continue
            for name in ("numerator", "denominator"):
                code = getattr(target, name)
                count = by_code.get(code)
                if count is None:
                    issues.append(((i, name), f"unknown indicator '{code}': expected the code of a sum target of this plan"))
                elif count.aggregation != Aggregation.SUM:
                    issues.append(((i, name), f"'{code}' is a {count.aggregation}: a rate is computed from two sum targets (counts)"))
            part, whole = by_code.get(target.numerator), by_code.get(target.denominator)
            if part is not None and whole is not None and set(part.reporters) != set(whole.reporters):
                issues.append(
                    ((i, "denominator"), f"'{target.numerator}' and '{target.denominator}' must be reported by the same units (their reporters differ)")
                )
        if issues:
            raise cross_check(issues)
        return targets

    @field_validator("duties")
    @classmethod
    def _duties_fit(cls, duties: list[DutySpec], info: ValidationInfo) -> list[DutySpec]:
        issues = _unique_codes(duties, "duty")
        targets = info.data.get("targets")
        if targets is not None:
            known = [t.code for t in targets]
            counts = {t.code: (t.numerator, t.denominator) for t in targets if t.is_computed}
            for i, duty in enumerate(duties):
                for j, code in enumerate(duty.indicators):
                    if code not in known:
                        expected = ", ".join(known) if known else "none: the plan has no targets"
                        issues.append(((i, "indicators", j), f"unknown indicator '{code}': no target has this code (targets: {expected})"))
                    elif code in counts:
                        for count in counts[code]:
                            if count not in duty.indicators:
                                issues.append(
                                    (
                                        (i, "indicators", j),
                                        f"'{code}' is computed from '{count}', which this duty does not report: add '{count}' to its indicators",
                                    )
                                )
        if issues:
            raise cross_check(issues)
        return duties

    @model_validator(mode="after")
    def _duties_in_the_cycle(self) -> PlanSpec:
        """Every deadline on or after the day of issue, and every reminder between the two."""
        issues: list[tuple[Loc, str]] = []
        for i, duty in enumerate(self.duties):
            if duty.due_on is None:
                continue  # periods generated at import, within the plan's year
            if duty.due_on < self.issued_on:
                issues.append((("duties", i, "due_on"), f"due {duty.due_on} before the plan is issued ({self.issued_on}): a deadline comes after its plan"))
                continue
            span = (duty.due_on - self.issued_on).days
            early = [days for days in duty.reminder_days if days > max(span, 1)]
            if early:
                issues.append(
                    (("duties", i, "reminder_days"), f"a reminder {early[0]} days before {duty.due_on} falls before the plan is issued ({self.issued_on}); "
                     f"at most {max(span, 1)} days")
                )  # fmt: skip
            late = [days for days in duty.overdue_days if days > 366]
            if late:
                issues.append((("duties", i, "overdue_days"), f"an overdue notice {late[0]} days after the deadline: at most 366 days"))
        if issues:
            raise cross_check(issues)
        return self

    @model_validator(mode="after")
    def _defaults(self) -> PlanSpec:
        if self.year is None:
            self.year = self.issued_on.year
        if self.key is None:
            self.key = derive_plan_key(self.number, self.symbol, self.year)
        return self

    @property
    def code(self) -> str:
        """'74/KH-SXD', or '/KH-UBND' on a draft."""
        return f"{self.number or ''}/{self.symbol}"

    @property
    def covered_year(self) -> int:
        """The year the plan covers: `year`, which defaults to the year of issue."""
        return self.year if self.year is not None else self.issued_on.year


class PlanFile(Spec):
    """A plan file: one top-level `plan:` mapping."""

    model_config = ConfigDict(
        title="Plan file", json_schema_extra={"description": "A plan (Kế hoạch): number and symbol, issuer, tasks, targets and reporting duties."}
    )

    plan: PlanSpec = Field(description="The plan.")


class AmendmentSpec(Spec):
    """The amending document itself (Kế hoạch sửa đổi, bổ sung): its own number, day and signer."""

    number: PlanNumber = Field(description="Its number in the issuer's register: '130'.")
    symbol: Symbol | None = Field(None, description="Its symbol; default the plan's ('KH-UBND'). 'QĐ-UBND' for a decision that adjusts the plan.")
    issued_on: VnDate = Field(description="Day of issue: the new version is in force from this day.")
    place: str | None = Field(None, description="Place of issue; default the plan's.")
    reason: str = Field("", description="Why the plan changes, as the document cites it: 'Căn cứ Công văn số 45/UBND-NC ngày 20/5/2024 …'.")
    signer: SignerSpec | None = Field(None, description="Signer: {title, name}; default the plan's.")


class AmendmentFile(Spec):
    """An amendment file: the amending document (`amendment:`) and the whole plan as amended (`plan:`, as `cascade plan export` prints it)."""

    model_config = ConfigDict(
        title="Amendment file",
        json_schema_extra={"description": "A plan amendment (Kế hoạch sửa đổi, bổ sung): its number, day and signer, and the plan as amended."},
    )

    amendment: AmendmentSpec = Field(description="The amending document.")
    plan: PlanSpec = Field(description="The plan as amended: the same key, number and issuer, with its tasks, targets and duties as they now are.")


# ---------------------------------------------------------------------------------------------
# c) Submission file
# ---------------------------------------------------------------------------------------------

_VALUE_JSON_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "number"},
        {"type": "string", "description": "A Vietnamese number ('86,5%', '1.234') or đạt / không đạt / có / không (→ 1 / 0)."},
        {"type": "boolean", "description": "true → 1, false → 0."},
        {
            "type": "object",
            "description": "A rate as {numerator, denominator}, or a value with a note.",
            "properties": {
                "value": {"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "boolean"}]},
                "numerator": {"anyOf": [{"type": "number"}, {"type": "string"}], "description": "Rates: the part (0 ≤ numerator ≤ denominator)."},
                "denominator": {
                    "anyOf": [{"type": "number"}, {"type": "string"}],
                    "description": "Rates: the whole (≥ 0; 0/0 when there was nothing to count).",
                },
                "note": {"type": "string", "description": "Explanation of the figure."},
            },
            "additionalProperties": False,
        },
    ],
    "description": "A figure: a number, a yes/no, {numerator, denominator} for a rate, or {value, note}.",
}


class IndicatorValue(Spec):
    """A unit's figure for one indicator: a value, or a numerator and denominator for a rate."""

    value: FlexNumber | None = Field(None, description="The figure: a number, '86,5%', true/false or đạt/không đạt/có/không (→ 1/0).")
    numerator: VnNumber | None = Field(None, description="Rates: the part (0 ≤ numerator ≤ denominator).")
    denominator: VnNumber | None = Field(None, description="Rates: the whole (≥ 0; 0/0 when there was nothing to count: 'không phát sinh').")
    note: str = Field("", description="Explanation of the figure.")

    @model_validator(mode="before")
    @classmethod
    def _scalar(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return data
        return {"value": data}

    @model_validator(mode="after")
    def _shape(self) -> IndicatorValue:
        issues: list[tuple[Loc, str]] = []
        has_rate = self.numerator is not None or self.denominator is not None
        if self.value is not None and has_rate:
            issues.append(((), "give either a value or a numerator and a denominator, not both"))
        elif self.value is None and not has_rate:
            issues.append(((), "expected a value, or a numerator and a denominator"))
        elif has_rate:
            if self.denominator is None:
                issues.append((("denominator",), "missing: a rate needs both numerator and denominator"))
            elif self.numerator is None:
                issues.append((("numerator",), "missing: a rate needs both numerator and denominator"))
            elif self.denominator < 0:
                issues.append((("denominator",), f"expected a number ≥ 0; got {plain_number(self.denominator)}"))
            elif self.denominator == 0 and self.numerator != 0:
                issues.append((("denominator",), f"expected a number > 0 for numerator {plain_number(self.numerator)} (0/0 says there was nothing to count)"))
            elif self.numerator < 0:
                issues.append((("numerator",), f"expected a number ≥ 0; got {plain_number(self.numerator)}"))
            elif self.numerator > self.denominator:
                issues.append((("numerator",), f"numerator {plain_number(self.numerator)} is greater than denominator {plain_number(self.denominator)}"))
        if issues:
            raise cross_check(issues)
        return self

    @property
    def is_rate(self) -> bool:
        return self.numerator is not None and self.denominator is not None


class SelfAssessment(Spec):
    score: VnNumber | None = Field(None, ge=0, le=100, description="Self-assessed score, 0..100.")
    note: str = Field("", description="Explanation and evidence (tài liệu minh chứng) for the score.")


class SubmissionSpec(Spec):
    """A unit's report for one duty of a plan, submitted with `cascade submit FILE`."""

    model_config = ConfigDict(
        title="Submission file",
        json_schema_extra={
            "description": "A unit's report for one reporting duty: figures per indicator, narrative per section, self-assessment and evidence files."
        },
    )

    plan: str = Field(min_length=1, description="The plan: its key ('74-kh-sxd-2024') or number/symbol ('74/KH-SXD').")
    duty: ItemCode = Field(description="Code of the duty reported on: 'bao_cao_nam'.")
    unit: UnitCode = Field(description="Code of the reporting unit.")
    submitted_by: Email | None = Field(None, description="Email address of the person submitting (optional).")
    values: dict[IndicatorCode, Annotated[IndicatorValue, WithJsonSchema(_VALUE_JSON_SCHEMA)]] = Field(
        default_factory=dict, description="Indicator code → figure: 728, '86,5%', 'đạt', true, {numerator: 694, denominator: 788}, {value: 1, note: ...}."
    )
    sections: dict[IndicatorCode, str] = Field(default_factory=dict, description="Section code → narrative text (every section of the duty must be filled).")
    self_assessment: SelfAssessment | None = Field(None, description="Self-assessment: {score (0..100), note}.")
    attachments: list[str] = Field(
        default_factory=list,
        description="Evidence files, paths relative to the submission file's folder (or the evidence folder given), inside it; each must exist.",
    )

    @field_validator("attachments")
    @classmethod
    def _attachments_exist(cls, attachments: list[str], info: ValidationInfo) -> list[str]:
        base = (info.context or {}).get("base_dir")
        issues = _unique(attachments, "attachment")
        if base is not None:
            settings = get_settings()
            if len(attachments) > settings.portal_max_files:
                issues.append(((), f"{len(attachments)} evidence files: at most {settings.portal_max_files} on one report (setting portal_max_files)"))
            for i, name in enumerate(attachments):
                issues += [((i,), problem) for problem in _evidence_problems(Path(base), name, settings.portal_max_file_mb)]
        if issues:
            raise cross_check(issues)
        return attachments


def _evidence_problems(base: Path, name: str, max_mb: float) -> list[str]:
    """Why the evidence file `name` cannot be taken from the folder `base`: it must lie inside it (no absolute
    path, no '..', no link out of it), exist, and hold 1 byte to `max_mb` MB, as on the portal."""
    where = f"{name!r} (paths are relative to the folder {base}, and stay inside it)"
    if Path(name).is_absolute() or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in re.split(r"[/\\]", name):
        return [f"evidence must come from the submission's folder: {where}"]
    folder = base.resolve()
    target = (base / name).resolve()
    if not target.is_relative_to(folder):
        return [f"evidence must come from the submission's folder: {where} leads outside it"]
    if not target.is_file():
        return [f"attachment not found: {base / name} (paths are relative to the submission file)"]
    size = target.stat().st_size
    if size == 0:
        return [f"the evidence file {name!r} is empty"]
    if size > max_mb * 1024 * 1024:
        return [f"the evidence file {name!r} is {size / 1024 / 1024:.1f} MB, above the limit of {max_mb:g} MB (setting portal_max_file_mb)"]
    return []


# ---------------------------------------------------------------------------------------------
# JSON Schema
# ---------------------------------------------------------------------------------------------

FORMATS: dict[str, type[Spec]] = {"units": UnitsFile, "plan": PlanFile, "amendment": AmendmentFile, "submission": SubmissionSpec}


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the units, plan or submission file format."""
    try:
        model = FORMATS[kind]
    except KeyError:
        raise ValueError(f"unknown format {kind!r}; expected one of {', '.join(FORMATS)}") from None
    schema = model.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
