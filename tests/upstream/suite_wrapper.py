"""Wiring (a script in its own process): one orthanc-tests suite, unedited, through our routing.

Orthanc's suites talk to one base URL with httplib2 and basic auth. This wrapper replaces
``httplib2.Http.request`` before the suite is imported, so that:

- with ``--portal``: the DICOMweb resources a viewer uses (``/dicom-web/studies|series|
  instances…``, any method, and WADO-URI ``/wado``) go to the portal's ``/api/pacs/dicom-web/…``
  and ``/api/pacs/wado`` with ``Authorization: Bearer $NEURONOVA_SUITE_TOKEN``; everything else
  (the suite's REST set-up and checks, Orthanc's DICOMweb client ``/dicom-web/servers…``) goes
  to Orthanc with its basic credentials. The portal's answers name its public address in their
  URLs (RetrieveURL, BulkDataURI, Content-Location: ``http://portal/api/pacs/dicom-web/…``, see
  docs/portal.md); the wrapper maps that prefix back to the address the suite believes it called
  (``http://orthanc/dicom-web/``), so the suite follows those URLs, through the portal again;
- without ``--portal``: everything goes to Orthanc (the baseline).

The suite joins its base URL and paths into ``//dicom-web/…`` or ``/dicom-web//studies``:
repeated slashes are collapsed (Orthanc ignores empty path segments; nginx would hand them to
Django as they are). Each test's outcome is written to ``--results`` as JSON
``{test name: [outcome, last line of the reason]}``.

Usage: ``python suite_wrapper.py --suite RUN_PY --results OUT.json --orthanc URL
--orthanc-auth USER:PASS [--portal URL] -- SUITE_ARGS…``
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import runpy
import sys
import unittest
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httplib2

PORTAL_ROUTES = re.compile(
    r"\A/(?:dicom-web/(?:studies|series|instances)(?=[/?]|\Z)|wado(?=\?|\Z))"
)


def _route(uri: str, orthanc: str, portal: str) -> tuple[str, bool]:
    parts = urlsplit(uri)
    target = re.sub("/{2,}", "/", "/" + parts.path)
    if parts.query:
        target += "?" + parts.query
    if portal and PORTAL_ROUTES.match(target):
        return f"{portal}/api/pacs{target}", True
    return f"{orthanc}{target}", False


def install_routing(orthanc: str, orthanc_auth: str, portal: str, token: str) -> None:
    original = httplib2.Http.request
    basic = "Basic " + base64.b64encode(orthanc_auth.encode()).decode()
    public = f"{portal}/api/pacs/dicom-web/".encode()
    seen_as = f"{orthanc}/dicom-web/".encode()

    def request(
        self: httplib2.Http,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: dict[str, str] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        routed, to_portal = _route(uri, orthanc, portal)
        sent = {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}
        sent["authorization"] = f"Bearer {token}" if to_portal else basic
        self.credentials.clear()  # credentials are set above, per destination
        response, content = original(self, routed, method, body, sent, *args, **kwargs)
        if to_portal and isinstance(content, bytes):
            content = content.replace(public, seen_as)
        return response, content

    httplib2.Http.request = request  # type: ignore[method-assign]


class Recorder(unittest.TextTestResult):
    outcomes: dict[str, tuple[str, str]] = {}  # noqa: RUF012 - one run per process

    def _put(self, test: unittest.TestCase, outcome: str, detail: str = "") -> None:
        lines = [line for line in detail.strip().splitlines() if line.strip()]
        self.outcomes[test._testMethodName] = (outcome, lines[-1][:300] if lines else "")

    def addSuccess(self, test: unittest.TestCase) -> None:
        super().addSuccess(test)
        self._put(test, "pass")

    def addFailure(self, test: unittest.TestCase, err: Any) -> None:
        super().addFailure(test, err)
        self._put(test, "fail", self.failures[-1][1])

    def addError(self, test: unittest.TestCase, err: Any) -> None:
        super().addError(test, err)
        self._put(test, "error", self.errors[-1][1])

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        super().addSkip(test, reason)
        self._put(test, "skip", reason)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--suite", type=Path, required=True)
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--orthanc", required=True)
    parser.add_argument("--orthanc-auth", required=True)
    parser.add_argument("--portal", default="")
    parser.add_argument("suite_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    token = ""
    if args.portal:
        from os import environ  # noqa: PLC0415

        token = environ["NEURONOVA_SUITE_TOKEN"]
    install_routing(args.orthanc.rstrip("/"), args.orthanc_auth, args.portal.rstrip("/"), token)

    original_main = unittest.main

    def recorded_main(*a: Any, **kw: Any) -> unittest.TestProgram:
        kw["exit"] = False
        kw["testRunner"] = unittest.TextTestRunner(
            resultclass=Recorder,  # type: ignore[arg-type]
            verbosity=2,
            stream=sys.stdout,
        )
        program = original_main(*a, **kw)
        args.results.write_text(json.dumps(Recorder.outcomes, indent=1, sort_keys=True))
        return program

    unittest.main = recorded_main  # type: ignore[assignment]
    sys.path.insert(0, str(args.suite.parent))
    suite_args = [a for a in args.suite_args if a != "--"]
    sys.argv = [str(args.suite), *suite_args]
    runpy.run_path(str(args.suite), run_name="__main__")


if __name__ == "__main__":
    main()
