"""Wiring: the plugin's HTJ2K-aware reading routes, as pure handlers over a PluginHost.

Orthanc 1.10 cannot decode HTJ2K, so the plugin overrides its instance /preview and /rendered
routes (used by Orthanc Explorer): HTJ2K instances are decoded here, anything else is passed to
Orthanc's own route (``host.rest_get`` bypasses plugin routes, so there is no recursion).
Legacy clients get any instance or frame decoded to Explicit VR Little Endian.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from urllib.parse import urlencode

from PIL import Image
from pydicom.multival import MultiValue

from neuronova_plugin import decode, render
from neuronova_plugin.host import HostError, PluginHost, Request, Response
from neuronova_plugin.policy import HTJ2K

EXPLICIT_LE = "1.2.840.10008.1.2.1"
# Regexes registered by entry.py; groups: orthanc id, then frame number where present.
IMAGE_ROUTES = {
    "/instances/([^/]+)/preview": "preview",
    "/instances/([^/]+)/frames/([0-9]+)/preview": "preview",
    "/instances/([^/]+)/rendered": "rendered",
    "/instances/([^/]+)/frames/([0-9]+)/rendered": "rendered",
}
LEGACY_INSTANCE_ROUTE = "/neuronova/instances/([^/]+)/explicit-le"
LEGACY_FRAME_ROUTE = "/neuronova/instances/([^/]+)/frames/([0-9]+)/explicit-le"
RENDER_TAGS = ("WindowCenter", "WindowWidth", "RescaleSlope", "RescaleIntercept")


def _stored_transfer_syntax(host: PluginHost, orthanc_id: str) -> str:
    """Orthanc's metadata; empty when DCMTK 3.6.7 did not know the syntax (HTJ2K)."""
    try:
        return host.rest_get(f"/instances/{orthanc_id}/metadata/TransferSyntax").decode().strip()
    except HostError:
        return ""


def _frame_of(request: Request) -> int:
    return int(request.groups[1]) if len(request.groups) > 1 else 0


def _wants_jpeg(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "image/jpeg" in accept and "image/png" not in accept


def _core_image(host: PluginHost, request: Request, kind: str) -> Response:
    orthanc_id, frame = request.groups[0], _frame_of(request)
    uri = f"/instances/{orthanc_id}/frames/{frame}/{kind}"
    if request.query:
        uri += "?" + urlencode(dict(request.query))
    body = host.rest_get(uri)
    if _wants_jpeg(request) and body.startswith(b"\x89PNG"):
        buffer = io.BytesIO()
        Image.open(io.BytesIO(body)).convert("RGB").save(buffer, format="JPEG", quality=90)
        return Response(200, buffer.getvalue(), "image/jpeg")
    return Response(200, body, "image/jpeg" if body.startswith(b"\xff\xd8") else "image/png")


def _plain(value: object) -> object:
    return list(value) if isinstance(value, MultiValue) else value


def image(host: PluginHost, request: Request, kind: str) -> Response:
    """/preview or /rendered of one frame (Orthanc numbers frames from 0)."""
    orthanc_id = request.groups[0]
    try:
        if _stored_transfer_syntax(host, orthanc_id) not in HTJ2K | {""}:
            return _core_image(host, request, kind)
        ds = decode.read(host.rest_get(f"/instances/{orthanc_id}/file"))
    except HostError as exc:
        return Response.error(404, str(exc))
    if decode.transfer_syntax(ds) not in HTJ2K:
        return _core_image(host, request, kind)
    try:
        pixels = decode.decode_frame(ds, _frame_of(request))
    except decode.DecodeError as exc:
        return Response.error(400, str(exc))
    photometric = decode.photometric_after_decoding(ds)
    if kind == "preview":
        picture = render.preview(pixels, photometric)
    else:
        tags: Mapping[str, object] = {k: _plain(ds.get(k)) for k in RENDER_TAGS}
        picture = render.rendered(pixels, photometric, tags, request.query)
    accept = "image/jpeg" if _wants_jpeg(request) else "image/png"
    body, mime = render.encode(picture, accept=accept, query=request.query)
    return Response(200, body, mime)


def legacy_instance(host: PluginHost, request: Request) -> Response:
    """The whole instance, pixel data decoded, in Explicit VR Little Endian."""
    try:
        data = host.rest_get(f"/instances/{request.groups[0]}/file")
    except HostError as exc:
        return Response.error(404, str(exc))
    ds = decode.read(data)
    if decode.transfer_syntax(ds) == EXPLICIT_LE:
        return Response(200, data, "application/dicom")
    try:
        return Response(200, decode.to_explicit_little_endian(ds), "application/dicom")
    except decode.DecodeError as exc:
        return Response.error(415, str(exc))


def legacy_frame(host: PluginHost, request: Request) -> Response:
    """One frame's raw pixel bytes, uncompressed little endian (colour by pixel)."""
    try:
        ds = decode.read(host.rest_get(f"/instances/{request.groups[0]}/file"))
    except HostError as exc:
        return Response.error(404, str(exc))
    try:
        body = decode.frame_little_endian(ds, _frame_of(request))
    except decode.DecodeError as exc:
        return Response.error(400, str(exc))
    return Response(200, body, f"application/octet-stream; transfer-syntax={EXPLICIT_LE}")
