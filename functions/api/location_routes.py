"""Routes of the location network, and what a storefront may sell to a country, a site or a
pickup location (docs/architecture.md, "Locations and allocation")."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from idempotency_keys import IdempotencyKeys, answer
from openapi_responses import BODY_ERRORS, ERRORS, IdentifierPath, documented
from reservations.http import presenters
from reservations.http.locations import (
    AvailabilityRequest,
    AvailabilityResponse,
    LocationListResponse,
    LocationRequest,
    LocationResponse,
)
from reservations.records import Location
from reservations.store import StoredResponse
from route_dependencies import Service

router = Router()
TAGS = ["Inventory"]
ONE = "/locations/<location>"


@router.put(
    ONE,
    operation_id="registerLocation",
    summary="Register or replace a location",
    description=(
        "The whole registration: optional fields left out are removed. Allocation uses it "
        "within LOCATIONS_CACHE_SECONDS (30 s by default) in every execution environment. "
        "Stock and holds at the location are kept."
    ),
    tags=TAGS,
    responses={200: documented("The location as registered", LocationResponse), **BODY_ERRORS},
)
def register_location(
    location: IdentifierPath, request: LocationRequest, service: Service, keys: IdempotencyKeys
) -> Response[Any]:
    def render(registered: Location) -> StoredResponse:
        return answer(200, presenters.location_response(registered))

    registered = service.locations.register(request.to_location(location), keys.remember(render))
    return keys.respond(registered, render)


@router.get(
    "/locations",
    operation_id="listLocations",
    summary="The location network",
    description=(
        "Every registered location, and every location stock was written to without being "
        "registered (registered: false): those are never allocated."
    ),
    tags=TAGS,
    responses={200: documented("Every location", LocationListResponse), **ERRORS},
)
def list_locations(service: Service) -> LocationListResponse:
    return LocationListResponse(
        locations=[presenters.location_response(x) for x in service.locations.listing()]
    )


@router.get(
    ONE,
    operation_id="getLocation",
    summary="One location",
    description="As registered, or registered: false when only stock was seen there.",
    tags=TAGS,
    responses={200: documented("The location", LocationResponse), **ERRORS},
)
def get_location(location: IdentifierPath, service: Service) -> LocationResponse:
    return presenters.location_response(service.locations.get(location))


@router.post(
    "/availability",
    operation_id="getAvailability",
    summary="What a storefront may sell",
    description=(
        "Per sku, what is available to a country (locations that ship there), a site or a "
        "pickup location, summed over the registered, active locations eligible, with each "
        "of them. A read: it takes no Idempotency-Key."
    ),
    tags=TAGS,
    responses={200: documented("Availability per sku", AvailabilityResponse), **BODY_ERRORS},
)
def get_availability(request: AvailabilityRequest, service: Service) -> AvailabilityResponse:
    request.check()
    field = "body.site" if request.site is not None else "body.pickupAt"
    target = service.locations.target(
        country=request.country, site=request.site, pickup=request.pickupAt, field=field
    )
    return presenters.availability_response(service.locations.availability(request.skus, target))
