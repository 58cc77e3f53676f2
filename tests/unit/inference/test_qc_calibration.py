"""The QC threshold rule of the evaluation (lab metrics): 5th percentile over good results."""

from __future__ import annotations

from neuronova_lab.training.metrics import WHOLE, Case, flag_counts, qc_threshold


def _case(seed: int, true_ml: float, predicted_ml: float, dice: float, score: float) -> Case:
    return Case(
        seed=seed,
        dice={WHOLE: dice},
        true_ml={WHOLE: true_ml},
        predicted_ml={WHOLE: predicted_ml},
        qc_score=score,
        flip_dice=None,
        entropy=0.0,
        needs_review=False,
        acquisition="",
    )


def test_threshold_sits_under_nearly_all_good_results_and_flags_the_bad_ones() -> None:
    good = [_case(i, 50.0, 52.0, 0.9, 0.80 + 0.005 * i) for i in range(20)]
    bad = [
        _case(100, 50.0, 300.0, 0.3, 0.55),  # over-segmented
        _case(101, 0.0, 80.0, 0.0, 0.45),  # false positives on a study without tumour
        _case(102, 50.0, 40.0, 0.75, 0.85),  # under the Dice bar but confident: not flagged
    ]
    # Empty results on studies without tumour are good, but do not set the threshold: the score
    # rates the network's raw answer, which post-processing may have emptied.
    clean = [_case(103, 0.0, 0.0, 1.0, 0.95), _case(104, 0.0, 0.2, 1.0, 0.40)]
    threshold = qc_threshold([*good, *bad, *clean])
    assert 0.80 < threshold < 0.81  # 5th percentile of the 20 good scores with a tumour
    counts = flag_counts([*good, *bad, *clean], threshold)
    assert counts == {"bad": 3, "bad_flagged": 2, "good": 22, "good_flagged": 2}


def test_no_good_result_gives_no_threshold() -> None:
    assert qc_threshold([_case(0, 50.0, 300.0, 0.2, 0.5)]) == 0.0
