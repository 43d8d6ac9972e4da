"""Record a unit's report received as a file, and acknowledge it."""

from __future__ import annotations

from datetime import date

from prefect import flow

from flows.deliver_outbox import deliver_outbox
from flows.hooks import FAILURE_HOOKS
from tasks.intake.submissions import Recorded, SubmissionInput, record_submission


@flow(name="record-submission", flow_run_name="submission-{data.unit}-{as_of}", **FAILURE_HOOKS)
def submit_report(data: SubmissionInput, as_of: date) -> Recorded:
    """Store the submission as the unit's next version (the same input twice is one version) and send the receipt."""
    recorded = record_submission(data, as_of)
    deliver_outbox(as_of)
    return recorded
