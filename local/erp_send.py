"""Send one ERP message to the local ERP queue with boto3, as the ERP would.

    make erp-send ENDPOINT=... QUEUE=... BODY='{"type":"stock.set",...}' [GROUP=<sku>]

ENDPOINT and QUEUE are what ``make run`` printed; the message group is the message's
sku unless GROUP says otherwise (the queue is FIFO, grouped by sku).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import boto3


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.erp_send", description=__doc__)
    parser.add_argument("--endpoint", required=True, help="SQS endpoint `make run` printed")
    parser.add_argument("--queue", required=True, help="ERP queue URL `make run` printed")
    parser.add_argument("--group", help="message group id (default: the body's sku)")
    parser.add_argument("--body", required=True, help="the message, JSON")
    args = parser.parse_args(argv)
    try:
        group = args.group or json.loads(args.body)["sku"]
    except (ValueError, KeyError, TypeError):
        print("give GROUP=<sku>: the body names no sku", file=sys.stderr)
        return 2
    sqs = boto3.client(
        "sqs",
        endpoint_url=args.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 (local engines take any)
    )
    sent = sqs.send_message(QueueUrl=args.queue, MessageGroupId=group, MessageBody=args.body)
    print(f"sent {sent['MessageId']} to group {group}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
