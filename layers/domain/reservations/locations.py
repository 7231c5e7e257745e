"""The location network: registering locations, reading them (cached per execution
environment), and what a storefront may sell to a country, a site or a pickup location
(docs/architecture.md, "Locations and allocation")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from . import allocation
from .allocation import Target
from .clock import Clock
from .errors import InvalidRequest, NotFound
from .idempotency import Remember
from .records import Location
from .store import Store
from .store.retry import RetryPolicy, with_retries


class Locations:
    def __init__(
        self, store: Store, clock: Clock, cache_seconds: int, retry: RetryPolicy | None = None
    ) -> None:
        self._locations = store.locations
        self._stock = store.stock
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._retry = retry or RetryPolicy()
        self._cached: tuple[float, list[Location]] | None = None
        # Locations this environment knows the network lists (registered or seen): stock
        # written there needs no note. Items are never deleted, so this never goes stale.
        self._listed: set[str] = set()

    # --- the network ---------------------------------------------------------------------

    def network(self) -> list[Location]:
        """Every location, as read at most ``cache_seconds`` ago by this environment: a
        registration made elsewhere takes effect here within that time."""
        now = self._clock.now()
        if self._cached is None or now - self._cached[0] >= self._cache_seconds:
            self._remember(self._locations.list())
        assert self._cached is not None
        return self._cached[1]

    def listing(self) -> list[Location]:
        """Every location as it is now (GET /locations): read afresh, and cached."""
        return self._remember(self._locations.list())

    def _remember(self, found: list[Location]) -> list[Location]:
        self._cached = (self._clock.now(), found)
        self._listed.update(loc.location for loc in found)
        return found

    def get(self, location: str) -> Location:
        found = self._locations.get(location)
        if found is None:
            raise NotFound(f"location {location!r} is neither registered nor holds stock")
        return found

    def register(self, location: Location, remember: Remember[Location] | None = None) -> Location:
        """Write a registration whole. This environment sees it at once; the others within
        their cache time."""
        now = int(self._clock.now())
        # A location ships to its own country unless told otherwise.
        ships_to = location.ships_to or ((location.country,) if location.country else ())
        registered = replace(location, registered=True, ships_to=ships_to, updated_at=now)
        remembered = None if remember is None else remember.item(registered, now)
        with_retries(
            lambda token: self._locations.register(registered, token=token, remembered=remembered),
            self._retry,
        )
        if remember is not None:
            remember.written = True
        self._cached = None
        self._listed.add(location.location)
        return registered

    def note_stock_at(self, location: str) -> None:
        """Stock is about to be written at ``location``: make sure the network lists it, as
        unregistered if nobody registered it. At most one write per location and
        environment; none for a location the cached network already lists."""
        if location in self._listed:
            return
        self._locations.note_stock(location, int(self._clock.now()))
        self._listed.add(location)

    # --- targets and availability --------------------------------------------------------

    def target(
        self,
        *,
        country: str | None = None,
        site: str | None = None,
        pickup: str | None = None,
        field: str = "body",
    ) -> Target:
        """Where lines are to be served from. An unknown site, or a pickup location that is
        not a registered, active pickup location, is a 400 naming ``field``."""
        network = self.network()
        if pickup is not None:
            found = next((loc for loc in network if loc.location == pickup), None)
            if found is None or not (found.allocatable and found.pickup):
                raise InvalidRequest(
                    field, f"{pickup!r} is not a registered, active location with pickup: true"
                )
            return Target(pickup=pickup)
        if site is not None:
            if not any(loc.registered and loc.site == site for loc in network):
                raise InvalidRequest(field, f"no registered location belongs to site {site!r}")
            return Target(site=site)
        return Target(country=country)

    def availability(
        self, skus: Sequence[str], target: Target
    ) -> list[tuple[str, int, tuple[tuple[str, int], ...]]]:
        """Per sku, what the target's eligible locations have, in all and each: one
        BatchGetItem per 100 stock records (eventually consistent: a storefront's view)."""
        candidates = allocation.eligible(self.network(), target)
        counts = self._stock.get_counts(
            [(sku, loc.location) for sku in skus for loc in candidates], consistent=False
        )
        available = {key: count.available for key, count in counts.items()}
        return allocation.availability(skus, candidates, available)
