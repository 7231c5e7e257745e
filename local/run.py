"""``make run``: the whole stack on this machine, until Ctrl-C or SIGTERM.

    python -m local.run --engine moto|dynamodb-local --port 3000

1. DynamoDB: the endpoint in AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL if one is set,
   otherwise an engine started here (moto server by default, or DynamoDB Local).
   SQS: the endpoint in AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL, otherwise moto server
   (the one serving DynamoDB, or one of its own beside DynamoDB Local).
2. The table and the ERP queues from template.yaml, created if missing; a demo catalogue
   is written only into a table created just now, so a table you brought is never
   overwritten.
3. The API on http://127.0.0.1:<port> (``local.server.LocalApi``), plus the background
   functions of the stack (the sweeper on a schedule, the ERP function fed by its queue),
   stopped together, engines last.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any

import botocore.session

from reservations.bootstrap import CLIENT_CONFIG, dynamodb_client, events_client, sqs_client
from reservations.store import Store

from .auth import console_token
from .background import BackgroundFunction, stop_together
from .bus import LocalBus, Printer, Tap, ensure_bus
from .catalogue import DEMO_CATALOGUE, catalogue_lines, seed
from .engines import DynamoDBLocal, Engine, EngineUnavailable, MotoServer
from .invoke import ENDPOINT_VARIABLES, apply_defaults, local_aws_defaults, local_endpoint
from .queue_consumer import QueueConsumer
from .queues import ErpQueues, ensure_queues
from .schedule import ScheduledFunction
from .server import LocalApi
from .stop_signals import Stopped, install, signals_deferred, wait_for_stop
from .streams import StreamSource, stream_mappings
from .template import ensure_table

DEFAULT_TABLE = "reservations"
DEFAULT_PORT = 3000
DEFAULT_WORKERS = 2
ENGINES: dict[str, type[MotoServer] | type[DynamoDBLocal]] = {
    "moto": MotoServer,
    "dynamodb-local": DynamoDBLocal,
}


DEFAULT_SWEEP_INTERVAL = 5.0
# The console's development sign-in: served by the local stack itself, never deployed.
CONSOLE_SIGN_IN = ("POST", "/_local/console-token")


def background_functions(
    sweep_interval: float,
    quiet: bool,
    queues: ErpQueues | None = None,
    stream: tuple[Any, str, LocalBus] | None = None,
) -> list[BackgroundFunction]:
    """The stack's functions besides the API: the sweeper on a short schedule (one minute
    in AWS; a few seconds here, so an abandoned hold frees its stock while you watch), and
    the ERP function fed by its queue as Lambda's event source would."""
    # The local schedule ticks often itself: one pass per tick, no polling inside a run
    # (SWEEP_POLL_SECONDS=0, one of local.invoke's LOCAL_OVERRIDES).
    functions: list[BackgroundFunction] = [
        ScheduledFunction("sweeper", sweep_interval, quiet=quiet)
    ]
    if queues is not None:
        functions.append(
            QueueConsumer(
                "erp",
                sqs_client(),
                queues.url,
                queues.arn,
                {"ERP_DEAD_LETTER_QUEUE_URL": queues.dead_letter_url},
                quiet=quiet,
            )
        )
    if stream is not None:
        # Each mapping of the template on the table's stream reads it on its own, as in AWS:
        # the TTL backstop and the events function onto the local bus.
        streams, arn, bus = stream
        env = {"EVENT_BUS_NAME": bus.name}
        functions += [StreamSource(m, streams, arn, env) for m in stream_mappings()]
    return functions


def curl_examples(url: str) -> list[str]:
    first = DEMO_CATALOGUE[0]
    body = json.dumps(
        {
            "id": "demo-checkout-1",
            "items": [{"sku": first.sku, "location": first.location, "quantity": 2}],
        },
        separators=(",", ":"),
    )
    auth = '-H "Authorization: Bearer $TOKEN"'
    return [
        f"curl -i -X POST {url}/reservations -H 'Content-Type: application/json' {auth} "
        f"-d '{body}'",
        f"curl -i {url}/inventory/{first.sku} {auth}",
    ]


def erp_example(queue_url: str, sqs_endpoint: str) -> str:
    # MUG-BLUE at STORE-PARIS: no events/erp_*.json sample sets that record, so sending this
    # and invoking the samples, in any order, never makes one's sequence stale for the other.
    stock = DEMO_CATALOGUE[1]
    body = json.dumps(
        {
            "type": "stock.set",
            "schemaVersion": 1,
            "sku": stock.sku,
            "location": stock.location,
            "onHand": 20,
            "sequence": 1,
        },
        separators=(",", ":"),
    )
    return (
        f"make erp-send ENDPOINT={sqs_endpoint} QUEUE={queue_url} GROUP={stock.sku} BODY='{body}'"
    )


# What `make token` gives by default: a sales channel's scopes.
AUTH_EXPORT_LINE = "export TOKEN=$(make -s token CHANNEL=storefront)"


def banner(
    *,
    api: LocalApi,
    engine: str,
    endpoint_variable: str,
    endpoint: str,
    table_name: str,
    seeded: bool,
    catalogue: list[str],
    sweep_interval: float,
    queues: ErpQueues,
    sqs_endpoint: str,
    bus: LocalBus,
) -> str:
    table_state = (
        "created and seeded with the demo catalogue" if seeded else "already existed, left as is"
    )
    return "\n".join(
        [
            "",
            "Soft reservations, local stack",
            f"  API        {api.url}",
            f"  Swagger    {api.url}/swagger",
            f"  DynamoDB   {engine} at {endpoint}",
            f"  table      {table_name} ({table_state})",
            f"  workers    {api.workers} processes, one request at a time each, as in Lambda",
            f"  sweeper    every {sweep_interval:g}s (SWEEP_INTERVAL_SECONDS), frees expired holds",
            f"  SQS        {sqs_endpoint}",
            f"  ERP queue  {queues.url}",
            f"  ERP DLQ    {queues.dead_letter_url}",
            f"             (visibility timeout {queues.visibility_timeout}s, dead-lettered "
            f"after {queues.max_receive_count} receives)",
            f"  events     bus {bus.name} on {sqs_endpoint}, from the table's stream; each",
            "             event is printed here as it passes (`make events` follows them too)",
            f"  console    {api.url}/console (a development sign-in: an operator's token)",
            "",
            "Catalogue:",
            *catalogue,
            "",
            "Every route but the API documents wants a token, as API Gateway does in AWS",
            "(the local authorizer; docs/security.md). One for the storefront channel:",
            f"  {AUTH_EXPORT_LINE}",
            "",
            "Try:",
            *(f"  {line}" for line in curl_examples(api.url)),
            "",
            "Send the ERP's stock to the queue (then GET /inventory/MUG-BLUE):",
            f"  {erp_example(queues.url, sqs_endpoint)}",
            "",
            "Invoke a handler against this stack from another terminal:",
            f"  export {endpoint_variable}={endpoint} TABLE_NAME={table_name}",
            f"  export AWS_ENDPOINT_URL_SQS={sqs_endpoint} "
            f"ERP_DEAD_LETTER_QUEUE_URL={queues.dead_letter_url}",
            f"  export AWS_ENDPOINT_URL_EVENTBRIDGE={sqs_endpoint} EVENT_BUS_NAME={bus.name}",
            "  make invoke FN=api EVENT=events/get_inventory.json",
            "  make invoke FN=erp EVENT=events/erp_stock_set.json",
            "",
            "Ctrl-C stops everything.",
            "",
        ]
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--engine",
        choices=sorted(ENGINES),
        default=os.environ.get("ENGINE", "moto"),
        help="engine to start when no AWS_ENDPOINT_URL(_DYNAMODB) is set",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    parser.add_argument("--engine-port", type=int, default=0, help="0: any free port")
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("WORKERS", DEFAULT_WORKERS))
    )
    parser.add_argument("--quiet", action="store_true", help="no line per request")
    parser.add_argument(
        "--verbose",
        action="store_true",
        default=os.environ.get("VERBOSE", "") not in ("", "0"),
        help="the functions' structured logs too, at DEBUG (VERBOSE=1)",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("LOG_LEVEL"),
        type=str.upper,
        help="the functions' log level, e.g. INFO as in AWS (LOG_LEVEL; default WARNING)",
    )
    parser.add_argument(
        "--sweep-interval",
        type=float,
        default=float(os.environ.get("SWEEP_INTERVAL_SECONDS", DEFAULT_SWEEP_INTERVAL)),
        help="seconds between runs of the expiry sweeper (SWEEP_INTERVAL_SECONDS)",
    )
    args = parser.parse_args(argv)
    if args.log_level and args.log_level not in LOG_LEVELS:
        parser.error(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
    return args


# Locally, metrics would be EMF lines on the console, one per request and per sweep.
LOCAL_QUIET = {"POWERTOOLS_METRICS_DISABLED": "true"}
# The functions' JSON log (a line per request and per sweep) is what CloudWatch keeps in AWS;
# on a console the server's short line per request says enough. Warnings and errors stay.
QUIET_LOG_LEVEL = "WARNING"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def functions_log_level(args: argparse.Namespace) -> str:
    if args.log_level:
        return str(args.log_level)
    return "DEBUG" if args.verbose else QUIET_LOG_LEVEL


def serve(args: argparse.Namespace, stack: ExitStack) -> None:
    apply_defaults(local_aws_defaults())
    apply_defaults(LOCAL_QUIET)
    os.environ["POWERTOOLS_LOG_LEVEL"] = functions_log_level(args)  # the workers inherit it
    table_name = os.environ.setdefault("TABLE_NAME", DEFAULT_TABLE)
    endpoint = local_endpoint()
    if endpoint is not None:
        engine_label = "your endpoint"
        endpoint_variable = next(key for key in ENDPOINT_VARIABLES if os.environ.get(key))
    else:
        print(f"starting {args.engine} ...", flush=True)
        with signals_deferred():
            engine: Engine = ENGINES[args.engine](args.engine_port or None)
            stack.callback(engine.stop)
        engine_label, endpoint = engine.name, engine.endpoint
        # moto answers every service on its port (SQS too); DynamoDB Local only DynamoDB.
        endpoint_variable = (
            "AWS_ENDPOINT_URL" if args.engine == "moto" else "AWS_ENDPOINT_URL_DYNAMODB"
        )
        os.environ[endpoint_variable] = endpoint  # read by botocore here and in the workers

    client = dynamodb_client()
    table = Store(client, table_name)
    seeded = ensure_table(client, table_name)
    if seeded:
        seed(table)

    sqs_endpoint = os.environ.get("AWS_ENDPOINT_URL_SQS") or os.environ.get("AWS_ENDPOINT_URL")
    if sqs_endpoint is None:
        # DynamoDB Local serves DynamoDB only: moto server plays SQS beside it.
        print("starting moto server for SQS ...", flush=True)
        with signals_deferred():
            sqs_engine = MotoServer()
            stack.callback(sqs_engine.stop)
        sqs_endpoint = os.environ["AWS_ENDPOINT_URL_SQS"] = sqs_engine.endpoint
    queues = ensure_queues(sqs_client(), prefix=table_name)
    # moto server serves EventBridge too: the bus lives beside the queues.
    os.environ.setdefault("AWS_ENDPOINT_URL_EVENTBRIDGE", sqs_endpoint)
    bus = ensure_bus(events_client(), sqs_client(), prefix=table_name)
    # The functions' timeouts: botocore's 60 s default kept Ctrl-C waiting on a busy engine.
    stream_endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or endpoint
    streams = botocore.session.get_session().create_client(
        "dynamodbstreams", endpoint_url=stream_endpoint, config=CLIENT_CONFIG
    )
    stream_arn = client.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]

    api = LocalApi(
        port=args.port,
        workers=args.workers,
        quiet=args.quiet,
        env={"ERP_QUEUE_URL": queues.url, "ERP_DEAD_LETTER_QUEUE_URL": queues.dead_letter_url},
        local_routes={CONSOLE_SIGN_IN: console_token},
    )
    print(f"starting {args.workers} workers ...", flush=True)
    try:
        api.start()
    except OSError as error:
        raise SystemExit(
            f"cannot listen on 127.0.0.1:{args.port} ({error.strerror}); "
            f"try another port: make run PORT={args.port + 1}"
        ) from None
    stack.callback(api.stop)
    stoppers: list[Callable[[], None]] = []  # stopped side by side, before the API
    stack.callback(stop_together, stoppers)
    for function in background_functions(
        args.sweep_interval, args.quiet, queues, (streams, stream_arn, bus)
    ):
        function.start()
        stoppers.append(function.stop)

    print(
        banner(
            api=api,
            engine=engine_label,
            endpoint_variable=endpoint_variable,
            endpoint=endpoint,
            table_name=table_name,
            seeded=seeded,
            catalogue=catalogue_lines(table),
            sweep_interval=args.sweep_interval,
            queues=queues,
            sqs_endpoint=sqs_endpoint,
            bus=bus,
        ),
        flush=True,
    )
    if not args.quiet:  # after the banner, so no event line lands inside it
        stoppers.append(Printer(Tap(events_client(), sqs_client(), bus.name)).start().stop)
    wait_for_stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # moto server logs every engine call through werkzeug; the API's own line is enough.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    install()
    try:
        # Whatever was started is stopped in reverse order, however we leave.
        with ExitStack() as stack:
            serve(args, stack)
    except Stopped as stopped:
        print(f"\n{stopped}: stopped the API, its workers and the engine.", file=sys.stderr)
    except EngineUnavailable as error:
        print(f"cannot start {args.engine}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
