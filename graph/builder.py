"""The rephrasing graph: chunk → select styles → rewrite → stitch → verify, looping back on failure."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from polyphrase.graph.context import Context
from polyphrase.graph.routing import route_after_chunk, route_after_verify
from polyphrase.graph.state import InputState, OutputState, State
from polyphrase.nodes.chunk import chunk_document
from polyphrase.nodes.finalize import finalize_results
from polyphrase.nodes.rewrite import rewrite_chunks
from polyphrase.nodes.select_styles import select_styles
from polyphrase.nodes.stitch import stitch_chunks
from polyphrase.nodes.verify import verify_rewrites


def build_graph(**compile_options) -> CompiledStateGraph:
    """Build and compile the graph; `compile_options` go to `StateGraph.compile` (checkpointer, name, ...).

    Invoke it with `context=Context(...)`. Each rewrite round takes three
    steps, so pass a `recursion_limit` of at least `recursion_limit_for(max_attempts)`.
    """
    builder = StateGraph(State, context_schema=Context, input_schema=InputState, output_schema=OutputState)
    builder.add_node("chunk", chunk_document)
    builder.add_node("select_styles", select_styles)
    builder.add_node("rewrite", rewrite_chunks)
    builder.add_node("stitch", stitch_chunks)
    builder.add_node("verify", verify_rewrites)
    builder.add_node("finalize", finalize_results)

    builder.add_edge(START, "chunk")
    builder.add_conditional_edges("chunk", route_after_chunk)
    builder.add_edge("select_styles", "rewrite")
    builder.add_edge("rewrite", "stitch")
    builder.add_edge("stitch", "verify")
    builder.add_conditional_edges("verify", route_after_verify)
    builder.add_edge("finalize", END)

    compile_options.setdefault("name", "polyphrase")
    return builder.compile(**compile_options)


def recursion_limit_for(max_attempts: int) -> int:
    """Return a recursion limit that lets every attempt run: 3 steps per round plus the fixed steps."""
    return 3 * max_attempts + 8
