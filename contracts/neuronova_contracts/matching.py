"""Pure: match a study's series to the model's required sequences by the manifest's rules.

The plugin asks it whether a study is eligible (and skips it with the reason when not); the
inference worker asks it which series to read for each input. One function, so they agree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from neuronova_contracts.manifest import InputSpec, Manifest

SeriesTags = Mapping[str, str]


def _value(tags: SeriesTags, keyword: str) -> str:
    return str(tags.get(keyword, "") or "")


def _rule_matches(rule: Mapping[str, str], tags: SeriesTags) -> bool:
    return all(re.search(rx, _value(tags, kw), re.IGNORECASE) for kw, rx in rule.items())


def series_matches(spec: InputSpec, tags: SeriesTags) -> bool:
    return any(_rule_matches(r, tags) for r in spec.any_of) and not any(
        _rule_matches(r, tags) for r in spec.none_of
    )


@dataclass(frozen=True)
class Match:
    series: dict[str, str]  # input name -> series key (orthanc series id)
    missing: tuple[str, ...]
    reason: str  # empty when eligible

    @property
    def eligible(self) -> bool:
        return not self.reason


def match_study(manifest: Manifest, series: Mapping[str, SeriesTags]) -> Match:
    """Assign one series per input in manifest order; a series serves at most one input.

    Among several candidates the one with most instances wins (then the higher SeriesNumber),
    so a scout or a repeated short series does not displace the full acquisition.
    """
    modalities = {_value(t, "Modality") for t in series.values()}
    if manifest.modality not in modalities:
        found = ", ".join(sorted(m for m in modalities if m)) or "none"
        return Match({}, (), f"not a {manifest.modality} study (modalities: {found})")
    chosen: dict[str, str] = {}
    missing: list[str] = []
    for spec in manifest.inputs:
        candidates = [
            key
            for key, tags in series.items()
            if key not in chosen.values()
            and _value(tags, "Modality") == manifest.modality
            and series_matches(spec, tags)
        ]
        if not candidates:
            missing.append(spec.name)
            continue
        chosen[spec.name] = max(candidates, key=lambda k: _rank(series[k]))
    if missing:
        return Match(chosen, tuple(missing), f"missing required sequence(s): {', '.join(missing)}")
    return Match(chosen, (), "")


def _rank(tags: SeriesTags) -> tuple[int, int]:
    def as_int(v: str) -> int:
        try:
            return int(float(v))
        except ValueError:
            return 0

    return as_int(_value(tags, "NumberOfInstances")), as_int(_value(tags, "SeriesNumber"))
