"""Pure: Orthanc's persistent change log -> durable job messages (through Protocol-typed adapters).

StableStudy decides a study: eligible -> a ``segment_study`` task and a ``queued`` event;
not eligible -> a ``skipped`` event with the reason. NewStudy tells the portal at once (the
first study with a StudyInstanceUID owns it there, so arrival order matters) and marks the
study pending, so a study whose StableStudy never came (Orthanc restarted before it was stable:
stability timers live in memory) is decided by the sweep once Orthanc reports it stable and it
has been quiet long enough.

Jobs are keyed by the Orthanc study id, never by the StudyInstanceUID: another patient's study
may carry the same UID, and its job must not be mistaken for (or overwrite) this one's.

Several replicas on one index: each keeps its own stability timers, so one replica's StableStudy
only says that *it* received nothing for StableAge. A study is decided only when its
``LastUpdate`` (written to the shared index by whichever replica stored its latest instance) is
StableAge old; otherwise it stays pending for the sweep. The change log is read by the leader
only (``store.lead``); under concurrent writers its sequence can have holes (a transaction that
has not committed yet, or one rolled back), so the cursor stops before a hole until it is older
than ``ChangeTracker.grace_s``, while the changes after it are handled at once, and only once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from neuronova_contracts import tasks
from neuronova_contracts.jobs import JobState, job_event, job_id
from neuronova_contracts.manifest import Manifest
from neuronova_contracts.matching import SeriesTags, match_study

from neuronova_plugin.ai.store import JobStore, Message
from neuronova_plugin.host import HostError, PluginHost, get_json

# Tags only found in the instances (not Orthanc's series main tags) that matching rules use.
_INSTANCE_TAGS = ("ContrastBolusAgent", "ScanningSequence", "SequenceVariant", "SequenceName")


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
    model: Manifest,
    orthanc_study_id: str,
    *,
    force_job: str | None = None,
) -> tuple[list[Message], str, str, str]:
    """Messages for a stable (or re-analysed) study: (messages, job_id, reason, study_uid)."""
    study = get_json(host, f"/studies/{orthanc_study_id}")
    study_uid = str(study["MainDicomTags"].get("StudyInstanceUID", ""))
    decision = match_study(model, study_series_tags(host, orthanc_study_id, model.modality))
    job = force_job or job_id(orthanc_study_id, model.model_id, model.version)

    def ev(state: JobState, reason: str) -> dict[str, Any]:
        return job_event(
            job_id=job,
            study_uid=study_uid,
            orthanc_study_id=orthanc_study_id,
            state=state,
            reason=reason,
            model_id=model.model_id,
            model_version=model.version,
        )

    if not decision.eligible:
        skipped = ev(JobState.SKIPPED, decision.reason)
        message = Message(
            f"{job}:skipped:{decision.reason}", tasks.JOB_EVENT, tasks.PORTAL_QUEUE, skipped
        )
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
    queued = ev(JobState.QUEUED, "")
    messages = [
        Message(job, tasks.SEGMENT_STUDY, tasks.INFERENCE_QUEUE, task),
        Message(f"{job}:queued", tasks.JOB_EVENT, tasks.PORTAL_QUEUE, queued),
    ]
    return messages, job, "", study_uid


def _stable_message(orthanc_study_id: str, study_uid: str, tag: str) -> Message:
    kwargs = {"orthanc_study_id": orthanc_study_id, "study_uid": study_uid}
    return Message(
        f"stable:{orthanc_study_id}:{tag}", tasks.STUDY_STABLE, tasks.PORTAL_QUEUE, kwargs
    )


def _arrived_message(orthanc_study_id: str, tag: str) -> Message:
    kwargs = {"orthanc_study_id": orthanc_study_id}
    return Message(
        f"arrived:{orthanc_study_id}:{tag}", tasks.STUDY_ARRIVED, tasks.PORTAL_QUEUE, kwargs
    )


def last_update(study: dict[str, Any]) -> float | None:
    """Orthanc's ``LastUpdate`` of a resource (UTC, ``YYYYMMDDTHHMMSS``) as a POSIX time."""
    try:
        stamp = datetime.strptime(str(study["LastUpdate"]), "%Y%m%dT%H%M%S")
    except (KeyError, ValueError):
        return None
    return stamp.replace(tzinfo=UTC).timestamp()


def is_quiet(study: dict[str, Any], stable_age_s: float, now: float) -> bool:
    """Stable for this replica and untouched by every replica for StableAge."""
    updated = last_update(study)
    return bool(study.get("IsStable", False)) and (updated is None or now - updated >= stable_age_s)


def _on_stable(
    host: PluginHost,
    store: JobStore,
    model: Manifest,
    orthanc_study_id: str,
    tag: str,
    *,
    quiet: Callable[[dict[str, Any]], bool] = lambda _study: True,
) -> list[Message] | None:
    """Messages for a study that may be stable; None while another replica is still storing."""
    try:
        if not quiet(get_json(host, f"/studies/{orthanc_study_id}")):
            return None
        messages, _, _, study_uid = decide_study(host, store, model, orthanc_study_id)
    except HostError as exc:
        # Deleted since: nothing to analyse. Logged, and the cursor moves on.
        host.log_warning(f"AI: study {orthanc_study_id} unreadable, not analysed: {exc}")
        return []
    return [_stable_message(orthanc_study_id, study_uid, tag), *messages]


@dataclass
class ChangeTracker:
    """The leader's memory of the change log above the durable cursor (lost on a new leader,
    which then handles those changes again: every message is keyed, so that adds nothing)."""

    grace_s: float = 60.0
    handled: set[int] = field(default_factory=set)
    holes: dict[int, float] = field(default_factory=dict)  # missing seq -> first seen

    def next_cursor(self, cursor: int, seqs: Iterable[int], now: float) -> int:
        """The cursor after ``seqs`` are handled: up to the first hole younger than grace_s."""
        known = self.handled.union(seqs)
        for seq in sorted(s for s in known if s > cursor):
            if seq > cursor + 1 and now - self.holes.setdefault(cursor + 1, now) < self.grace_s:
                break
            cursor = seq
        return cursor

    def mark(self, seqs: Iterable[int], cursor: int) -> None:
        self.handled.update(seqs)
        self.handled = {s for s in self.handled if s > cursor}
        self.holes = {s: t for s, t in self.holes.items() if s > cursor}


def poll_changes(
    host: PluginHost,
    store: JobStore,
    model: Manifest,
    limit: int = 100,
    *,
    tracker: ChangeTracker | None = None,
    stable_age_s: float = 0.0,
    clock: Callable[[], float] = time.time,
) -> bool:
    """Read the change log from the cursor to its end (leader only); True when nothing is left."""
    tracker = tracker if tracker is not None else ChangeTracker(grace_s=0.0)
    cursor = store.cursor()
    since = cursor
    while True:
        page = get_json(host, f"/changes?since={since}&limit={limit}")
        changes = [c for c in page.get("Changes", []) if int(c["Seq"]) not in tracker.handled]
        messages, new_pending, resolved = _handle(
            host, store, model, changes, lambda study: is_quiet(study, stable_age_s, clock())
        )
        seqs = [int(c["Seq"]) for c in page.get("Changes", [])]
        cursor = tracker.next_cursor(cursor, seqs, clock())
        store.commit_changes(
            cursor=cursor, messages=messages, new_pending=new_pending, resolved=resolved
        )
        tracker.mark(seqs, cursor)
        if page.get("Done", True) or not seqs:
            return True
        since = max(seqs)


def _handle(
    host: PluginHost,
    store: JobStore,
    model: Manifest,
    changes: list[dict[str, Any]],
    quiet: Callable[[dict[str, Any]], bool],
) -> tuple[list[Message], list[str], list[str]]:
    messages: list[Message] = []
    new_pending: list[str] = []
    resolved: list[str] = []
    for change in changes:
        if change.get("ResourceType") != "Study":
            continue
        study = str(change["ID"])
        if change["ChangeType"] == "NewStudy":
            new_pending.append(study)
            messages.append(_arrived_message(study, f"seq{change['Seq']}"))
        elif change["ChangeType"] == "StableStudy":
            decided = _on_stable(host, store, model, study, f"seq{change['Seq']}", quiet=quiet)
            if decided is None:
                new_pending.append(study)
            else:
                messages += decided
                resolved.append(study)
    return messages, new_pending, resolved


def sweep_pending(
    host: PluginHost,
    store: JobStore,
    model: Manifest,
    quiet_s: float,
    clock: Callable[[], float] = time.time,
    *,
    stable_age_s: float = 0.0,
) -> int:
    """Decide pending studies quiet for ``quiet_s`` here and StableAge on every replica."""
    decided = 0
    for study in store.pending(older_than=clock() - quiet_s):
        try:
            info = get_json(host, f"/studies/{study}")
        except HostError:
            store.resolve([], resolved=[study])
            continue
        if not is_quiet(info, stable_age_s, clock()):
            continue
        messages = _on_stable(host, store, model, study, f"sweep{int(clock())}")
        store.resolve(messages or [], resolved=[study])
        decided += 1
    return decided
