import copy

import pytest
from neuronova_contracts.manifest import ManifestError, parse_manifest
from neuronova_inference.session import sha256_file

from tests.support.synthetic import MODEL_DIR, manifest_raw


def test_shipped_manifest_describes_the_shipped_file() -> None:
    manifest = parse_manifest(manifest_raw())
    assert [i.name for i in manifest.inputs] == ["T1", "T1c", "T2", "FLAIR"]
    assert sha256_file(MODEL_DIR / manifest.onnx_file) == manifest.sha256
    assert all(lab.category.scheme == "SCT" for lab in manifest.labels)
    assert manifest.job_key == f"{manifest.model_id}@{manifest.version}"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("grid", "orientation"), "RAI", "unsupported grid"),
        (("normalisation", "method"), "minmax", "unsupported normalisation"),
        (("inputs",), [], "no inputs"),
        (("onnx",), {}, "invalid manifest"),
        (("postprocess",), {"core_labels": [1, 9], "min_core_ml": 0.5}, "core_labels"),
        (("postprocess",), {"min_core_ml": -1}, "must not be negative"),
    ],
)
def test_bad_manifests_are_refused_with_the_reason(
    path: tuple[str, ...], value: object, message: str
) -> None:
    raw = copy.deepcopy(manifest_raw())
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ManifestError, match=message):
        parse_manifest(raw)


def test_labels_must_be_numbered_from_one() -> None:
    raw = copy.deepcopy(manifest_raw())
    raw["labels"][0]["value"] = 7
    with pytest.raises(ManifestError, match="label values"):
        parse_manifest(raw)
