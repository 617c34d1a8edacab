"""Latency accounting: HdrHistogram in microseconds, summarised in milliseconds.

A histogram keeps every sample's magnitude (3 significant digits up to two minutes), so
the p99 and the max are the real ones, not an average of averages.
"""

from __future__ import annotations

from hdrh.histogram import HdrHistogram

_HIGHEST_US = 120_000_000


class Latency:
    def __init__(self) -> None:
        self.histogram = HdrHistogram(1, _HIGHEST_US, 3)

    def record_ns(self, nanoseconds: int) -> None:
        self.histogram.record_value(min(max(nanoseconds // 1000, 1), _HIGHEST_US))

    @property
    def count(self) -> int:
        return self.histogram.get_total_count()

    def summary(self) -> dict[str, float | int | None]:
        """Count and p50/p90/p99/p99.9/max/mean in milliseconds (None when empty)."""
        h = self.histogram
        count = h.get_total_count()
        if not count:
            return {"count": 0, "p50": None, "p90": None, "p99": None, "p999": None,
                    "max": None, "mean": None}

        def ms(value: float) -> float:
            return round(value / 1000, 3)

        return {
            "count": count,
            "p50": ms(h.get_value_at_percentile(50)),
            "p90": ms(h.get_value_at_percentile(90)),
            "p99": ms(h.get_value_at_percentile(99)),
            "p999": ms(h.get_value_at_percentile(99.9)),
            "max": ms(h.get_max_value()),
            "mean": ms(h.get_mean_value()),
        }
