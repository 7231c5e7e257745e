"""Bodies of the stock routes: measures written, and a stock record as it is answered."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from ..store.shards import MAX_SHARDS
from ..values import OnHand, StrictModel
from .response import ResponseModel, absent_when_null

MovementText = Annotated[str, Field(min_length=1, max_length=256)]


class SetOnHandRequest(StrictModel):
    """Any subset of the record's measures, absolute (docs/architecture.md, "Supply
    measures"): the standard ones below, and those the deployment adds (StockMeasures)
    under their own names."""

    # Extra fields are the deployment's own measures; the service refuses names it lacks.
    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)
    __pydantic_extra__: dict[str, OnHand] = Field(init=False)

    onHand: OnHand | None = Field(default=None, description="Physical stock")
    inbound: OnHand | None = Field(default=None, description="On its way in")
    outbound: OnHand | None = Field(default=None, description="On its way out")
    safetyStock: OnHand | None = Field(default=None, description="Kept back from holds")
    reason: MovementText | None = Field(
        default=None, description="Why, as the movement ledger records it"
    )
    reference: MovementText | None = Field(
        default=None, description="The writer's reference (a count, a document)"
    )
    lowStockThreshold: OnHand | None = Field(
        default=None,
        description=(
            "stock.low is published when available falls below it; null removes it, "
            "absent keeps the record's"
        ),
    )

    shards: int | None = Field(
        default=None,
        strict=True,
        ge=1,
        le=MAX_SHARDS,
        description=(
            "Spread available over this many buckets for a hot sku (1 gathers it back); "
            "sent alone, without measures"
        ),
    )

    @model_validator(mode="after")
    def _some_measure(self) -> SetOnHandRequest:
        if self.shards is not None:
            if self.model_fields_set - {"shards"} or self.measures():
                raise ValueError("shards is set alone: send measures in a request of their own")
        elif not self.measures():
            raise ValueError("name at least one measure (onHand, inbound, ...), or shards")
        return self

    def measures(self) -> dict[str, int]:
        """The measures this request sets, by name."""
        named = {
            name: value
            for name in ("onHand", "inbound", "outbound", "safetyStock")
            if (value := getattr(self, name)) is not None
        }
        return named | dict(self.__pydantic_extra__ or {})


class StockLevelResponse(ResponseModel):
    location: str
    onHand: int
    reserved: int
    available: int
    supply: int = Field(description="What the supply formula makes of the measures")
    measures: dict[str, int] = Field(
        description="Every measure ever written here, onHand with them"
    )
    updatedAt: str | None = None
    version: int = Field(
        description="Moves with every change of onHand (not with holds); as ETag, for If-Match"
    )
    lowStockThreshold: int | None = Field(
        default=None, description="stock.low is published when available falls below it"
    )
    shards: int = Field(
        default=1, description="Buckets available is spread over (1: the record alone)"
    )


class InventoryResponse(ResponseModel):
    sku: str
    onHand: int
    reserved: int
    available: int
    locations: list[StockLevelResponse]


class MovementResponse(ResponseModel):
    measure: str
    delta: int
    value: int = Field(description="The measure after the change")
    at: str = Field(description="ISO 8601, UTC: when the change was written")
    version: int = Field(description="The stock record's version the change made")
    source: str = Field(description="The channel that made it, or erp")
    reason: str | None = absent_when_null("The writer's reason (fulfilled, offset, label, ...)")
    reference: str | None = absent_when_null("The writer's reference (a document, a hold)")


class MovementListResponse(ResponseModel):
    movements: list[MovementResponse] = Field(description="Newest first")
    nextToken: str | None = absent_when_null("Pass as nextToken for the next page")
