"""botocore clients for the tests, made from one session per process: a fresh session
parses the service model again, about 0.15 s a client, and most tests make one or two."""

from __future__ import annotations

import threading
from typing import Any

import botocore.session
import moto.core.models  # noqa: F401
from botocore.config import Config

# The unit tests' in-process moto answers through a hook a session takes when it is made,
# so moto is imported first; outside mock_aws the hook lets requests through.
_SESSION = botocore.session.get_session()
_LOCK = threading.Lock()  # sessions are not thread-safe; the clients they make are


def aws_client(service: str, endpoint: str, config: Config | None = None) -> Any:
    with _LOCK:
        return _SESSION.create_client(
            service, endpoint_url=endpoint, region_name="us-east-1", config=config
        )
