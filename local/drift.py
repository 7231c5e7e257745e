"""`python -m local.drift [--table NAME]`: the drift check against any endpoint.

Uses the standard AWS environment (AWS_ENDPOINT_URL_DYNAMODB for a local engine,
credentials and region for AWS). Exit code 1 when any difference is found.
"""

from __future__ import annotations

import argparse
import os
import sys

from reservations.bootstrap import dynamodb_client
from reservations.drift import check_table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--table", default=os.environ.get("TABLE_NAME", "reservations"))
    args = parser.parse_args()
    report = check_table(dynamodb_client(), args.table)
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
