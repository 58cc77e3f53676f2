"""Wiring: run one orthanc-tests entry script with a unittest runner that records every outcome.

    python tests/upstream/unittest_json.py OUT.json SCRIPT [SCRIPT ARGS...]

SCRIPT (``Tests/Run.py``, ``Plugins/DicomWeb/Run.py``) is run as ``__main__`` unchanged; only
``unittest.main`` is given a runner that writes ``{test id: outcome}`` to OUT.json after each test
(so a run cut short still reports what it did). Outcomes: pass, fail, error, skip.

Runs under Python 2.7 too (the main suite at this tag is Python 2 code): no annotations, type
comments for mypy.
"""

# Python 2.7 has no pathlib and needs these imports:
# ruff: noqa: PTH100, PTH120, PTH123, UP010
from __future__ import absolute_import, print_function

import functools
import json
import os
import runpy
import sys
import unittest

if False:  # typing only; Python 2 has no typing module
    from typing import Any  # noqa: F401

MAIN_PREFIX = "__main__."


class _Recorder(unittest.TextTestResult):
    out = ""  # set on the subclass made in main()
    outcomes = {}  # type: dict[str, str]  # noqa: RUF012 - one run per process

    def _record(self, test, outcome):
        # type: (unittest.TestCase, str) -> None
        name = test.id()
        if name.startswith(MAIN_PREFIX):
            name = name[len(MAIN_PREFIX) :]
        self.outcomes[name] = outcome
        with open(self.out, "w") as handle:
            json.dump(self.outcomes, handle, indent=1, sort_keys=True)

    def addSuccess(self, test):
        # type: (unittest.TestCase) -> None
        super(_Recorder, self).addSuccess(test)  # noqa: UP008 - Python 2
        self._record(test, "pass")

    def addFailure(self, test, err):
        # type: (unittest.TestCase, Any) -> None
        super(_Recorder, self).addFailure(test, err)  # noqa: UP008
        self._record(test, "fail")

    def addError(self, test, err):
        # type: (unittest.TestCase, Any) -> None
        super(_Recorder, self).addError(test, err)  # noqa: UP008
        self._record(test, "error")

    def addSkip(self, test, reason):
        # type: (unittest.TestCase, str) -> None
        super(_Recorder, self).addSkip(test, reason)  # noqa: UP008
        self._record(test, "skip")

    def addExpectedFailure(self, test, err):
        # type: (unittest.TestCase, Any) -> None
        super(_Recorder, self).addExpectedFailure(test, err)  # noqa: UP008
        self._record(test, "pass")

    def addUnexpectedSuccess(self, test):
        # type: (unittest.TestCase) -> None
        super(_Recorder, self).addUnexpectedSuccess(test)  # noqa: UP008
        self._record(test, "fail")


def main():
    # type: () -> None
    out, script = sys.argv[1], os.path.abspath(sys.argv[2])
    sys.argv = [script] + sys.argv[3:]  # noqa: RUF005 - Python 2
    sys.path.insert(0, os.path.dirname(script))
    recorder = type("Recorder", (_Recorder,), {"out": out, "outcomes": {}})
    runner = unittest.TextTestRunner(verbosity=2, resultclass=recorder)
    unittest.main = functools.partial(unittest.main, testRunner=runner)  # type: ignore[assignment]
    with open(out, "w") as handle:
        handle.write("{}")
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
