"""Errors users can act on: each names the place (file, line, field, cell) and what was expected."""

from __future__ import annotations

from dataclasses import dataclass, field


class CascadeError(Exception):
    """Base class: the CLI prints `str(error)` on one line and exits non-zero."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: its line (if known), its field path and what was expected."""

    message: str
    line: int | None = None
    path: str | None = None
    # What kind of problem, with its facts, for a page that words it in its own language (the message stays as is)
    code: str | None = field(default=None, compare=False)
    facts: dict[str, str] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        parts = [str(self.line)] if self.line else []
        if self.path:
            parts.append(self.path)
        parts.append(self.message)
        return ": ".join(parts)


@dataclass
class InputError(CascadeError):
    """An input file is invalid; nothing from it was written."""

    source: str
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        if not self.problems:
            return f"{self.source}: invalid input"
        first = self.problems[0]
        more = f" (and {len(self.problems) - 1} more problem(s))" if len(self.problems) > 1 else ""
        return f"{self.source}:{first}{more}"

    def details(self) -> str:
        return "\n".join(f"{self.source}:{p}" for p in self.problems)


class ImportFileError(InputError):
    """A units or plan file does not match its documented format."""


class SubmissionError(InputError):
    """A submission file does not match its assignment's duty."""


class FormError(InputError):
    """A filled Excel form cannot be taken: each problem's path names the sheet and cell ('Chỉ tiêu!F9')."""


class NotFound(CascadeError):
    """A plan, unit, duty or assignment named on the command line does not exist."""


class ConflictError(CascadeError):
    """The request contradicts what the database already holds (e.g. a submission after the cycle closed)."""


class InvalidValue(CascadeError):
    """A value typed on a page or a command line is not acceptable; the message says what is expected."""
