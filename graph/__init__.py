"""The rephrasing graph, for use on its own or as a node or subgraph of another LangGraph app.

Names are imported lazily because the node modules import `polyphrase.graph.context`
and `polyphrase.graph.state`; an eager import of the builder here would be circular.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "build_graph": "polyphrase.graph.builder",
    "recursion_limit_for": "polyphrase.graph.builder",
    "Context": "polyphrase.graph.context",
    "InputState": "polyphrase.graph.state",
    "OutputState": "polyphrase.graph.state",
    "State": "polyphrase.graph.state",
    "StyleResult": "polyphrase.graph.state",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'polyphrase.graph' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
