"""Wiring: the Orthanc Python plugin entry script, the only module that imports ``orthanc``.

Orthanc 1.13 runs this file with the Python 3.14 that Debian sid's orthanc-python embeds, inside
the Orthanc root (scripts/orthanc-root.sh). Its packages are the root's venv, put on ``sys.path``
here together with this folder and ``contracts/``, so nothing needs PYTHONPATH. Everything else
happens in
:func:`neuronova_plugin.plugin.register`, which takes the ``orthanc`` module as a parameter.
"""

from __future__ import annotations

import atexit
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
# This folder and the contracts shared with the other deployables (the repository's contracts/,
# beside this folder here and in the production image).
for _path in (str(_HERE.parent / "contracts"), str(_HERE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)
# The root's venv (also the production image's path), before Debian's dist-packages.
_VENV = f"/opt/neuronova/venv/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"
if Path(_VENV).is_dir() and _VENV not in sys.path:
    sys.path.insert(1, _VENV)

import orthanc  # type: ignore[import-not-found]  # noqa: E402
from neuronova_plugin.plugin import register  # noqa: E402

# Held for the life of the process: the callbacks and the AI loop live in it.
PLUGIN = register(orthanc)
# Once Orthanc has stopped, the process ends when Python starts finalizing, before orthanc-python
# 7.1's own finalization crashes it (neuronova_plugin/process_end.py, docs/plugin.md).
if PLUGIN.process_end is not None:
    atexit.register(PLUGIN.process_end.at_python_exit)
