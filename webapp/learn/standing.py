"""Where a visitor's percentage falls among the other faces of the movie: context for the
result that needs no visitor data (only the validated not-target crops' percents that
training keeps in a version's report). Light: the public page uses it for shared links
without loading the model's libraries."""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Below this many validated faces of others, "more like X than N% of them" says more about
# chance than about the visitor: no comparison is shown.
MIN_OTHER_FACES = 5


@dataclass(frozen=True)
class Standing:
    """Where a percentage falls among the other faces of the movie a version was checked on."""

    below: int  # how many of those faces score lower
    count: int  # how many there are

    @property
    def share_below(self) -> int:
        """The percentage of them that score lower, rounded down (never overstated)."""
        return 100 * self.below // self.count


def standing(metadata: Mapping[str, Any], percent: float) -> Standing | None:
    """Where ``percent`` falls among the validated not-target crops of a version (its
    report's ``other_faces``); None for a version trained before they were kept, or with
    too few of them."""
    others = ((metadata.get("report") or {}).get("other_faces") or {}).get("percents") or []
    if len(others) < MIN_OTHER_FACES:
        return None
    return Standing(bisect.bisect_left(sorted(others), percent), len(others))
