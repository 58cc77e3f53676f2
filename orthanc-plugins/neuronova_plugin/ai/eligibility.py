"""Pure: is a study eligible for the model? Series matched to the manifest's inputs by rules.

Mirrors neuronova_inference.matching (the worker's copy; the two deployables do not import each
other); tests/unit/plugin_ai/test_eligibility.py runs both on the same cases.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SeriesTags = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Rules:
    name: str
    any_of: tuple[Mapping[str, str], ...]
    none_of: tuple[Mapping[str, str], ...]


@dataclass(frozen=True, slots=True)
class ModelInputs:
    model_id: str
    version: str
    modality: str
    inputs: tuple[Rules, ...]

    @staticmethod
    def from_manifest(raw: Mapping[str, Any]) -> ModelInputs:
        def rules(items: Any) -> tuple[Mapping[str, str], ...]:  # noqa: ANN401 - JSON
            return tuple({str(k): str(v) for k, v in r.items()} for r in (items or []))

        return ModelInputs(
            model_id=str(raw["model_id"]),
            version=str(raw["version"]),
            modality=str(raw.get("modality", "MR")),
            inputs=tuple(
                Rules(str(i["name"]), rules(i["any_of"]), rules(i.get("none_of")))
                for i in raw["inputs"]
            ),
        )


def _value(tags: SeriesTags, keyword: str) -> str:
    return str(tags.get(keyword, "") or "")


def _holds(rule: Mapping[str, str], tags: SeriesTags) -> bool:
    return all(re.search(rx, _value(tags, kw), re.IGNORECASE) for kw, rx in rule.items())


def _rank(tags: SeriesTags) -> tuple[int, int]:
    def as_int(v: str) -> int:
        try:
            return int(float(v))
        except ValueError:
            return 0

    return as_int(_value(tags, "NumberOfInstances")), as_int(_value(tags, "SeriesNumber"))


@dataclass(frozen=True, slots=True)
class Decision:
    series: Mapping[str, str]  # input name -> series key
    reason: str  # empty when eligible

    @property
    def eligible(self) -> bool:
        return not self.reason


def decide(model: ModelInputs, series: Mapping[str, SeriesTags]) -> Decision:
    """One series per input, in manifest order; most instances, then highest SeriesNumber, wins."""
    modalities = {_value(t, "Modality") for t in series.values()}
    if model.modality not in modalities:
        found = ", ".join(sorted(m for m in modalities if m)) or "none"
        return Decision({}, f"not a {model.modality} study (modalities: {found})")
    chosen: dict[str, str] = {}
    missing: list[str] = []
    for spec in model.inputs:
        candidates = [
            key
            for key, tags in series.items()
            if key not in chosen.values()
            and _value(tags, "Modality") == model.modality
            and any(_holds(r, tags) for r in spec.any_of)
            and not any(_holds(r, tags) for r in spec.none_of)
        ]
        if candidates:
            chosen[spec.name] = max(candidates, key=lambda k: _rank(series[k]))
        else:
            missing.append(spec.name)
    if missing:
        return Decision(chosen, f"missing required sequence(s): {', '.join(missing)}")
    return Decision(chosen, "")
