"""The record of what differs between the proactive services; birth.py and disability.py fill one in each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ServiceSpec:
    """What differs between the proactive services: texts, and how a decision reads."""

    name: str
    consent_message: str
    assigned_message: str
    # Builds the assigned SMS's placeholders from the backend's benefit lines.
    assigned_params: Callable[[list[dict[str, Any]]], dict[str, Any]]
    # The catalog phrase naming the benefit ("пособия по уходу"), for a refusal to say what was refused.
    benefit: str = ""
    # The assigned SMS for these placeholders when it differs (a birth with only the one-off benefit).
    assigned_variant: Callable[[dict[str, Any]], str] | None = None
    # The consent request for these subjects' IINs when it differs (twins are addressed as children).
    consent_variant: Callable[[list[str]], str] | None = None
    states: list[dict[str, Any]] = field(default_factory=list)
    transitions: list[dict[str, Any]] = field(default_factory=list)
