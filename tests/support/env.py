"""Environment every test process needs before any handler module is imported."""

import os

TEST_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "TABLE_NAME": "reservations-test",
    "POWERTOOLS_SERVICE_NAME": "reservations",
    "POWERTOOLS_METRICS_NAMESPACE": "SoftReservations",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "API_DOCS_ENABLED": "true",
}


def apply() -> None:
    for key, value in TEST_ENV.items():
        os.environ[key] = value
    # Never reach a real AWS endpoint from tests: each fixture sets its own loopback one.
    for key in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_PROFILE",
    ):
        os.environ.pop(key, None)
