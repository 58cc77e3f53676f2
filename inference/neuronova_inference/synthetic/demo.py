"""wiring: generate one deterministic demo study and C-STORE it (what `make demo` runs).

python -m neuronova_inference.synthetic.demo --host 127.0.0.1 --port 4242 --aet NEURONOVA
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage
from pynetdicom import AE

from neuronova_inference.synthetic.dicom import series_datasets, to_bytes
from neuronova_inference.synthetic.phantom import render
from neuronova_inference.synthetic.presets import PRESETS


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
    ap.add_argument("--write", type=Path, help="write the files to this folder instead of sending")
    args = ap.parse_args(argv)
    preset = args.preset or ("small" if args.small else "demo")
    datasets = series_datasets(render(args.seed, PRESETS[preset]()))
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        for ds in datasets:
            (args.write / f"{ds.SOPInstanceUID}.dcm").write_bytes(to_bytes(ds))
        print(f"wrote {len(datasets)} instances to {args.write}")
        return 0
    failed = store(datasets, args.host, args.port, args.aet, args.calling_aet)
    print(
        f"sent study {datasets[0].StudyInstanceUID} ({len(datasets)} instances, "
        f"{failed} failed) to {args.aet}@{args.host}:{args.port}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
