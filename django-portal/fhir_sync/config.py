"""Pure: the FHIR sync configuration, parsed once from the environment into a frozen value.

`load_config(environ)` is pure (a mapping in, a `FhirConfig` out); `get_config()` reads
`os.environ` once per process and caches it, so wiring code never re-reads the environment.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

AuthMode = Literal["none", "bearer", "basic", "oauth2"]
_AUTH_MODES: tuple[AuthMode, ...] = ("none", "bearer", "basic", "oauth2")

# The identifier system for DICOM PatientID when the site has not named its own (an OID/URI of
# the hospital's MRN namespace in production).
DEFAULT_PATIENT_ID_SYSTEM = "urn:neuronova:dicom:patient-id"


class FhirConfigError(ValueError):
    """The FHIR_* environment is inconsistent (e.g. oauth2 without a token URL)."""


@dataclass(frozen=True, slots=True)
class FhirConfig:
    base_url: str  # empty: sync off
    auth: AuthMode = "none"
    token: str = ""
    username: str = ""
    password: str = ""
    client_id: str = ""
    client_secret: str = ""
    token_url: str = ""
    scope: str = ""
    patient_id_system: str = DEFAULT_PATIENT_ID_SYSTEM
    # Public URL prefix of the DICOMweb service, used as ImagingStudy.endpoint address.
    dicomweb_url: str = ""
    timeout_s: float = 10.0
    max_retries: int = 5

    @property
    def enabled(self) -> bool:
        return bool(self.base_url)


def load_config(environ: Mapping[str, str]) -> FhirConfig:
    """Parse FHIR_* variables; raise `FhirConfigError` naming what is missing."""
    base_url = environ.get("FHIR_BASE_URL", "").strip().rstrip("/")
    auth_raw = environ.get("FHIR_AUTH", "none").strip().lower() or "none"
    if auth_raw not in _AUTH_MODES:
        raise FhirConfigError(
            f"FHIR_AUTH must be one of {', '.join(_AUTH_MODES)}, not {auth_raw!r}"
        )
    auth: AuthMode = auth_raw
    config = FhirConfig(
        base_url=base_url,
        auth=auth,
        token=environ.get("FHIR_TOKEN", ""),
        username=environ.get("FHIR_USERNAME", ""),
        password=environ.get("FHIR_PASSWORD", ""),
        client_id=environ.get("FHIR_CLIENT_ID", ""),
        client_secret=environ.get("FHIR_CLIENT_SECRET", ""),
        token_url=environ.get("FHIR_TOKEN_URL", "").strip(),
        scope=environ.get("FHIR_SCOPE", "").strip(),
        patient_id_system=environ.get("FHIR_PATIENT_ID_SYSTEM", "").strip()
        or DEFAULT_PATIENT_ID_SYSTEM,
        dicomweb_url=environ.get("FHIR_DICOMWEB_URL", "").strip().rstrip("/"),
        timeout_s=float(environ.get("FHIR_TIMEOUT_S", "10") or "10"),
        max_retries=int(environ.get("FHIR_MAX_RETRIES", "5") or "5"),
    )
    if config.enabled:
        _check_auth(config)
    return config


def _check_auth(config: FhirConfig) -> None:
    needs: dict[AuthMode, tuple[tuple[str, str], ...]] = {
        "none": (),
        "bearer": (("FHIR_TOKEN", config.token),),
        "basic": (("FHIR_USERNAME", config.username), ("FHIR_PASSWORD", config.password)),
        "oauth2": (
            ("FHIR_CLIENT_ID", config.client_id),
            ("FHIR_CLIENT_SECRET", config.client_secret),
            ("FHIR_TOKEN_URL", config.token_url),
        ),
    }
    missing = [name for name, value in needs[config.auth] if not value]
    if missing:
        raise FhirConfigError(f"FHIR_AUTH={config.auth} needs {', '.join(missing)}")


@functools.cache
def get_config() -> FhirConfig:
    """The process's configuration, read from `os.environ` on first use."""
    return load_config(os.environ)
