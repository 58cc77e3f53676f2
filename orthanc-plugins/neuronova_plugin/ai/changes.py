"""Pure: Orthanc's persistent change log -> durable job messages (through Protocol-typed adapters).

StableStudy decides a study: eligible -> a ``segment_study`` task and a ``queued`` event;
not eligible -> a ``skipped`` event with the reason. NewStudy tells the portal at once (the
first study with a StudyInstanceUID owns it there, so arrival order matters) and marks the
study pending, so a study whose StableStudy never came (Orthanc restarted before it was stable:
stability timers live in memory) is decided by the sweep once Orthanc reports it stable and it
has been quiet long enough.

Jobs are keyed by the Orthanc study id, never by the StudyInstanceUID: another patient's study
may carry the same UID, and its job must not be mistaken for (or overwrite) this one's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from neuronova_plugin.ai.eligibility import ModelInputs, SeriesTags, decide
from neuronova_plugin.ai.store import JobStore, Message
from neuronova_plugin.host import HostError, PluginHost, get_json

SEGMENT_TASK = "neuronova.inference.segment_study"
JOB_EVENT = "neuronova.portal.job_event"
STUDY_STABLE = "neuronova.portal.study_stable"
STUDY_ARRIVED = "neuronova.portal.study_arrived"
# Tags only found in the instances (not Orthanc's series main tags) that matching rules use.
_INSTANCE_TAGS = ("ContrastBolusAgent", "ScanningSequence", "SequenceVariant", "SequenceName")


def job_id(orthanc_study_id: str, model: ModelInputs) -> str:
    return f"{orthanc_study_id}:{model.model_id}:{model.version}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def event(
    *,
    job: str,
    study_uid: str,
    orthanc_study_id: str,
    state: str,
    reason: str,
    model: ModelInputs,
) -> dict[str, Any]:
    return {
        "job_id": job,
        "study_uid": study_uid,
        "orthanc_study_id": orthanc_study_id,
        "state": state,
        "reason": reason,
        "model_id": model.model_id,
        "model_version": model.version,
        "seg_series_uid": "",
        "volumes_ml": {},
        "at": now_iso(),
    }


def study_series_tags(
    host: PluginHost, orthanc_study_id: str, modality: str
) -> dict[str, SeriesTags]:
    out: dict[str, SeriesTags] = {}
    for series in get_json(host, f"/studies/{orthanc_study_id}/series"):
        tags = {k: str(v) for k, v in (series.get("MainDicomTags") or {}).items()}
        instances = series.get("Instances") or []
        tags["NumberOfInstances"] = str(len(instances))
        if instances and tags.get("Modality") == modality:
            first = get_json(host, f"/instances/{instances[0]}/simplified-tags")
            for kw in _INSTANCE_TAGS:
                value = first.get(kw)
                if isinstance(value, str):
                    tags[kw] = value
        out[str(series["ID"])] = tags
    return out


def decide_study(
    host: PluginHost,
    store: JobStore,
    model: ModelInputs,
    orthanc_study_id: str,
    *,
    force_job: str | None = None,
) -> tuple[list[Message], str, str, str]:
    """Messages for a stable (or re-analysed) study: (messages, job_id, reason, study_uid)."""
    study = get_json(host, f"/studies/{orthanc_study_id}")
    study_uid = str(study["MainDicomTags"].get("StudyInstanceUID", ""))
    decision = decide(model, study_series_tags(host, orthanc_study_id, model.modality))
    job = force_job or job_id(orthanc_study_id, model)

    def ev(state: str, reason: str) -> dict[str, Any]:
        return event(
            job=job,
            study_uid=study_uid,
            orthanc_study_id=orthanc_study_id,
            state=state,
            reason=reason,
            model=model,
        )

    if not decision.eligible:
        skipped = ev("skipped", decision.reason)
        message = Message(f"{job}:skipped:{decision.reason}", JOB_EVENT, "portal", skipped)
        return [message], job, decision.reason, study_uid
    if store.has_key(job):
        return [], job, "", study_uid
    task = {
        "job_id": job,
        "study_uid": study_uid,
        "orthanc_study_id": orthanc_study_id,
        "model_id": model.model_id,
        "model_version": model.version,
    }
    queued = ev("queued", "")
    messages = [
        Message(job, SEGMENT_TASK, "inference", task),
        Message(f"{job}:queued", JOB_EVENT, "portal", queued),
    ]
    return messages, job, "", study_uid


def _stable_message(orthanc_study_id: str, study_uid: str, tag: str) -> Message:
    kwargs = {"orthanc_study_id": orthanc_study_id, "study_uid": study_uid}
    return Message(f"stable:{orthanc_study_id}:{tag}", STUDY_STABLE, "portal", kwargs)


def _arrived_message(orthanc_study_id: str, tag: str) -> Message:
    kwargs = {"orthanc_study_id": orthanc_study_id}
    return Message(f"arrived:{orthanc_study_id}:{tag}", STUDY_ARRIVED, "portal", kwargs)


def _on_stable(
    host: PluginHost, store: JobStore, model: ModelInputs, orthanc_study_id: str, tag: str
) -> list[Message]:
    try:
        messages, _, _, study_uid = decide_study(host, store, model, orthanc_study_id)
    except HostError as exc:
        # Deleted since: nothing to analyse. Logged, and the cursor moves on.
        host.log_warning(f"AI: study {orthanc_study_id} unreadable, not analysed: {exc}")
        return []
    return [_stable_message(orthanc_study_id, study_uid, tag), *messages]


def poll_changes(host: PluginHost, store: JobStore, model: ModelInputs, limit: int = 100) -> bool:
    """Process one page of the change log; returns True when the log is exhausted."""
    since = store.cursor()
    page = get_json(host, f"/changes?since={since}&limit={limit}")
    messages: list[Message] = []
    new_pending: list[str] = []
    resolved: list[str] = []
    for change in page.get("Changes", []):
        if change.get("ResourceType") != "Study":
            continue
        study = str(change["ID"])
        if change["ChangeType"] == "NewStudy":
            new_pending.append(study)
            messages.append(_arrived_message(study, f"seq{change['Seq']}"))
        elif change["ChangeType"] == "StableStudy":
            messages += _on_stable(host, store, model, study, f"seq{change['Seq']}")
            resolved.append(study)
    cursor = max(since, int(page.get("Last", since)))
    store.commit_changes(
        cursor=cursor, messages=messages, new_pending=new_pending, resolved=resolved
    )
    return bool(page.get("Done", True))


def sweep_pending(
    host: PluginHost,
    store: JobStore,
    model: ModelInputs,
    quiet_s: float,
    clock: Callable[[], float] = time.time,
) -> int:
    """Decide pending studies that Orthanc reports stable and were quiet for ``quiet_s``."""
    decided = 0
    for study in store.pending(older_than=clock() - quiet_s):
        try:
            info = get_json(host, f"/studies/{study}")
        except HostError:
            store.commit_changes(cursor=store.cursor(), messages=[], resolved=[study])
            continue
        if not info.get("IsStable", False):
            continue
        messages = _on_stable(host, store, model, study, f"sweep{int(clock())}")
        store.commit_changes(cursor=store.cursor(), messages=messages, resolved=[study])
        decided += 1
    return decided
