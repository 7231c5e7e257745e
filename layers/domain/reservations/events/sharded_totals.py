"""The totals of sharded stock records, for the events that tell them (docs/architecture.md,
"Sharded stock").

A sharded record's available is the sum of its buckets, and no single item's stream image
shows it. So the relay reads the total of each sharded record a batch touched, once per
batch, fills it into the record's ``stock.changed``, and tells ``stock.low`` /
``stock.negative`` when the total is below the threshold or zero and the record's alerts
item (store/stock_alerts.py) has not recorded that crossing yet.
"""

from __future__ import annotations

from collections.abc import Callable

from ..records import StockLevel
from ..store.stock_alerts import Marker, StockAlerts
from .derive import STOCK_LOW, STOCK_NEGATIVE, Event, event_id, stock_detail

Key = tuple[str, str]
THRESHOLDS = {STOCK_LOW: "low", STOCK_NEGATIVE: "negative"}


def below(level: StockLevel) -> dict[str, bool]:
    """Whether the total is below each threshold, by detail type."""
    threshold = level.low_stock_threshold
    return {
        STOCK_LOW: threshold is not None and level.available < threshold,
        STOCK_NEGATIVE: level.available < 0,
    }


class ShardedTotals:
    def __init__(self, level: Callable[[str, str], StockLevel | None], alerts: StockAlerts) -> None:
        self._level = level  # a consistent read of the record, its buckets summed
        self._alerts = alerts

    def level(self, key: Key) -> StockLevel | None:
        return self._level(*key)

    def crossings(self, key: Key, stream_event_id: str, at: int) -> list[Event]:
        """The crossings to tell now: new ones (recorded first, so that of two batches that
        see one, one records it) and recorded ones not told yet (a redelivery, or another
        batch's that failed to get out), each under the id it was recorded with. The
        markers are read before the total, so a marker cleared here was set on a total
        older than the one that clears it."""
        markers = self._alerts.read(*key)
        level = self._level(*key)
        if level is None:
            return []
        found = []
        for detail_type, is_below in below(level).items():
            name = THRESHOLDS[detail_type]
            marker = markers.get(name)
            if marker is None and is_below:
                new_id = event_id(stream_event_id, detail_type)
                if not self._alerts.mark(level.sku, level.location, name, new_id):
                    continue  # another batch recorded it just now, and tells it
                marker = Marker(new_id, told=False)
            if marker is None:
                continue
            if not marker.told:  # told even if above again by now: it did cross
                detail = {"eventId": marker.event_id, **stock_detail(level, None, at)}
                found.append(Event(detail_type, detail, at or level.updated_at))
            elif not is_below:  # above again and told: the next crossing is a new one
                self._alerts.clear(level.sku, level.location, name, marker.event_id)
        return found

    def told(self, event: Event) -> None:
        """The crossing is out: later evaluations do not tell it again."""
        sku, location = event.detail["sku"], event.detail["location"]
        self._alerts.told(sku, location, THRESHOLDS[event.detail_type], event.id)
