"""wiring: generate one deterministic demo study, or a patient's follow-up visits, and C-STORE it
(what `make demo` runs).

python -m neuronova_lab.synthetic.demo --host 127.0.0.1 --port 4242 --aet NEURONOVA
python -m neuronova_lab.synthetic.demo --visits 1,1.15,0.8   # baseline + two follow-ups
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage
from pynetdicom import AE

from neuronova_lab.synthetic.dicom import series_datasets, to_bytes
from neuronova_lab.synthetic.followup import DEFAULT_SCALES, FollowUpVisit, follow_up
from neuronova_lab.synthetic.phantom import render
from neuronova_lab.synthetic.presets import PRESETS


def store(datasets: list[Dataset], host: str, port: int, aet: str, calling: str) -> int:
    """C-STORE every dataset over one association; returns how many failed."""
    ae = AE(ae_title=calling)
    ae.add_requested_context(MRImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate(host, port, ae_title=aet)
    if not assoc.is_established:
        raise ConnectionError(f"association with {aet}@{host}:{port} refused or unreachable")
    failed = 0
    try:
        for ds in datasets:
            status = assoc.send_c_store(ds)
            if getattr(status, "Status", None) != 0x0000:
                failed += 1
    finally:
        assoc.release()
    return failed


def parse_scales(text: str) -> tuple[float, ...]:
    try:
        scales = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from exc
    if not scales or scales[0] != 1.0 or any(s <= 0 for s in scales):
        raise argparse.ArgumentTypeError("positive factors, the first (the baseline) 1.0")
    return scales


def describe(visit: FollowUpVisit) -> str:
    parts = ", ".join(f"label {value} {ml:.2f} mL" for value, ml in visit.truth_ml.items())
    return (
        f"visit {visit.visit.number} on {visit.visit.study_date}: tumour scale {visit.scale:g}, "
        f"ground truth {visit.total_ml:.2f} mL ({parts})"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=4242)
    ap.add_argument("--aet", default="NEURONOVA")
    ap.add_argument("--calling-aet", default="NN-DEMO")
    ap.add_argument("--seed", type=int, default=424242)
    ap.add_argument("--small", action="store_true", help="the small grid used by tests")
    ap.add_argument(
        "--preset", choices=sorted(PRESETS), help="acquisition layout (default demo, or small)"
    )
    ap.add_argument(
        "--visits",
        type=parse_scales,
        nargs="?",
        const=DEFAULT_SCALES,
        help="follow-up visits of the patient: the tumour's scale at each, the baseline first "
        f"(default {','.join(f'{s:g}' for s in DEFAULT_SCALES)}); 91 days apart",
    )
    ap.add_argument("--write", type=Path, help="write the files to this folder instead of sending")
    args = ap.parse_args(argv)
    preset = args.preset or ("small" if args.small else "demo")
    if args.visits:
        visits = follow_up(args.seed, PRESETS[preset](), args.visits)
        studies = [visit.datasets() for visit in visits]
        for visit in visits:
            print(describe(visit))
    else:
        studies = [series_datasets(render(args.seed, PRESETS[preset]()))]
    failed_any = False
    for datasets in studies:
        if args.write:
            # One study: the files in the folder itself; visits: a folder per study.
            folder = args.write / str(datasets[0].StudyInstanceUID) if args.visits else args.write
            folder.mkdir(parents=True, exist_ok=True)
            for ds in datasets:
                (folder / f"{ds.SOPInstanceUID}.dcm").write_bytes(to_bytes(ds))
            print(f"wrote {len(datasets)} instances to {folder}")
            continue
        failed = store(datasets, args.host, args.port, args.aet, args.calling_aet)
        failed_any = failed_any or failed > 0
        print(
            f"sent study {datasets[0].StudyInstanceUID} ({len(datasets)} instances, "
            f"{failed} failed) to {args.aet}@{args.host}:{args.port}",
            flush=True,
        )
    return 1 if failed_any else 0


if __name__ == "__main__":
    sys.exit(main())
