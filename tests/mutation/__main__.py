"""``python -m tests.mutation [run] [--keep | --live | --resume] [--workers N] [MODULE ...]``,
``report``, or ``save [MODULE ...]``.

``run`` mutates the named modules of the domain layer (default: the target modules; ``all``:
every one), runs the fast tiers against each mutant, then renders docs/testing.md's table.
Without ``--keep`` it starts from nothing, so no verdict of older code or tests survives;
with it, mutmut's test map and the other modules' verdicts are reused (the named modules'
mutants are always run again). ``--live`` is ``--keep`` that runs again only the named
modules' mutants no test killed (less the listed equivalents): for when tests were only
added since, so every kill still stands. ``--resume`` runs only the mutants no kill saved in
tests/mutation/kills.json covers (carried.py), in a fresh folder unless with ``--keep``;
every run saves its modules' kills there, and ``save`` does it for a run that was stopped.
``report`` only renders.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

from . import carried
from .equivalents import EQUIVALENTS
from .report import TARGET, TARGETS, tally, write
from .results import KILLED, PACKAGE, ROOT, STAGE, module_names, read_mutants

# What the staging folder links to: the layer's package at the top (mutmut's file names
# are then the import names), and what the tests need beside it.
LINKS = {
    PACKAGE: f"layers/domain/{PACKAGE}",
    "tests": "tests",
    "functions": "functions",
    "local": "local",
    "events": "events",
    "bench": "bench",  # the flash-sale model's unit tests import it (also_copy)
    "template.yaml": "template.yaml",
    "pyproject.toml": "pyproject.toml",
}


def stage(fresh: bool) -> None:
    if fresh and STAGE.exists():
        shutil.rmtree(STAGE)
    STAGE.mkdir(exist_ok=True)
    for name, target in LINKS.items():
        link = STAGE / name
        if not link.is_symlink():
            link.symlink_to(os.path.relpath(ROOT / target, STAGE))


def live_names(modules: list[str]) -> list[str]:
    """mutmut's names of the modules' mutants that were not killed and are not listed as
    equivalent, those not run yet included."""
    wanted = None if "all" in modules else {f"{PACKAGE}.{m}" for m in modules}
    return [
        mutant.name
        for mutant in carried.carry(read_mutants())
        if (wanted is None or mutant.module in wanted)
        and mutant.status not in KILLED
        and not any(equivalent.matches(mutant) for equivalent in EQUIVALENTS)
    ]


def run(
    modules: list[str], workers: int, keep: bool, live: bool = False, resume: bool = False
) -> None:
    known = module_names()
    unknown = [m for m in modules if m != "all" and m not in known]
    if unknown:
        raise SystemExit(f"not modules of the layer: {unknown}; choose from {known}")
    if live and not (STAGE / "mutants").is_dir():
        raise SystemExit("--live needs the results of a run: run without it first")
    stage(fresh=not (keep or live))
    patterns = [] if "all" in modules else [f"{PACKAGE}.{m}.*" for m in modules]
    if live or resume:
        patterns = live_names(modules) if live else carried.pending(_expand(modules))
        if not patterns:
            print("every mutant of these modules is killed or listed as equivalent")
            return
    # mutmut puts its copy first on sys.path; the Makefile's PYTHONPATH would let the
    # original layer in behind it, so it goes.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(workers)]
    done = subprocess.run([*command, *patterns], cwd=STAGE, env=env, check=False)
    if done.returncode:
        raise SystemExit(f"mutmut stopped with exit code {done.returncode}")
    save(modules)


def _expand(modules: list[str]) -> list[str]:
    return module_names() if "all" in modules else modules


def save(modules: list[str]) -> None:
    saved = carried.save(carried.carry(read_mutants()), _expand(modules))
    print(f"{saved} kills of {', '.join(modules)} saved in {carried.KILLS.name}")


def report() -> int:
    if not (STAGE / "mutants").is_dir():
        raise SystemExit("no results: run `make mutation` first")
    result = tally(carried.carry(read_mutants()))
    write(result)
    for equivalent in result.stale:
        print(f"stale equivalent (no such mutant): {equivalent}", file=sys.stderr)
    for row in result.rows.values():
        if row.run:
            print(f"{row.module:24} {row.score:6.1%}  ({row.killed} killed, {len(row.live)} live)")
    low = result.below_target()
    for row in low:
        print(f"{row.module}: below {TARGET:.0%} or not fully run", file=sys.stderr)
    return 1 if low else 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation")
    parser.add_argument("command", nargs="?", choices=["run", "report", "save"], default="run")
    parser.add_argument("modules", nargs="*", help=f"default: {' '.join(TARGETS)}")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="reuse the last run's results")
    parser.add_argument(
        "--live", action="store_true", help="--keep, and run only the mutants that lived"
    )
    parser.add_argument(
        "--resume", action="store_true", help="run only the mutants no saved kill covers"
    )
    args = parser.parse_intermixed_args()  # the Makefile puts options before the modules
    modules = args.modules or list(TARGETS)
    if args.command == "save":
        save(modules)
        return 0
    if args.command == "run":
        run(modules, args.workers, args.keep, args.live, args.resume)
    return report()


if __name__ == "__main__":
    sys.exit(main())
