"""The model on this machine's parameters, next to the measured run at the same client
concurrency: if it predicts what the proxy and DynamoDB Local did here, its rules and
its retry loop are trusted with AWS's figures."""

from __future__ import annotations

from dataclasses import dataclass

from local.contention.rules import Limits

from .measured import HOT_SECONDS, UNCONTENDED_SECONDS, Measurement
from .parameters import LocalTiming, Scenario
from .simulation import Result, simulate

# The measured phases start with every client sending at once; the model's clients do
# too, so only a short warm-up is left out of its figures.
MODEL_WARM_UP = 0.5


@dataclass(frozen=True, slots=True)
class Comparison:
    measurement: Measurement
    stretch: float  # DynamoDB Local's wall seconds per CPU second (see compare)
    uncontended: Result  # the model with conflicts off, stretched: matches by design
    hot: Result  # the prediction under test

    def rows(self) -> list[tuple[str, float, float]]:
        """(figure, measured, model) for the table."""
        m, hot = self.measurement, self.hot
        return [
            ("uncontended reserves/s", m.uncontended.rate, self.uncontended.rate),
            ("hot sku: granted holds/s", m.hot.rate, hot.rate),
            ("hot sku: TransactionConflict rate", m.conflict_rate, hot.conflict_rate),
            ("hot sku: p50 of granted", m.hot.percentile(0.5), hot.latency(0.5)),
            ("hot sku: p99 of granted", m.hot.percentile(0.99), hot.p99),
            ("hot sku: gave up (CONTENTION) /s", m.hot.errors / m.hot.elapsed,
             hot.tally.gave_up / hot.window),
        ]  # fmt: skip

    @property
    def rate_ratio(self) -> float:
        """Model over measured, for the hot sku's granted holds/s."""
        measured = self.measurement.hot.rate
        return self.hot.rate / measured if measured else 0.0


def local_scenario(measurement: Measurement, *, contended: bool, stretch: float = 1.0) -> Scenario:
    timing = LocalTiming(
        reserve_seconds=measurement.reserve_seconds,
        attempt_seconds=measurement.attempt_seconds,
        refused_seconds=measurement.refused_seconds,
        engine_seconds=measurement.engine_seconds * stretch,
        proxy_latency=measurement.proxy_latency,
    )
    # The proxy's own rules, as it ran: conflicts, and 1,000 units a second with a
    # second's burst. With conflicts off and no limit, the same clients measure the
    # two serial servers alone (each measured client had a sku of its own).
    limits = Limits() if contended else Limits(conflicts=False, partition_wcu_per_second=None)
    return Scenario(
        buckets=measurement.buckets,
        clients=measurement.clients,
        duration=HOT_SECONDS if contended else UNCONTENDED_SECONDS,
        warm_up=MODEL_WARM_UP,
        limits=limits,
        timing=timing,
    )


def compare(measurement: Measurement) -> Comparison:
    """The model with the measured CPU costs, DynamoDB Local's stretched so that it
    reproduces the uncontended phase, whose rate the engine bounds (it runs one
    transaction at a time): on a shared 2-core machine it waits for a core as well as
    using one, and that wait does not depend on whether transactions contend. The hot
    phase, with the same stretch, is then a prediction."""
    plain = simulate(local_scenario(measurement, contended=False))
    measured = measurement.uncontended.rate
    stretch = plain.rate / measured if measured and plain.rate else 1.0
    stretch = max(1.0, stretch)  # a machine never gives more than a core per process
    return Comparison(
        measurement,
        stretch,
        simulate(local_scenario(measurement, contended=False, stretch=stretch)),
        simulate(local_scenario(measurement, contended=True, stretch=stretch)),
    )
