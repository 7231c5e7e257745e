"""A contention-faithful DynamoDB for tests and benchmarks (docs/architecture.md,
"Contention"): DynamoDB's documented conflict and per-partition throughput rules, which
DynamoDB Local leaves out, in front of DynamoDB Local."""

from .errors import CapacityMode
from .latency import Latency
from .proxy import ContentionProxy
from .requests import Access, ItemRef, Kind, Operation
from .rules import Limits, Outcome, Refusal, Rules, Ticket

__all__ = [
    "Access",
    "CapacityMode",
    "ContentionProxy",
    "ItemRef",
    "Kind",
    "Latency",
    "Limits",
    "Operation",
    "Outcome",
    "Refusal",
    "Rules",
    "Ticket",
]
