"""Adapter (ORM): sign an AI result's review, and record a radiologist's edited SEG.

A signature and its audit row are one transaction: an unaudited signature does not happen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from audit import services as audit
from django.db import transaction
from django.http import HttpRequest
from django.utils.timezone import now

from clinical import review as rules
from clinical import updates
from clinical.models import AIJob, EditedSegmentation, Review, Study
from clinical.selectors import latest_edited_seg


@transaction.atomic
def sign(
    *,
    job: AIJob,
    reviewer: str,
    decision: str,
    impression: str,
    reason: str = "",
    reviewer_id: int | None = None,
    request: HttpRequest | None = None,
) -> Review:
    """Sign the review of ``job`` (raises clinical.review.ReviewRefused, nothing written)."""
    # The job's row is the lock: two signatures of one result (even the first, when there is no
    # Review row to lock yet) are taken one after the other, each counting the one before.
    AIJob.objects.select_for_update().filter(pk=job.pk).first()
    review = Review.objects.filter(job=job).first()
    edited = latest_edited_seg(study=job.study, job=job)
    signature = rules.sign(
        current=review.state if review else rules.PENDING,
        version=review.version if review else 0,
        decision=decision,
        impression=impression,
        reason=reason,
        has_edited_seg=edited is not None,
    )
    values = {
        "state": signature.state,
        "impression": signature.impression,
        "reason": signature.reason,
        "edited_seg": edited if signature.state == rules.EDITED else None,
        "reviewer": reviewer,
        "reviewed_at": now(),
        "version": signature.version,
    }
    review, _ = Review.objects.update_or_create(job=job, defaults=values)
    audit.record(
        action="review-sign",
        allowed=True,
        study_uid=job.study.study_uid,
        status_code=200,
        detail=(
            f"{signature.state} (signature {signature.version}) of job {job.job_id}"
            + (f", edited SEG {edited.series_uid}" if review.edited_seg and edited else "")
        ),
        request=request,
        user_id=reviewer_id,
        username=reviewer,
    )
    study_uid = job.study.study_uid
    transaction.on_commit(lambda: updates.study_updated(study_uid))
    return review


def record_edited_seg(
    *,
    study: Study,
    series_uid: str,
    sop_instance_uid: str,
    orthanc_instance_id: str,
    referenced_series_uids: Sequence[str],
    volumes_ml: Mapping[str, float],
    content_creator: str,
    created_by: str,
    stored_at: datetime | None = None,
) -> EditedSegmentation:
    """Remember an edited SEG the portal stored. Idempotent per SOPInstanceUID: the first record
    stands (Orthanc keeps the first file of an instance, OverwriteInstances false), so a re-sent
    instance never changes the figures a signature may already name."""
    seg, _ = EditedSegmentation.objects.get_or_create(
        sop_instance_uid=sop_instance_uid,
        defaults={
            "study": study,
            "series_uid": series_uid,
            "orthanc_instance_id": orthanc_instance_id,
            "referenced_series_uids": list(referenced_series_uids),
            "volumes_ml": {str(k): float(v) for k, v in volumes_ml.items()},
            "content_creator": content_creator[:150],
            "created_by": created_by[:150],
            "stored_at": stored_at or now(),
        },
    )
    return seg
