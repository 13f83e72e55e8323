"""The benchmark's caveat says what load the run met (bench/measure.py `caveat`), not a fixed text."""

from __future__ import annotations

from bench.measure import CpuSample, caveat


def test_a_quiet_run_says_so_with_its_shares() -> None:
    text, figures = caveat(CpuSample(100.0, 10.0, 5.0, 0.0), CpuSample(160.0, 60.0, 12.0, 40.0), cores=2)
    assert figures == {"machine_busy_share": 0.75, "benchmark_and_redis_share": 0.713, "other_load_share": 0.037,
                       "seconds": 40.0}
    assert "busy 75%" in text and "other processes 4%" in text and "light" in text


def test_a_run_beside_other_work_is_marked_a_lower_bound() -> None:
    text, figures = caveat(CpuSample(0.0, 0.0, 0.0, 0.0), CpuSample(70.0, 30.0, 2.0, 40.0), cores=2)
    assert figures["other_load_share"] == 0.475
    assert "lower bound" in text and "other processes 48%" in text
