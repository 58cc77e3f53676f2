"""Wiring: ``manage.py ai_result STUDY_UID [--wait S]`` — a study's AI result, as reported.

What `make demo` runs after sending its study: it waits for the job to finish, printing one
progress line per change (stable study, queued, running, done), then the volume of every label.
Exit status 0 once a report is done; 1 when the job failed or was skipped, or time ran out.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from neuronova_contracts.jobs import FINAL_STATES, JobState

from clinical import labels, reports, selectors


class Command(BaseCommand):
    help = "Print a study's AI result (labels and volumes); --wait polls until it is final."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("study_uid")
        parser.add_argument("--wait", type=float, default=0.0, help="seconds to wait for it")
        parser.add_argument("--poll", type=float, default=2.0)
        parser.add_argument("--json", action="store_true", help="print the report body as JSON")

    def handle(self, *args: object, **options: Any) -> None:  # noqa: ANN401
        study_uid: str = options["study_uid"]
        started = time.monotonic()
        deadline = started + max(0.0, options["wait"])
        shown = ""
        while True:
            body = self._report(study_uid)
            state = body["status"] if body else "waiting for the study to be stored and stable"
            line = f"[demo] AI result of study {study_uid}: {state}"
            if line != shown:
                self.stdout.write(f"{line} ({time.monotonic() - started:.0f} s)")
                self.stdout.flush()
                shown = line
            if body is not None and state in FINAL_STATES:
                break
            if time.monotonic() >= deadline:
                self.stderr.write(f"[demo] no final AI result within {options['wait']:.0f} s")
                raise SystemExit(1)
            time.sleep(options["poll"])
        if options["json"]:
            self.stdout.write(json.dumps(body, indent=2))
        else:
            self._print_volumes(body)
        if state != JobState.DONE:
            raise SystemExit(1)

    @staticmethod
    def _report(study_uid: str) -> dict[str, Any] | None:
        study = selectors.study_by_uid(study_uid=study_uid)
        if study is None:
            return None
        latest = selectors.jobs_of(study=study).first()
        done = selectors.latest_report_job(study=study)
        body = reports.report_body(
            latest=latest,
            latest_done=done,
            labels_of=labels.labels_for,
            review=selectors.review_facts(job=done) if done is not None else None,
        )
        return {**body, "reason": latest.reason if latest is not None else ""}

    def _print_volumes(self, body: dict[str, Any]) -> None:
        if body["status"] != JobState.DONE:
            reason = body.get("reason") or "see `make logs`"
            self.stdout.write(f"[demo] the AI job ended {body['status']}: {reason}")
            return
        self.stdout.write(f"[demo] model {body['model_id']} {body['model_version']}:")
        width = max((len(item["label"]) for item in body["labels"]), default=5)
        for item in body["labels"]:
            self.stdout.write(f"  {item['label']:<{width}}  {item['volume_ml']:9.2f} mL")
        if body.get("qc_score") is not None:
            review = ": NEEDS REVIEW" if body.get("needs_review") else ""
            self.stdout.write(f"  quality control score {body['qc_score']:.2f}{review}")
        signed = body.get("review") or {}
        if signed.get("signed"):
            self.stdout.write(f"  {signed['state']}, signed by {signed['reviewer']}")
        else:
            self.stdout.write("  unsigned: not yet reviewed by a radiologist")
