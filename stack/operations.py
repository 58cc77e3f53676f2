"""Wiring: the operator's commands on a native stack besides up/down — `demo` and `modality`.

`python -m stack modality add NAME --host IP [--aet AET] [--port 104]` registers a modality
allowed to store by DICOM (stack/modalities.py); `remove NAME` and `list` do what they say.
`python -m stack demo` registers the demo sender (NN-DEMO from 127.0.0.1) the same way first.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path
from typing import Any

from stack import demo, modalities
from stack.config import ConfigError, StackConfig
from stack.supervisor import Supervisor
from stack.var_files import orthanc_files, say, write_if_changed


def add_parsers(sub: Any) -> None:  # noqa: ANN401 - argparse's private _SubParsersAction
    demo_args = sub.add_parser("demo", help="send the demo study; wait for and print its AI result")
    demo_args.add_argument("--no-wait", action="store_true", help="only send the study")
    demo_args.add_argument("--small", action="store_true", help="the small grid the tests use")
    demo_args.add_argument("--seed", type=int, help="another study (default: the demo's own)")
    demo_args.add_argument(
        "--preset", help="acquisition layout: sagittal, mixed, clinical24 (default: demo, small)"
    )
    demo_args.add_argument(
        "--visits",
        nargs="?",
        const="1,1.15,0.8",
        help="send the demo patient's follow-up visits: the tumour's scale at each, baseline "
        "first (default 1,1.15,0.8)",
    )
    demo_args.add_argument("--timeout", type=float, default=900.0, help="seconds to wait")
    modality = sub.add_parser("modality", help="list, add or remove a modality allowed to store")
    modality.add_argument("action", choices=["list", "add", "remove"])
    modality.add_argument("name", nargs="?", default="", help="Orthanc's name for it")
    modality.add_argument("--aet", help="its calling AE title (default: the name)")
    modality.add_argument("--host", help="its IP address; associations from elsewhere fail")
    modality.add_argument("--port", type=int, default=104, help="its own DICOM port")


def register_modality(config: StackConfig, name: str, entry: dict[str, Any] | None) -> None:
    """Add (or with None remove) a modality: the file, Orthanc's config, the running Orthanc."""
    registered = modalities.read(config.var_dir)
    if entry is None:
        registered.pop(name, None)
    else:
        registered[name] = entry
    modalities.write(config.var_dir, registered)
    if (config.var_dir / "orthanc").is_dir():
        changed = [p for p, text in orthanc_files(config).items() if write_if_changed(p, text)]
        if any(p.name == "main-dicom-entry.conf" for p in changed):
            _reload_nginx(config)  # the DICOM entry lets in the registered addresses only
    live = modalities.apply_live(config, registered)
    state = "applied to the running Orthanc" if live else "applied at the next `make up`"
    say(f"{'registered' if entry else 'removed'} modality {name} ({state})")


def _reload_nginx(config: StackConfig) -> None:
    """Reload the running nginx and return once its workers run the new configuration, so the
    modality just added stores at once; nginx keeps the old one when the new one is invalid."""
    pid_file = config.var_dir / "run" / "nginx.pid"
    if not pid_file.exists():
        return
    master = int(pid_file.read_text().strip())
    old_workers = _children(master)
    conf = config.var_dir / "nginx" / "nginx.conf"
    done = subprocess.run(  # noqa: S603
        ["/usr/sbin/nginx", "-c", str(conf), "-s", "reload"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ConfigError(f"nginx kept its old configuration: {done.stderr.strip()}")
    # The master starts new workers, then tells the old ones to stop accepting and finish what
    # they carry (a long association may keep one a while: it no longer accepts, so move on).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _children(master) & old_workers:
        if time.monotonic() > deadline - 5 and _children(master) - old_workers:
            break
        time.sleep(0.05)


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (nginx's workers under its master)."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            children.add(int(stat.parent.name))
    return children


def apply_modalities(config: StackConfig) -> None:
    """A running Orthanc keeps running across `up`: give it the registered modalities too."""
    modalities.apply_live(config, modalities.read(config.var_dir))


def cmd_demo(config: StackConfig, args: argparse.Namespace) -> int:
    if not Supervisor(config).running():
        say("the stack is not running: `make up` first")
        return 1
    # The demo sender is a modality like any other: it stores only once registered.
    wanted = modalities.entry(demo.DEMO_AET, "127.0.0.1")
    if modalities.read(config.var_dir).get(demo.DEMO_AET) != wanted:
        register_modality(config, demo.DEMO_AET, wanted)
    return demo.run(
        config,
        wait=not args.no_wait,
        small=args.small,
        seed=args.seed,
        timeout_s=args.timeout,
        preset=args.preset,
        visits=args.visits,
    )


def cmd_modality(config: StackConfig, args: argparse.Namespace) -> int:
    if args.action != "list" and not args.name:
        raise ConfigError(f"`modality {args.action}` needs the modality's name")
    if args.action == "list":
        for name, value in sorted(modalities.read(config.var_dir).items()):
            print(f"{name}: AET {value['AET']} from {value['Host']} (port {value['Port']})")
        return 0
    if args.action == "add":
        if not args.host:
            raise ConfigError("`modality add` needs --host (the modality's IP address)")
        entry = modalities.entry(args.aet or args.name, args.host, args.port)
        register_modality(config, args.name, entry)
    else:
        register_modality(config, args.name, None)
    return 0
