"""The plugin's eligibility and the worker's matching are two copies of one rule engine."""

import pytest
from neuronova_inference.matching import match_study
from neuronova_plugin.ai.eligibility import ModelInputs, decide

from tests.support.synthetic import manifest_raw, shipped_manifest, tiny_study


def _s(desc: str, n: int = 20, modality: str = "MR", **extra: str) -> dict[str, str]:
    return {"Modality": modality, "SeriesDescription": desc, "NumberOfInstances": str(n), **extra}


CASES: dict[str, dict[str, dict[str, str]] | None] = {
    "synthetic": None,  # filled from the generator
    "vendor": {
        "a": _s("t1_se_tra"),
        "b": _s("T1 MPRAGE POST GAD", ContrastBolusAgent="Dotarem"),
        "c": _s("t2_tse_tra"),
        "d": _s("t2_tirm_tra_dark-fluid", ScanningSequence="SE\\IR"),
    },
    "missing": {"a": _s("AX T1"), "c": _s("AX T2"), "d": _s("AX FLAIR")},
    "ct": {"a": _s("HEAD", modality="CT")},
    "with_seg": {
        "a": _s("AX T1"),
        "b": _s("AX T1 +C", ContrastBolusAgent="GD"),
        "c": _s("AX T2"),
        "d": _s("AX FLAIR"),
        "s": _s("AI tumour segmentation", n=1, modality="SEG"),
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_plugin_and_worker_agree(case: str) -> None:
    series = CASES[case] or tiny_study().series_tags("x")
    worker = match_study(shipped_manifest(), series)
    plugin = decide(ModelInputs.from_manifest(manifest_raw()), series)
    assert plugin.eligible == worker.eligible
    assert plugin.reason == worker.reason
    if plugin.eligible:
        assert dict(plugin.series) == worker.series


def test_expected_outcomes() -> None:
    model = ModelInputs.from_manifest(manifest_raw())
    cases = {k: v for k, v in CASES.items() if v is not None}
    assert decide(model, cases["vendor"]).eligible
    assert decide(model, cases["with_seg"]).eligible
    assert decide(model, cases["missing"]).reason == "missing required sequence(s): T1c"
    assert decide(model, cases["ct"]).reason == "not a MR study (modalities: CT)"
