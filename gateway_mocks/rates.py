"""The benefit rate table (config/rates.toml): bases in tenge, multipliers, and the amount they give."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

_ROUNDING = {"up": ROUND_CEILING, "half_up": ROUND_HALF_UP}


class RatesError(ValueError):
    """The rate table is missing something or says something impossible."""


@dataclass(frozen=True)
class Rate:
    """One kind of benefit: which base it multiplies, how often it is paid, and by how much."""

    kind: str
    base: str
    period: str
    multipliers: tuple[Decimal, ...]  # by birth order (1st, 2nd, …); the last one for every later child

    def multiplier(self, birth_order: int) -> Decimal:
        return self.multipliers[min(birth_order, len(self.multipliers)) - 1]


@dataclass(frozen=True)
class Rates:
    """The whole table for one year, with where its numbers come from."""

    year: int
    source: str
    rounding: str
    bases: dict[str, int]
    kinds: dict[str, Rate]

    def amount(self, kind: str, birth_order: int = 1) -> int:
        """Whole tenge for one benefit of this kind (birth_order counts from 1; ignored when flat)."""
        if birth_order < 1:
            raise ValueError("birth_order counts from 1")
        rate = self.kinds.get(kind)
        if rate is None:
            raise KeyError(f"no rate for {kind!r}")
        exact = self.bases[rate.base] * rate.multiplier(birth_order)
        return int(exact.quantize(Decimal(1), rounding=_ROUNDING[self.rounding]))

    def period(self, kind: str) -> str:
        return self.kinds[kind].period


def load_rates(path: Path) -> Rates:
    """Read and check the rate table; RatesError says what is wrong with it."""
    with path.open("rb") as f:
        data = tomllib.load(f, parse_float=Decimal)
    try:
        bases = {name: int(value) for name, value in data["base"].items()}
        kinds = {kind: _rate(kind, spec, bases) for kind, spec in data["benefits"].items()}
        rates = Rates(int(data["year"]), str(data["source"]), str(data["rounding"]), bases, kinds)
    except (KeyError, TypeError, ValueError) as exc:
        raise RatesError(f"{path}: {exc!r}") from exc
    if rates.rounding not in _ROUNDING:
        raise RatesError(f"{path}: rounding must be one of {sorted(_ROUNDING)}")
    return rates


def _rate(kind: str, spec: dict[str, Any], bases: dict[str, int]) -> Rate:
    if spec["base"] not in bases:
        raise ValueError(f"{kind}: unknown base {spec['base']!r}")
    if spec["period"] not in ("one_off", "monthly"):
        raise ValueError(f"{kind}: period must be one_off or monthly")
    raw = spec["by_birth_order"] if "by_birth_order" in spec else [spec["multiplier"]]
    multipliers = tuple(Decimal(str(m)) for m in raw)
    if not multipliers or any(m <= 0 for m in multipliers):
        raise ValueError(f"{kind}: multipliers must be positive")
    return Rate(kind, spec["base"], spec["period"], multipliers)
