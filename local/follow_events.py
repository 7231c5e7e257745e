"""``make events``: follow the local bus from another terminal, one line per event.

    export AWS_ENDPOINT_URL_EVENTBRIDGE=... EVENT_BUS_NAME=...   (printed by make run)
    make events            # or: python -m local.follow_events [--json]

It subscribes as any consumer would, with a rule and a queue of its own on the bus, and
removes both when it stops (Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence

from reservations.bootstrap import events_client, sqs_client

from .bus import Tap, line
from .invoke import apply_defaults, local_aws_defaults

NO_BUS = """\
make events follows the local stack's bus, and no endpoint or bus is set. Start the stack
in another terminal (make run) and paste the line it prints:

    export AWS_ENDPOINT_URL_EVENTBRIDGE=http://127.0.0.1:<port> EVENT_BUS_NAME=<bus>
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.follow_events", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print each event whole, as JSON")
    args = parser.parse_args(argv)
    endpoint = os.environ.get("AWS_ENDPOINT_URL_EVENTBRIDGE") or os.environ.get("AWS_ENDPOINT_URL")
    bus = os.environ.get("EVENT_BUS_NAME")
    if not endpoint or not bus:
        print(NO_BUS, file=sys.stderr)
        return 2
    apply_defaults(local_aws_defaults())
    os.environ.setdefault("AWS_ENDPOINT_URL_SQS", endpoint)
    tap = Tap(events_client(endpoint_url=endpoint), sqs_client(endpoint_url=endpoint), bus)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"following {bus} at {endpoint} (Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        while True:
            for event in tap.events(wait_seconds=1):
                print(json.dumps(event) if args.json else line(event), flush=True)
    except KeyboardInterrupt:
        return 0
    finally:
        tap.close()


if __name__ == "__main__":
    sys.exit(main())
