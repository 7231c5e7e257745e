"""``make drift``: the drift check (docs/architecture.md, Invariants) on a table.

    make drift                            # the table of `make run`, at the endpoint it printed
    make drift AWS=1 TABLE_NAME=<table>   # a deployed table, with your AWS credentials

Exit code 0 when the table is clean, 1 when it drifted (every difference listed), 2 when it
could not be checked (no endpoint, nothing listening, no such table), with one line saying why.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from reservations.bootstrap import dynamodb_client
from reservations.config import Settings
from reservations.drift import check_table

from .invoke import apply_defaults, local_aws_defaults, local_endpoint

NO_ENDPOINT = (
    "no endpoint to check: paste the `export AWS_ENDPOINT_URL=...` line `make run` printed, "
    "or give AWS=1 for a deployed table"
)


def _why(error: Exception, table: str, where: str) -> str:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            return f"no table {table} at {where}"
    return f"cannot check {table} at {where}: {error}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.drift", description=__doc__)
    parser.add_argument("--table", default=os.environ.get("TABLE_NAME", "reservations"))
    parser.add_argument(
        "--aws",
        action="store_true",
        help="a deployed table: no endpoint, your own credentials and region",
    )
    args = parser.parse_args(argv)
    if args.aws:
        where = "AWS"
    else:
        endpoint = local_endpoint()
        if endpoint is None:
            print(f"drift: {NO_ENDPOINT}", file=sys.stderr)
            return 2
        where = endpoint
        # As `make run` and `make invoke` do: DynamoDB Local keeps a set of tables per access
        # key and region, so only the same placeholders find the stack's table.
        apply_defaults(local_aws_defaults())
    try:
        report = check_table(dynamodb_client(), args.table, Settings.from_env().supply_formula)
    except (BotoCoreError, ClientError) as error:
        print(f"drift: {' '.join(_why(error, args.table, where).split())}", file=sys.stderr)
        return 2
    print(
        f"{len(report.levels)} stock records, {sum(report.held.values())} units held by live lines"
    )
    for problem in report.problems:
        print(f"DRIFT {problem}")
    for warning in report.warnings:
        print(f"WARNING {warning}")
    print("no drift" if report.ok else f"{len(report.problems)} difference(s)")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
