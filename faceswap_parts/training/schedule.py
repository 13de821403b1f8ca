"""Looking up the v2.2 loss/LR phase of an iteration in the schedule data."""
from __future__ import annotations

from faceswap_parts.config import Phase


def phase_index(schedule: list[Phase], iteration: int, total: int) -> int:
    """Index of the phase in force at ``iteration`` of ``total`` (phase starts are fractions)."""
    fraction = iteration / max(total, 1)
    index = 0
    for i, phase in enumerate(schedule):
        if fraction >= phase.start:
            index = i
    return index


def swaps_before(schedule: list[Phase], index: int) -> int:
    """How many decoder swaps phases ``0..index`` perform (parity says whether swapped)."""
    return sum(p.swap_decoders for p in schedule[:index + 1])
