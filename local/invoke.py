"""Run one event through a function of ``template.yaml``: ``sam local invoke`` without Docker.

    python -m local.invoke api events/get_inventory.json      (make invoke FN=api EVENT=...)

A function is found by its logical id (``ApiFunction``) or short name (``api``); its
``CodeUri`` and layers go on ``sys.path`` and its ``Handler`` is imported, as the Lambda
runtime would. It sees the template's environment variables, but talks to the local
stack only: the endpoint comes from ``AWS_ENDPOINT_URL(_DYNAMODB)`` (what ``make run``
prints), never from a default that could be AWS itself.

The local HTTP server (``local.server``) loads handlers the same way, through this module.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from contextlib import redirect_stdout
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .apigw import LambdaContext
from .template import ROOT, resources, template

FUNCTION_TYPE = "AWS::Serverless::Function"
LAYER_TYPE = "AWS::Serverless::LayerVersion"
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL")
DEFAULT_REGION = "us-east-1"
# Lambda's own default when neither Globals nor the function sets one.
DEFAULT_TIMEOUT_SECONDS = 3.0

Handler = Callable[[dict[str, Any], Any], Any]

NO_ENDPOINT = """\
local.invoke runs handlers against the local stack only, and no endpoint is set.
Start the stack in another terminal:

    make run                # or: make run ENGINE=dynamodb-local

then paste the `export AWS_ENDPOINT_URL=...` line it prints here, and invoke again:

    make invoke FN={function} EVENT={event}
"""


class UnknownFunction(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Function:
    """One ``AWS::Serverless::Function`` with ``Globals`` applied, as Lambda would run it."""

    logical_id: str
    name: str  # short name: ApiFunction -> api, SqsConsumerFunction -> sqs_consumer
    code_uri: Path
    handler: str  # module.attribute
    layer_paths: tuple[Path, ...]
    environment: Mapping[str, str]
    timeout_seconds: float


def short_name(logical_id: str) -> str:
    base = logical_id.removesuffix("Function") or logical_id
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", base).lower()


def _env_value(value: Any, parameters: Mapping[str, Any]) -> str | None:
    """A template variable as Lambda would see it, or None when only a deployment knows it.

    The template loader reads ``!Ref X`` as the plain string ``X``: a parameter resolves to
    its default; a resource (the table's name, an ARN) is left to the local runner.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text in parameters:
        default = parameters[text].get("Default")
        return None if default is None else str(default)
    if text in template().get("Resources", {}):
        return None
    if "${" in text:
        return None  # an !Sub of resources or pseudo parameters (a URL of the stack)
    return text


@cache
def functions() -> dict[str, Function]:
    """Every function of the template, by logical id."""
    doc = template()
    parameters: dict[str, Any] = doc.get("Parameters", {})
    globals_: dict[str, Any] = doc.get("Globals", {}).get("Function", {})
    found: dict[str, Function] = {}
    by_id = resources()
    for logical_id, resource in by_id.items():
        if resource.get("Type") != FUNCTION_TYPE:
            continue
        props = {**globals_, **resource.get("Properties", {})}
        if not isinstance(props.get("CodeUri"), str) or "Handler" not in props:
            continue  # not a zip function with local code (an image, code in S3)
        variables = {
            **(globals_.get("Environment") or {}).get("Variables", {}),
            **(resource.get("Properties", {}).get("Environment") or {}).get("Variables", {}),
        }
        environment = {
            key: resolved
            for key, value in variables.items()
            if (resolved := _env_value(value, parameters)) is not None
        }
        layers = [
            ROOT / by_id[ref]["Properties"]["ContentUri"]
            for ref in props.get("Layers", [])
            if isinstance(ref, str) and by_id.get(ref, {}).get("Type") == LAYER_TYPE
        ]
        found[logical_id] = Function(
            logical_id=logical_id,
            name=short_name(logical_id),
            code_uri=ROOT / props["CodeUri"],
            handler=props["Handler"],
            layer_paths=tuple(layers),
            environment=environment,
            timeout_seconds=float(props.get("Timeout", DEFAULT_TIMEOUT_SECONDS)),
        )
    return found


def find_function(name: str) -> Function:
    wanted = name.replace("-", "_").lower()
    for function in functions().values():
        if wanted in (function.logical_id.lower(), function.name):
            return function
    known = ", ".join(f"{f.name} ({f.logical_id})" for f in functions().values())
    raise UnknownFunction(f"no function {name!r} in template.yaml; known: {known}")


def local_aws_defaults(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Region and credentials for a local engine, only where ``environ`` has none.

    Engines accept any credentials; fake ones also mean a missing endpoint fails with an
    authentication error instead of reaching a real account.
    """
    env = os.environ if environ is None else environ
    defaults: dict[str, str] = {}
    region = env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or DEFAULT_REGION
    # botocore reads AWS_DEFAULT_REGION; the Lambda runtime (and Powertools) set AWS_REGION.
    for key in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        if not env.get(key):
            defaults[key] = region
    if not env.get("AWS_ACCESS_KEY_ID") and not env.get("AWS_PROFILE"):
        defaults |= {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
    return defaults


# Where the local stack differs from a deployed stage's defaults: the API documents are
# served here (EnableApiDocs is off by default in AWS), and the sweeper sweeps once per
# invocation. A deployed sweeper polls every 10 s until near its one-minute timeout,
# because EventBridge fires only once a minute; the local schedule ticks every few
# seconds itself, and `make invoke FN=sweeper` should answer at once, not in 45 s.
LOCAL_OVERRIDES = {
    "API_DOCS_ENABLED": "true",
    "SWEEP_POLL_SECONDS": "0",
    # The console signs operators in through the local stack, not Cognito.
    "CONSOLE_SIGN_IN": "development",
}


def runtime_defaults(
    function: Function, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """What the function's environment holds unless ``environ`` (default: ours) says otherwise."""
    return {**function.environment, **LOCAL_OVERRIDES, **local_aws_defaults(environ)}


def apply_defaults(defaults: Mapping[str, str]) -> None:
    for key, value in defaults.items():
        os.environ.setdefault(key, value)


def load_handler(function: Function) -> Handler:
    """Import the handler as the Lambda runtime does: layers and CodeUri on the path."""
    for path in (*function.layer_paths, function.code_uri):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    module_name, _, attribute = function.handler.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module_name), attribute)
    return handler


def local_endpoint() -> str | None:
    for key in ENDPOINT_VARIABLES:
        if os.environ.get(key):
            return os.environ[key]
    return None


def _read_event(source: str) -> Any:
    if source == "-":
        return json.load(sys.stdin)
    with open(source, encoding="utf-8") as handle:
        return json.load(handle)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.invoke", description="Run one event through a template function."
    )
    parser.add_argument("function", help="logical id (ApiFunction) or short name (api)")
    parser.add_argument("event", help="event JSON file, or - for stdin")
    args = parser.parse_args(argv)
    try:
        function = find_function(args.function)
    except UnknownFunction as error:
        print(error, file=sys.stderr)
        return 2
    if local_endpoint() is None:
        print(NO_ENDPOINT.format(function=function.name, event=args.event), file=sys.stderr)
        return 2
    try:
        event = _read_event(args.event)
    except (OSError, ValueError) as error:
        print(f"cannot read event {args.event}: {error}", file=sys.stderr)
        return 2
    apply_defaults(runtime_defaults(function))
    failed = False
    # Logs and metrics go to stderr, as `sam local invoke` does, so stdout is the result only.
    with redirect_stdout(sys.stderr):
        try:
            handler = load_handler(function)
            result = handler(event, LambdaContext(function.name, function.timeout_seconds))
        except Exception as error:
            # What Lambda reports for an unhandled error; the traceback is the "log".
            traceback.print_exc()
            result = {"errorType": type(error).__name__, "errorMessage": str(error)}
            failed = True
    print(json.dumps(result, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
