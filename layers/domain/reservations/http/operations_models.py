"""Bodies of the operator routes: the drift check and the ERP dead-letter queue."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Response(BaseModel):
    model_config = ConfigDict(defer_build=True)


class DriftResponse(_Response):
    ok: bool = Field(description="No difference between the counters and the hold lines")
    checkedAt: str = Field(description="ISO 8601, UTC")
    items: int = Field(description="Items the scan read")
    stockRecords: int
    heldUnits: int = Field(description="Units live hold lines hold, in all")
    problems: list[str] = Field(description="One line per difference found")


class DeadLetterResponse(_Response):
    messageId: str = Field(description="Its id in the dead-letter queue: the redrive's path")
    messageGroupId: str = Field(description="The sku the ERP grouped it under")
    body: str = Field(description="The message as the ERP sent it")
    reason: str = Field(description="Why it did not take effect")
    receiveCount: int
    sentAt: str | None = Field(description="ISO 8601, UTC")


class DeadLetterListResponse(_Response):
    messages: list[DeadLetterResponse] = Field(
        description="At most ten per message group: a FIFO queue hides a group's later ones"
    )
    approximateTotal: int = Field(description="Messages in the queue, as SQS estimates it")


class RedriveResponse(_Response):
    messageId: str = Field(description="The dead letter, now gone from the dead-letter queue")
    redrivenAs: str = Field(description="Its id in the ERP queue, where it is applied again")
