"""Fixtures shared by the flow tests."""

from datetime import date

import pytest

from flows.cascade_plan import cascade_plan
from tests.fixtures.builders import Department


@pytest.fixture()
def cascaded(department: Department, smtp_server) -> Department:  # type: ignore[no-untyped-def]
    """The seeded department with its plan cascaded on 05/04/2024 (four notices sent)."""
    cascade_plan(department.plan, date(2024, 4, 5))
    return department
