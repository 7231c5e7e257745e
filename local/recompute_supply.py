"""``make recompute-supply``: after SUPPLY_FORMULA or STOCK_MEASURES changed, make every stock
record's ``available`` right under the new formula (docs/architecture.md, "Supply measures").

    make recompute-supply                            # the table of `make run`
    make recompute-supply AWS=1 TABLE_NAME=<table>   # a deployed table, your AWS credentials
    python -m local.recompute_supply --dry-run       # what it would change, writing nothing

Run it with the formula and measures the stack runs with (SUPPLY_FORMULA, STOCK_MEASURES in
this shell). Safe during traffic and to run again: a record already right is not written.
Exit code 0 when every record is right, 1 when some were busy (a hold moved them on every
attempt: run again), 2 when it could not run (no endpoint, nothing listening, no such table,
an invalid formula or token), with one line saying why and, past the first page, the token
to continue from.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from reservations.bootstrap import dynamodb_client
from reservations.config import Settings
from reservations.store.supply_recompute import NotAToken, Page, SupplyRecompute
from reservations.supply import FormulaError

from .invoke import apply_defaults, local_aws_defaults, local_endpoint

PROG = "recompute-supply"
NO_ENDPOINT = (
    "no endpoint to recompute: paste the `export AWS_ENDPOINT_URL=...` line `make run` "
    "printed, or give AWS=1 for a deployed table"
)


def _why(error: Exception, table: str, where: str) -> str:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            return f"no table {table} at {where}"
    return f"cannot recompute {table} at {where}: {error}"


def _fail(message: str, resume: str | None = None) -> int:
    tail = f"; continue with --start-after {resume}" if resume else ""
    print(f"{PROG}: {' '.join(message.split())}{tail}", file=sys.stderr)
    return 2


def _report(page: Page, dry_run: bool) -> None:
    verb = "WOULD CHANGE" if dry_run else "CHANGED"
    for change in page.changed:
        print(
            f"{verb} {change.sku} @ {change.location}: available {change.before} -> "
            f"{change.after} (supply {change.supply}, reserved {change.reserved})"
        )
    for sku, location in page.busy:
        print(f"BUSY {sku} @ {location}: a hold moved it on every attempt")
    if page.resume is not None:
        print(f"resume token: {page.resume}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.recompute_supply",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--table", default=os.environ.get("TABLE_NAME", "reservations"))
    parser.add_argument(
        "--aws",
        action="store_true",
        help="a deployed table: no endpoint, your own credentials and region",
    )
    parser.add_argument(
        "--start-after",
        metavar="TOKEN",
        help="continue an interrupted run after the page of the last token it printed",
    )
    parser.add_argument("--dry-run", action="store_true", help="report, write nothing")
    args = parser.parse_args(argv)
    try:
        formula = Settings.from_env().supply_formula
    except FormulaError as error:
        return _fail(str(error))
    if args.aws:
        where = "AWS"
    else:
        endpoint = local_endpoint()
        if endpoint is None:
            return _fail(NO_ENDPOINT)
        where = endpoint
        # DynamoDB Local keeps a set of tables per access key and region (as local.drift).
        apply_defaults(local_aws_defaults())
    dry = " (dry run: nothing is written)" if args.dry_run else ""
    print(f"supply formula: {formula.text}{dry}")
    recompute = SupplyRecompute(dynamodb_client(), args.table, formula)
    read = changed = busy = 0
    resume = args.start_after
    try:
        for page in recompute.pages(args.start_after, dry_run=args.dry_run):
            _report(page, args.dry_run)
            read += page.read
            changed += len(page.changed)
            busy += len(page.busy)
            resume = page.resume
    except NotAToken as error:
        return _fail(str(error))
    except (BotoCoreError, ClientError) as error:
        return _fail(_why(error, args.table, where), resume)
    except KeyboardInterrupt:
        _fail("interrupted", resume)
        return 130
    would = " would change" if args.dry_run else " changed"
    print(f"{read} stock records read, {changed}{would}, {busy} busy")
    if busy:
        print("some records were busy: run again (from the start)")
    return 1 if busy else 0


if __name__ == "__main__":
    sys.exit(main())
