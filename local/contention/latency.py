"""Latency distributions for the proxy and the model, written as short specs:

    none                           no added latency
    constant:5ms                   always 5 ms
    uniform:2ms,10ms               evenly between
    exponential:mean=4ms
    lognormal:median=6ms,p99=20ms  a long right tail, as request latencies have

Times take ``ms`` or ``s``; a bare number is seconds.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from statistics import NormalDist

Z99 = NormalDist().inv_cdf(0.99)  # the standard normal's 99th percentile, 2.326


def seconds(text: str) -> float:
    text = text.strip()
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    return float(text.removesuffix("s"))


@dataclass(frozen=True, slots=True)
class Latency:
    kind: str = "none"
    first: float = 0.0  # constant: the value; uniform: low; exponential: mean; lognormal: median
    second: float = 0.0  # uniform: high; lognormal: p99

    @classmethod
    def parse(cls, spec: str) -> Latency:
        kind, _, rest = spec.strip().partition(":")
        parts = [part.strip() for part in rest.split(",") if part.strip()]
        values = dict(part.split("=", 1) for part in parts if "=" in part)
        args = [part.split("=", 1)[-1] for part in parts]
        if kind == "none":
            return cls()
        if kind == "constant" and len(args) == 1:
            return cls(kind, seconds(args[0]))
        if kind == "uniform" and len(args) == 2:
            low, high = sorted((seconds(args[0]), seconds(args[1])))
            return cls(kind, low, high)
        if kind == "exponential" and "mean" in values:
            return cls(kind, seconds(values["mean"]))
        if kind == "lognormal" and {"median", "p99"} <= values.keys():
            median, p99 = seconds(values["median"]), seconds(values["p99"])
            if not 0 < median <= p99:
                raise ValueError(f"lognormal needs 0 < median <= p99: {spec!r}")
            return cls(kind, median, p99)
        raise ValueError(f"not a latency spec: {spec!r} (see local.contention.latency)")

    def sample(self, rng: random.Random) -> float:
        if self.kind == "constant":
            return self.first
        if self.kind == "uniform":
            return rng.uniform(self.first, self.second)
        if self.kind == "exponential":
            return rng.expovariate(1 / self.first) if self.first > 0 else 0.0
        if self.kind == "lognormal":
            sigma = math.log(self.second / self.first) / Z99
            return rng.lognormvariate(math.log(self.first), sigma)
        return 0.0

    @property
    def mean(self) -> float:
        if self.kind in ("constant", "exponential"):
            return self.first
        if self.kind == "uniform":
            return (self.first + self.second) / 2
        if self.kind == "lognormal":
            sigma = math.log(self.second / self.first) / Z99
            return self.first * math.exp(sigma**2 / 2)
        return 0.0

    def __str__(self) -> str:
        def ms(value: float) -> str:
            return f"{value * 1000:g}ms"

        if self.kind == "constant":
            return f"constant:{ms(self.first)}"
        if self.kind == "uniform":
            return f"uniform:{ms(self.first)},{ms(self.second)}"
        if self.kind == "exponential":
            return f"exponential:mean={ms(self.first)}"
        if self.kind == "lognormal":
            return f"lognormal:median={ms(self.first)},p99={ms(self.second)}"
        return "none"
