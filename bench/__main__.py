"""``python -m bench``: run the benchmarks, print their tables, optionally update the doc.

    python -m bench                       every benchmark (make bench)
    python -m bench --only throughput     one of them (repeatable)
    python -m bench --write-doc           also rewrite the generated blocks of the doc

Exits 1 when a hard target is missed (DynamoDB requests per operation) and 2 when a
benchmark could not run; missed soft targets (rates, cold start) are reported, not fatal.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from local.template import ROOT

from . import cold_start, dynamodb_calls, erp, expiry, throughput
from .model import section as flash_sale_model
from .options import DEFAULT_WORKERS, Options
from .report import MissingMarkers, Section, Table, console, write_doc
from .stack import Stack, machine

Benchmark = Callable[[Stack, Options], Section]

# Run order: the cold start first, while nothing else (DynamoDB Local) uses the CPU.
BENCHMARKS: dict[str, Benchmark] = {
    cold_start.NAME: cold_start.run,
    dynamodb_calls.NAME: dynamodb_calls.run,
    throughput.NAME: throughput.run,
    expiry.NAME: expiry.run,
    erp.NAME: erp.run,
    # Last: most of it is CPU-bound simulation, which would disturb nothing measured after.
    flash_sale_model.NAME: flash_sale_model.run,
}
DOC = ROOT / "docs" / "performance.md"
RUN_BLOCK = "run"


def parse(argv: Sequence[str] | None) -> tuple[argparse.Namespace, Options]:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=list(BENCHMARKS), default=[])
    parser.add_argument(
        "--write-doc", action="store_true", help=f"rewrite the blocks in {DOC.name}"
    )
    parser.add_argument("--doc", type=Path, default=DOC, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument(
        "--duration",
        type=float,
        default=defaults.duration,
        help="seconds of each measured throughput round",
    )
    parser.add_argument("--rounds", type=int, default=defaults.rounds)
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help="API worker processes (execution environments)",
    )
    parser.add_argument("--cold-runs", type=int, default=defaults.cold_runs)
    args = parser.parse_args(argv)
    for name in ("threads", "rounds", "workers", "cold_runs"):
        if not 1 <= getattr(args, name) <= 256:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and 256")
    if not 0.5 <= args.duration <= 60:
        parser.error("--duration must be between 0.5 and 60 seconds")
    options = Options(
        threads=args.threads,
        duration=args.duration,
        rounds=args.rounds,
        workers=args.workers,
        cold_runs=args.cold_runs,
    )
    return args, options


def command_line(argv: Sequence[str]) -> str:
    """How the figures were made: ``make bench`` unless options changed what it runs."""
    tuned = [arg for arg in argv if arg not in ("--write-doc",)]
    return "`make bench`" if not tuned else f"`python -m bench {' '.join(tuned)}`"


def run_block(started: datetime.datetime, command: str, load: str, seconds: float) -> str:
    rows = [["date", started.strftime("%Y-%m-%d %H:%M UTC")], ["command", command]]
    rows += [[key, value] for key, value in machine().items()]
    rows.append(["load average at start (1, 5, 15 min)", load])
    rows.append(["whole run", f"{seconds:.0f} s"])
    return Table(["", ""], rows).markdown()


def main(argv: Sequence[str] | None = None) -> int:
    args, options = parse(argv)
    names = args.only or list(BENCHMARKS)
    started = datetime.datetime.now(datetime.UTC)
    # Other work on the machine competes for the same cores: say how busy it was.
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    clock = time.perf_counter()
    stack = Stack()
    sections: list[Section] = []
    broken: list[str] = []
    try:
        for name in names:
            print(f"\n### running {name} ...", flush=True)
            try:
                section = BENCHMARKS[name](stack, options)
            except Exception:
                traceback.print_exc()
                broken.append(name)
                continue
            finally:
                stack.fresh_engine()
            sections.append(section)
            print(console(section), flush=True)
    finally:
        stack.stop()
    elapsed = time.perf_counter() - clock
    command = command_line(sys.argv[1:] if argv is None else argv)
    block = run_block(started, command, load, elapsed)
    print(f"\nMachine and run\n===============\n\n{block}\n")
    missed = [t for s in sections for t in s.targets if not t.met]
    for target in missed:
        print(f"target missed: {target.name}: wanted {target.wanted}, measured {target.measured}")
    if args.write_doc and sections:
        if args.only:
            # The machine-and-run block describes a whole run: a partial one says so instead.
            when = started.strftime("%Y-%m-%d %H:%M UTC")
            blocks = {
                s.name: f"_Measured on its own on {when}: {command}._\n\n{s.markdown()}"
                for s in sections
            }
        else:
            blocks = {RUN_BLOCK: block, **{s.name: s.markdown() for s in sections}}
        try:
            write_doc(args.doc, blocks)
        except MissingMarkers as error:
            print(error, file=sys.stderr)
            return 2
        for made, image in (image for s in sections for image in s.images):
            # Beside the doc written, as docs/images is beside docs/performance.md.
            destination = args.doc.parent / image.relative_to(DOC.parent)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(made, destination)
            print(f"wrote {destination}")
        print(f"wrote {', '.join(blocks)} into {args.doc}")
    if broken:
        print(f"could not run: {', '.join(broken)}", file=sys.stderr)
        return 2
    return 1 if any(s.failed for s in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
