"""adapter: Orthanc's internal REST API (series lookup, instance download, the SEG store route)."""

from __future__ import annotations

import base64
import json
from io import BytesIO
from typing import Any

import httpx
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from neuronova_inference.config import InferenceConfig


class TransientError(RuntimeError):
    """Orthanc unreachable or answering 5xx: worth a retry."""


class NotFoundError(LookupError):
    """The study or series does not exist (any more)."""


class StoreRejectedError(ValueError):
    """The plugin's SEG route refused the SEG (4xx); the body says why."""


class OrthancClient:
    def __init__(self, config: InferenceConfig) -> None:
        self._http = httpx.Client(
            base_url=config.orthanc_url,
            auth=(config.orthanc_username, config.orthanc_password),
            timeout=config.http_timeout_s,
        )

    def close(self) -> None:
        self._http.close()

    def _get(self, uri: str) -> httpx.Response:
        try:
            response = self._http.get(uri)
        except httpx.TransportError as exc:
            raise TransientError(f"GET {uri}: {exc!r}") from exc
        if response.status_code == 404:
            raise NotFoundError(f"GET {uri}: 404")
        if response.status_code >= 500:
            raise TransientError(f"GET {uri}: HTTP {response.status_code}")
        response.raise_for_status()
        return response

    def _json(self, uri: str) -> Any:  # noqa: ANN401 - JSON
        return self._get(uri).json()

    def series_tags(self, orthanc_study_id: str) -> dict[str, dict[str, str]]:
        """Tags used by the matching rules, per Orthanc series id (from its first instance)."""
        out: dict[str, dict[str, str]] = {}
        for series in self._json(f"/studies/{orthanc_study_id}/series"):
            instances = series.get("Instances") or []
            tags: dict[str, str] = {}
            if instances:
                first = self._json(f"/instances/{instances[0]}/simplified-tags")
                tags = {k: _flat(v) for k, v in first.items() if not isinstance(v, list | dict)}
            tags.update({k: str(v) for k, v in series.get("MainDicomTags", {}).items()})
            tags["NumberOfInstances"] = str(len(instances))
            out[str(series["ID"])] = tags
        return out

    def instances(self, orthanc_series_id: str) -> list[Dataset]:
        ids = self._json(f"/series/{orthanc_series_id}")["Instances"]
        out: list[Dataset] = []
        for instance_id in ids:
            raw = self._get(f"/instances/{instance_id}/file").content
            try:
                out.append(pydicom.dcmread(BytesIO(raw)))
            except (InvalidDicomError, EOFError, ValueError) as exc:
                raise ValueError(f"instance {instance_id} is not readable DICOM: {exc}") from exc
        return out

    def store_seg(self, seg: bytes, summary: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps({**summary, "seg": base64.b64encode(seg).decode()})
        try:
            response = self._http.post(
                "/neuronova/seg", content=body, headers={"Content-Type": "application/json"}
            )
        except httpx.TransportError as exc:
            raise TransientError(f"POST /neuronova/seg: {exc!r}") from exc
        if response.status_code >= 500:
            raise TransientError(f"POST /neuronova/seg: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise StoreRejectedError(f"SEG refused: {response.text.strip()}")
        result: dict[str, Any] = response.json()
        return result


def _flat(value: object) -> str:
    return "" if value is None else str(value)
