"""The upper level's review of a unit's report: accept it, return it with a comment, or adjust its
self-assessment score with a reason. Each decision is a `Review` row; accepting and returning email
the unit (a returned unit corrects its report through the same link and sends a new version)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from cascade import clock
from cascade.errors import ConflictError, NotFound
from models.assignment import AssignmentStatus
from models.db import session_scope
from models.outbox import EmailKind
from models.submission import Channel, Review, ReviewAction, ReviewStatus, Submission
from tasks.intake.submissions import queue_to_unit
from tasks.plans.contexts import assignment_context
from templates import message, render_email


def review_submission(
    submission_id: int,
    action: ReviewAction,
    *,
    reviewer: str,
    as_of: date,
    comment: str = "",
    score: Decimal | None = None,
) -> Review:
    """Record one decision on the latest version of an assignment and queue the unit's email.

    Raises ConflictError (with a message for the reviewer) when the version is not the latest, was
    already decided, or the decision lacks its comment or score.
    """
    comment = comment.strip()
    with session_scope() as session:
        submission = session.get(Submission, submission_id)
        if submission is None:
            raise NotFound(f"no submission {submission_id}")
        assignment = submission.assignment
        latest = session.scalar(select(func.max(Submission.version)).where(Submission.assignment_id == assignment.id))
        if submission.version != latest:
            raise ConflictError(message("intake.review.superseded", version=submission.version, latest=latest))
        if submission.channel == Channel.CONSOLIDATION and action != ReviewAction.ACCEPT:
            raise ConflictError(message("intake.review.consolidated"))
        before = submission.reviewed_score if submission.reviewed_score is not None else submission.self_score
        if action in (ReviewAction.ACCEPT, ReviewAction.RETURN) and submission.review_status != ReviewStatus.PENDING:
            raise ConflictError(message("intake.review.decided", version=submission.version, accepted=submission.review_status == ReviewStatus.ACCEPTED))
        if action == ReviewAction.RETURN and not comment:
            raise ConflictError(message("intake.review.return_needs_comment"))
        if action == ReviewAction.ADJUST_SCORE:
            if score is None or not 0 <= score <= 100:
                raise ConflictError(message("intake.review.score_range"))
            if not comment:
                raise ConflictError(message("intake.review.score_needs_comment"))
            submission.reviewed_score = score
        elif action == ReviewAction.ACCEPT:
            submission.review_status = ReviewStatus.ACCEPTED
            assignment.status = AssignmentStatus.ACCEPTED
        else:
            submission.review_status = ReviewStatus.RETURNED
            assignment.status = AssignmentStatus.RETURNED
        review = Review(
            submission=submission, action=action, comment=comment, reviewer=reviewer, at=clock.moment(as_of),
            score_before=before, score_after=score if action == ReviewAction.ADJUST_SCORE else None,
        )  # fmt: skip
        session.add(review)
        session.flush()
        if action != ReviewAction.ADJUST_SCORE and submission.channel != Channel.CONSOLIDATION:
            context = assignment_context(session, assignment, as_of=as_of)
            context["review"] = {"action": str(action), "comment": comment, "version": submission.version, "at": review.at}
            queue_to_unit(
                session, assignment, key=f"review:{review.id}", kind=EmailKind.REVIEW, rendered=render_email("review", **context), created_at=review.at
            )
        session.expunge(review)
        return review
