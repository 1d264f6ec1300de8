"""The search engine's score arithmetic (search/engine.py)."""

from __future__ import annotations

import math


def test_filter_constants_added_without_rounding_steps_give_the_stepwise_float32_sum() -> None:
    """_plus_ones skips the float32 rounding steps while the sum stays in the binade of the OR
    score (exact); it must equal adding 1.0 and rounding to float32 one step at a time,
    including sums that cross a binade (e.g. 3.9999998 + 2) and ties to even."""
    import random
    import struct

    from tongxin.search.engine import _plus_ones, _plus_ones_stepwise

    def f32(x: float) -> float:
        return struct.unpack("<f", struct.pack("<f", x))[0]  # type: ignore[no-any-return]

    r = random.Random(7)
    values = [f32(r.uniform(2.0, 400.0)) for _ in range(20_000)]
    for e in range(1, 10):  # just below and at every power of two
        edge = 2.0 ** e
        for k in range(1, 64):
            values.append(f32(edge - k * 2.0 ** (e - 24)))
            values.append(f32(edge + k * 2.0 ** (e - 23)))
        values += [f32(edge - c) for c in (0.5, 1.0, 1.5, 2.0, 3.0)]
    crossed = 0
    for x in values:
        if x < 2.0:
            continue
        for n in range(0, 5):
            assert _plus_ones(x, n) == _plus_ones_stepwise(x, n), (x, n)
            crossed += math.frexp(x + n)[1] != math.frexp(x)[1]
    assert crossed > 100  # the rounding branch was exercised
