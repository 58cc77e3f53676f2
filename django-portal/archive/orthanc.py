"""Adapter (Orthanc REST): the few internal Orthanc calls the portal makes, with basic auth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any, Protocol

import httpx

from archive.dialect import Dialect


class OrthancError(RuntimeError):
    """Orthanc answered with an error or could not be reached."""


class OrthancNotFound(OrthancError):  # noqa: N818 - a kind of OrthancError, not a new fault
    """Orthanc answered 404: retrying will not help."""


class Orthanc(Protocol):
    def study(self, orthanc_study_id: str) -> dict[str, Any]: ...
    def study_series(self, orthanc_study_id: str) -> list[dict[str, Any]]: ...
    def studies_with_uid(self, study_uid: str) -> list[tuple[str, str]]: ...
    def series_instances(self, orthanc_series_id: str) -> list[str]: ...
    def study_instances(self, orthanc_study_id: str) -> list[dict[str, Any]]: ...
    def series_metadata(self, study_uid: str, series_uid: str, public_root: str) -> bytes: ...
    def study_metadata(self, study_uid: str, public_root: str) -> bytes: ...
    def transfer_syntax(self, orthanc_instance_id: str) -> str: ...
    def instance_file(self, orthanc_instance_id: str) -> bytes: ...
    def store(self, dicom: IO[bytes]) -> tuple[int, dict[str, Any]]: ...
    def reanalyze(self, orthanc_study_id: str) -> dict[str, Any]: ...
    def frame(self, orthanc_instance_id: str, frame_index: int) -> bytes: ...
    def qido(self, path: str, query: str, accept: str) -> httpx.Response: ...
    def query_dialect(self) -> Dialect: ...
    def all_study_ids(self) -> Iterator[str]: ...


class OrthancClient:
    def __init__(self, base_url: str, username: str, password: str, timeout: float = 10.0) -> None:
        self._http = httpx.Client(
            base_url=base_url, auth=(username, password), timeout=timeout, trust_env=False
        )

    def close(self) -> None:
        self._http.close()

    def _answer(self, method: str, path: str, **kwargs: Any) -> httpx.Response:  # noqa: ANN401
        """Orthanc's answer, or OrthancNotFound (404) / OrthancError (transport, other 4xx/5xx)."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise OrthancError(f"{method} {path}: {exc}") from exc
        if response.status_code == 404:
            raise OrthancNotFound(f"{method} {path}: HTTP 404")
        if response.status_code >= 400:
            raise OrthancError(f"{method} {path}: HTTP {response.status_code}")
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:  # noqa: ANN401 - JSON
        return self._answer(method, path, **kwargs).json()

    def study(self, orthanc_study_id: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/studies/{orthanc_study_id}"))

    def study_series(self, orthanc_study_id: str) -> list[dict[str, Any]]:
        return list(self._json("GET", f"/studies/{orthanc_study_id}/series"))

    def studies_with_uid(self, study_uid: str) -> list[tuple[str, str]]:
        """(Orthanc study id, PatientID) of every study carrying this StudyInstanceUID.

        More than one means several patients' studies share the UID (Orthanc keeps them apart).
        """
        found = self._json(
            "POST",
            "/tools/find",
            json={"Level": "Study", "Query": {"StudyInstanceUID": study_uid}, "Expand": True},
        )
        return [
            (str(s["ID"]), str((s.get("PatientMainDicomTags") or {}).get("PatientID", "")))
            for s in found
            # /tools/find matches with wildcards: keep exact UIDs only
            if (s.get("MainDicomTags") or {}).get("StudyInstanceUID") == study_uid
        ]

    def series_instances(self, orthanc_series_id: str) -> list[str]:
        """Orthanc ids of the series' instances, in Orthanc's order (OrthancNotFound if none)."""
        answer = self._json("GET", f"/series/{orthanc_series_id}")
        return [str(i) for i in answer.get("Instances", [])]

    def series_metadata(self, study_uid: str, series_uid: str, public_root: str) -> bytes:
        """Orthanc's DICOMweb series metadata (DICOM JSON), its URLs under ``public_root``
        (``scheme://host/api/pacs``), as nginx's internal locations make Orthanc write them.

        Orthanc's DICOMweb keeps this answer per series (attachment 4301, written when the
        series becomes stable and checked against the series' instances on every call), so
        this reads every file only for a series that changed since.
        """
        path = f"/dicom-web/studies/{study_uid}/series/{series_uid}/metadata"
        return self._metadata(path, public_root)

    def study_metadata(self, study_uid: str, public_root: str) -> bytes:
        """Orthanc's DICOMweb study metadata (every instance of every series, DICOM JSON), its
        URLs under ``public_root`` as for series_metadata."""
        return self._metadata(f"/dicom-web/studies/{study_uid}/metadata", public_root)

    def _metadata(self, path: str, public_root: str) -> bytes:
        scheme, _, host = public_root.partition("://")
        headers = {
            "Accept": "application/dicom+json",
            "X-Forwarded-Host": host,
            "X-Forwarded-Proto": scheme,
        }
        return self._answer("GET", path, headers=headers, timeout=120.0).content

    def study_instances(self, orthanc_study_id: str) -> list[dict[str, Any]]:
        """The study's instances: ``ID``, ``ParentSeries``, ``MainDicomTags`` (SOPInstanceUID)."""
        return list(self._json("GET", f"/studies/{orthanc_study_id}/instances"))

    def transfer_syntax(self, orthanc_instance_id: str) -> str:
        """The stored file's (0002,0010), else the syntax Orthanc recorded when it parsed a
        file without a meta header (a bare dataset has no (0002,0010) to read)."""
        header = self._json("GET", f"/instances/{orthanc_instance_id}/header")
        value = (header.get("0002,0010") or {}).get("Value", "")
        if isinstance(value, str) and value.strip("\x00 "):
            return value.strip("\x00 ")
        try:
            response = self._http.get(f"/instances/{orthanc_instance_id}/metadata/TransferSyntax")
        except httpx.HTTPError as exc:
            raise OrthancError(f"transfer syntax of {orthanc_instance_id}: {exc}") from exc
        if response.status_code != 200 or not response.text.strip():
            raise OrthancError(f"no transfer syntax for {orthanc_instance_id}")
        return response.text.strip("\x00 \n")

    def instance_file(self, orthanc_instance_id: str) -> bytes:
        return self._answer("GET", f"/instances/{orthanc_instance_id}/file").content

    def store(self, dicom: IO[bytes]) -> tuple[int, dict[str, Any]]:
        """POST a file to /instances, streamed from where it is in 1 MiB pieces."""
        size = dicom.seek(0, 2)
        dicom.seek(0)
        pieces = iter(lambda: dicom.read(1 << 20), b"")
        headers = {"Content-Type": "application/dicom", "Content-Length": str(size)}
        try:
            response = self._http.post("/instances", content=pieces, headers=headers)
        except httpx.HTTPError as exc:
            raise OrthancError(f"store: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text[:200]}
        return response.status_code, body if isinstance(body, dict) else {"answer": body}

    def reanalyze(self, orthanc_study_id: str) -> dict[str, Any]:
        answer = self._json("POST", f"/neuronova/studies/{orthanc_study_id}/reanalyze", json={})
        return answer if isinstance(answer, dict) else {"answer": answer}

    def frame(self, orthanc_instance_id: str, frame_index: int) -> bytes:
        try:
            response = self._http.get(f"/instances/{orthanc_instance_id}/frames/{frame_index}/raw")
        except httpx.HTTPError as exc:
            raise OrthancError(str(exc)) from exc
        if response.status_code >= 400:
            raise OrthancError(f"frame {frame_index}: HTTP {response.status_code}")
        return response.content

    def qido(self, path: str, query: str, accept: str) -> httpx.Response:
        """GET ``/dicom-web/{path}?{query}`` with the query string exactly as given."""
        request = self._http.build_request(
            "GET", f"/dicom-web/{path}?{query}", headers={"Accept": accept}
        )
        if request.url.raw_path.partition(b"?")[2] != query.encode("ascii"):
            raise OrthancError("the HTTP client would alter the query string")
        try:
            return self._http.send(request)
        except httpx.HTTPError as exc:
            raise OrthancError(str(exc)) from exc

    def query_dialect(self) -> Dialect:
        """How this Orthanc reads a query string: percent-decoded, or verbatim.

        ``level=%73tudy`` is ``level=study`` to an Orthanc that decodes (a UID, 200) and an
        unknown level to one that does not (404 from Orthanc 1.10; a 400 would mean the same).
        """
        request = self._http.build_request("GET", "/tools/generate-uid?level=%73tudy")
        if not request.url.raw_path.endswith(b"level=%73tudy"):
            raise OrthancError("the HTTP client would alter the dialect probe")
        try:
            response = self._http.send(request)
        except httpx.HTTPError as exc:
            raise OrthancError(f"query dialect probe: {exc}") from exc
        if response.status_code == 200:
            return Dialect.DECODED
        if response.status_code in (400, 404):
            return Dialect.VERBATIM
        raise OrthancError(f"query dialect probe: HTTP {response.status_code}")

    def all_study_ids(self) -> Iterator[str]:
        yield from (str(i) for i in self._json("GET", "/studies"))
