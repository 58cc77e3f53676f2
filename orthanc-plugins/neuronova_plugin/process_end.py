"""Adapter (the process): ends the Orthanc process once Orthanc has stopped, before orthanc-python
7.1 runs its own finalization, which crashes it.

orthanc-python 7.1 queues every change Orthanc signals for its on-change worker thread and stops
that thread on ORTHANC_STOPPED. A change Orthanc signals after that (a study turning stable
while the HTTP and DICOM servers shut down, an instance still being stored) stays queued; at
finalization ``PendingChanges::Clear()`` deletes the queued entries but keeps their pointers, and
the same object's static destructor deletes them again when ``libOrthancPython.so`` is unloaded:
glibc aborts with "double free or corruption", which Orthanc, pid 1 of its namespace, turns into
SIGSEGV (docs/plugin.md, "Stopping it"). Nothing in the plugin can empty that queue, and it is
only registered with an on-change callback, which the AI lifecycle needs.

So, when Orthanc has signalled ORTHANC_STOPPED, the plugin's Python exit handler (run by
``Py_Finalize`` in the Python plugin's finalization) flushes the logs and ends the process with
status 0. By then Orthanc has stopped its servers, jobs and index, closed its database and
finalized every other plugin (in name order, as its log shows: "python" comes after "dicom-web",
"neuronova-htj2k", "postgresql-index" and "postgresql-storage"): what is skipped is the Python
plugin's own teardown and the process's exit-time destructors. Without ORTHANC_STOPPED
(Orthanc failed before it started) nothing is skipped and Orthanc exits its own way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from neuronova_plugin.host import PluginHost


@dataclass
class ProcessEnd:
    host: PluginHost
    exit: Callable[[int], object] = os._exit
    streams: tuple[TextIO, ...] = field(default_factory=lambda: (sys.stdout, sys.stderr))
    orthanc_stopped: bool = False

    def on_orthanc_stopped(self) -> None:
        self.orthanc_stopped = True

    def at_python_exit(self) -> None:
        """The ``atexit`` handler: ends the process when Orthanc has stopped, else returns."""
        if not self.orthanc_stopped:
            return
        self.host.log_warning(
            "Orthanc has stopped; the process ends here, before orthanc-python 7.1's own "
            "finalization (docs/plugin.md, 'Stopping it')"
        )
        logging.shutdown()
        for stream in self.streams:
            # A closed or broken stream has nothing left to say.
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        self.exit(0)
