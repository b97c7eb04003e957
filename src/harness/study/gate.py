"""The CI gate (`--fail-on`): which decisions make a study session exit non-zero. A team runs a small crash
hunt of its own recipe in CI and wants a red build when the recipe is decided unstable; by default a crashed run
stays a recorded result. Pure: summaries in, the failing decisions out."""

from __future__ import annotations

from .group_sequential import MORE


def _crashy(summaries: dict) -> list[str]:
    hunt = summaries.get("crash_hunt") or {}
    return [f"depth {d['depth']}" + (f" ({d['arm']})" if d.get("arm") else "") + " decided crashy"
            for d in hunt.get("depths", []) if (d.get("decision") or {}).get("decision") == "crashy"]


def _worse(summaries: dict) -> list[str]:
    shootout = summaries.get("shootout") or {}
    return [f"{c['a']} decided to crash more than {c['b']}" for c in shootout.get("comparisons", [])
            if c.get("decision") == MORE]


# The gates by name: the registry and the list of valid --fail-on values.
GATES = {"crashy": _crashy, "worse": _worse}


def gate_failures(summaries: dict, gates: list[str]) -> list[str]:
    """The decisions that fail the session under the gates asked for (none asked: none fail)."""
    return [failure for gate in gates for failure in GATES[gate](summaries)]
