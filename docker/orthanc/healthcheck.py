#!/opt/neuronova/venv/bin/python
"""Wiring: the Orthanc container's healthcheck — its REST API answers /system with our password."""

import base64
import os
import sys
import urllib.request

token = base64.b64encode(f"orthanc:{os.environ['ORTHANC_PASSWORD']}".encode()).decode()
request = urllib.request.Request(
    "http://127.0.0.1:8042/system", headers={"Authorization": f"Basic {token}"}
)
try:
    with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310 - loopback
        sys.exit(0 if response.status == 200 else 1)
except OSError:
    sys.exit(1)
