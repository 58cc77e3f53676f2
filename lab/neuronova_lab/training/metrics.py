"""pure: evaluation figures: Dice per label and whole tumour, volume error, false positives, QC.

Per-label Dice is averaged over the studies whose ground truth holds at least MIN_LABEL_ML of
that label on the reference grid (a necrotic core of a few voxels says little about a model);
the mean over every study (BraTS convention: both empty counts 1, one empty counts 0) is
reported beside it. Whole-tumour figures count every study with a tumour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

MIN_LABEL_ML = 1.0
FP_LIMIT_ML = 0.5
GOOD_WHOLE_DICE = 0.80  # a result "correct enough" for QC calibration (the shifted-set target)
QC_PERCENTILE = 5.0


def dice(pred: NDArray[np.bool_], truth: NDArray[np.bool_]) -> float:
    total = int(pred.sum()) + int(truth.sum())
    return 1.0 if total == 0 else 2.0 * int((pred & truth).sum()) / total


@dataclass(frozen=True)
class Case:
    seed: int
    dice: dict[str, float]  # label name (and "whole tumour") -> Dice
    true_ml: dict[str, float]
    predicted_ml: dict[str, float]
    qc_score: float
    flip_dice: float | None
    entropy: float
    needs_review: bool
    acquisition: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


WHOLE = "whole tumour"


def score_case(
    seed: int,
    *,
    pred: NDArray[np.uint8],
    truth: NDArray[np.uint8],
    labels: Mapping[int, str],
    voxel_ml: float,
    quality: Mapping[str, Any],
    acquisition: str,
) -> Case:
    out_dice: dict[str, float] = {}
    true_ml: dict[str, float] = {}
    pred_ml: dict[str, float] = {}
    for value, name in [*labels.items(), (-1, WHOLE)]:
        p = pred > 0 if value < 0 else pred == value
        t = truth > 0 if value < 0 else truth == value
        out_dice[name] = dice(p, t)
        true_ml[name] = float(t.sum()) * voxel_ml
        pred_ml[name] = float(p.sum()) * voxel_ml
    return Case(
        seed=seed,
        dice=out_dice,
        true_ml=true_ml,
        predicted_ml=pred_ml,
        qc_score=float(quality["score"]),
        flip_dice=quality.get("flip_dice"),
        entropy=float(quality["entropy"]),
        needs_review=bool(quality["needs_review"]),
        acquisition=acquisition,
    )


def _stats(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    arr = np.array(values, dtype=np.float64)
    return {
        "n": len(values),
        "mean": float(arr.mean()),
        "median": float(np.median(arr)),
        "min": float(arr.min()),
    }


def _spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return None
    ra = np.argsort(np.argsort(a))
    rb = np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def summarise_tumour_set(cases: Sequence[Case], names: Sequence[str]) -> dict[str, Any]:
    """Dice (label and whole tumour), volume error and QC for a set of studies with tumours."""
    per_label = {}
    for name in [*names, WHOLE]:
        big = [c.dice[name] for c in cases if c.true_ml[name] >= MIN_LABEL_ML]
        errors = [c.predicted_ml[name] - c.true_ml[name] for c in cases]
        per_label[name] = {
            "dice": _stats(big),
            "dice_all_studies": _stats([c.dice[name] for c in cases]),
            "volume_error_ml": {
                "mean_abs": float(np.mean(np.abs(errors))) if errors else 0.0,
                "mean_signed": float(np.mean(errors)) if errors else 0.0,
                "median_abs": float(np.median(np.abs(errors))) if errors else 0.0,
            },
        }
    whole = [c.dice[WHOLE] for c in cases]
    scores = [c.qc_score for c in cases]
    flagged = [c for c in cases if c.needs_review]
    return {
        "studies": len(cases),
        "labels": per_label,
        "qc": {
            "flagged": len(flagged),
            "spearman_qc_vs_whole_tumour_dice": _spearman(scores, whole),
            "whole_tumour_dice_flagged": _stats([c.dice[WHOLE] for c in flagged]),
            "whole_tumour_dice_not_flagged": _stats(
                [c.dice[WHOLE] for c in cases if not c.needs_review]
            ),
        },
    }


def summarise_no_tumour_set(cases: Sequence[Case]) -> dict[str, Any]:
    fp = [c.predicted_ml[WHOLE] for c in cases]
    within = sum(1 for v in fp if v <= FP_LIMIT_ML)
    return {
        "studies": len(cases),
        "fp_ml": {**_stats(fp), "max": max(fp) if fp else 0.0},
        "fraction_within_limit": within / len(cases) if cases else 0.0,
        "fp_limit_ml": FP_LIMIT_ML,
        "qc": {"flagged": sum(1 for c in cases if c.needs_review)},
    }


def acceptance(summary: Mapping[str, Any], names: Sequence[str]) -> list[tuple[str, bool]]:
    """The model's acceptance targets, each with whether it holds."""
    checks: list[tuple[str, bool]] = []
    shifted = summary.get("shifted")
    if shifted:
        wt = shifted["labels"][WHOLE]["dice"].get("mean", 0.0)
        checks.append((f"shifted whole-tumour Dice {wt:.3f} >= 0.80", wt >= 0.80))
        for name in names:
            value = shifted["labels"][name]["dice"].get("mean", 0.0)
            checks.append((f"shifted {name} Dice {value:.3f} >= 0.75", value >= 0.75))
    clean = summary.get("no-tumour")
    if clean:
        frac = clean["fraction_within_limit"]
        checks.append(
            (f"no-tumour FP <= {FP_LIMIT_ML} mL on {frac:.0%} of studies (>= 90%)", frac >= 0.9)
        )
    ind = summary.get("in-distribution")
    if ind:
        for name in [*names, WHOLE]:
            value = ind["labels"][name]["dice"].get("mean", 0.0)
            checks.append((f"in-distribution {name} Dice {value:.3f} >= 0.85", value >= 0.85))
    return checks


def is_good(case: Case) -> bool:
    """A result QC should let through: whole-tumour Dice >= GOOD_WHOLE_DICE on a study with a
    tumour, at most FP_LIMIT_ML of false positives on one without (truth under MIN_LABEL_ML)."""
    if case.true_ml[WHOLE] < MIN_LABEL_ML:
        return case.predicted_ml[WHOLE] <= FP_LIMIT_ML
    return case.dice[WHOLE] >= GOOD_WHOLE_DICE


def qc_threshold(cases: Sequence[Case]) -> float:
    """The QC threshold: the QC_PERCENTILE-th percentile of the score over the *good* results on
    calibration studies with a tumour, so that about one good result in twenty is flagged and
    every result scoring lower than nearly all good ones is. (The 5th percentile over all
    results, the first rule, is tied to how often the model fails: with a third of the results
    bad it flags only the worst twentieth and lets most bad ones through.) Studies without a
    tumour are left out: the score rates the network's own answer, before post-processing, so
    an empty final result whose false positives the core rule erased still scores low (the
    network was unsure there), and would drag the threshold down."""
    good = [c.qc_score for c in cases if is_good(c) and c.true_ml[WHOLE] >= MIN_LABEL_ML]
    return float(np.percentile(good, QC_PERCENTILE)) if good else 0.0


def flag_counts(cases: Sequence[Case], threshold: float) -> dict[str, int]:
    """How many bad results a threshold flags, and how many good ones it flags wrongly."""
    bad = [c for c in cases if not is_good(c)]
    good = [c for c in cases if is_good(c)]
    return {
        "bad": len(bad),
        "bad_flagged": sum(1 for c in bad if c.qc_score < threshold),
        "good": len(good),
        "good_flagged": sum(1 for c in good if c.qc_score < threshold),
    }
