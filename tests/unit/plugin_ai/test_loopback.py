"""The loopback store (ai/loopback.py): which port and credentials, and errors as HostError."""

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from neuronova_plugin.ai.loopback import LoopbackStore
from neuronova_plugin.host import HostError

from tests.support.orthanc import free_port


def test_port_and_first_registered_user_come_from_the_orthanc_config() -> None:
    store = LoopbackStore.from_orthanc_config(
        {"HttpPort": 9123, "RegisteredUsers": {"svc": "s3cret:x", "other": "y"}}
    )
    assert store.port == 9123
    assert store.authorization == "Basic " + base64.b64encode(b"svc:s3cret:x").decode()


def test_no_credentials_without_users_or_with_authentication_off() -> None:
    assert LoopbackStore.from_orthanc_config({}).authorization is None
    assert LoopbackStore.from_orthanc_config({}).port == 8042
    off = {"AuthenticationEnabled": False, "RegisteredUsers": {"a": "b"}}
    assert LoopbackStore.from_orthanc_config(off).authorization is None


class _Orthanc(BaseHTTPRequestHandler):
    """Answers like Orthanc: 200 + JSON for the right credentials, 401 otherwise."""

    seen: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((self.path, self.headers.get("Authorization", ""), body))
        ok = self.headers.get("Authorization") == "Basic dTpw"
        self.send_response(200 if ok else 401)
        answer = b'{"ID": "abc"}' if ok else b"unauthorized"
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Orthanc)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_store_posts_the_file_to_instances(server: ThreadingHTTPServer) -> None:
    store = LoopbackStore(port=server.server_address[1], authorization="Basic dTpw")
    assert store.store(b"DICM-bytes") == b'{"ID": "abc"}'
    assert _Orthanc.seen[-1] == ("/instances", "Basic dTpw", b"DICM-bytes")


def test_refusals_and_unreachable_ports_raise_host_error(server: ThreadingHTTPServer) -> None:
    with pytest.raises(HostError, match="HTTP 401"):
        LoopbackStore(port=server.server_address[1], authorization=None).store(b"x")
    with pytest.raises(HostError, match="loopback"):
        LoopbackStore(port=free_port(), authorization=None, timeout_s=2).store(b"x")
