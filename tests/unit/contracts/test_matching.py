from neuronova_contracts.matching import match_study

from tests.support.synthetic import shipped_manifest


def _s(desc: str, n: int = 20, modality: str = "MR", **extra: str) -> dict[str, str]:
    return {"Modality": modality, "SeriesDescription": desc, "NumberOfInstances": str(n), **extra}


def test_vendor_style_names_match_by_rules() -> None:
    series = {
        "a": _s("t1_se_tra"),
        "b": _s("T1 MPRAGE POST GAD", ContrastBolusAgent="Dotarem"),
        "c": _s("t2_tse_tra"),
        "d": _s("t2_tirm_tra_dark-fluid", ScanningSequence="SE\\IR"),
        "e": _s("localizer", n=3),
    }
    match = match_study(shipped_manifest(), series)
    assert match.eligible
    assert match.series == {"T1": "a", "T1c": "b", "T2": "c", "FLAIR": "d"}


def test_missing_sequence_is_named() -> None:
    series = {"a": _s("AX T1"), "b": _s("AX T1 +C", ContrastBolusAgent="GD"), "c": _s("AX T2")}
    match = match_study(shipped_manifest(), series)
    assert not match.eligible
    assert match.missing == ("FLAIR",)
    assert "FLAIR" in match.reason


def test_ct_study_is_not_eligible() -> None:
    match = match_study(shipped_manifest(), {"a": _s("HEAD", modality="CT")})
    assert not match.eligible
    assert "not a MR study" in match.reason
    assert "CT" in match.reason


def test_larger_series_wins_and_a_series_serves_one_input() -> None:
    series = {
        "short": _s("AX T2", n=5, SeriesNumber="3"),
        "full": _s("AX T2", n=30, SeriesNumber="2"),
        "t1": _s("AX T1"),
        "t1c": _s("AX T1 POST", ContrastBolusAgent="GD"),
        "flair": _s("AX FLAIR"),
    }
    match = match_study(shipped_manifest(), series)
    assert match.series["T2"] == "full"
    assert len(set(match.series.values())) == 4


def test_a_seg_series_in_the_study_is_passed_over() -> None:
    series = {
        "a": _s("AX T1"),
        "b": _s("AX T1 +C", ContrastBolusAgent="GD"),
        "c": _s("AX T2"),
        "d": _s("AX FLAIR"),
        "s": _s("AI tumour segmentation", n=1, modality="SEG"),
    }
    match = match_study(shipped_manifest(), series)
    assert match.eligible
    assert "s" not in match.series.values()


def test_the_reasons_are_the_ones_the_portal_shows() -> None:
    missing = {"a": _s("AX T1"), "c": _s("AX T2"), "d": _s("AX FLAIR")}
    assert match_study(shipped_manifest(), missing).reason == "missing required sequence(s): T1c"
    ct = {"a": _s("HEAD", modality="CT")}
    assert match_study(shipped_manifest(), ct).reason == "not a MR study (modalities: CT)"
