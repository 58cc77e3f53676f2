#!/opt/neuronova/venv/bin/python
"""Wiring: the Orthanc container's healthcheck — its REST API answers /system with our password.

``orthanc-healthcheck [PORT]``: the replica's own HTTP port (default 8042; each replica of the
compose run has its own, stack/compose_cluster.py), never the entry's upstream in front of them.
"""

import base64
import os
import sys
import urllib.request

token = base64.b64encode(f"orthanc:{os.environ['ORTHANC_PASSWORD']}".encode()).decode()
port = int(sys.argv[1]) if len(sys.argv) > 1 else 8042
request = urllib.request.Request(
    f"http://127.0.0.1:{port}/system", headers={"Authorization": f"Basic {token}"}
)
try:
    with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310 - loopback
        sys.exit(0 if response.status == 200 else 1)
except OSError:
    sys.exit(1)
