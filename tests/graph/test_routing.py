from polyphrase.graph.routing import route_after_chunk, route_after_verify
from polyphrase.graph.state import StyleTrack


def _state_with_pending(*pending: list[int]) -> dict:
    tracks = {}
    for number, indices in enumerate(pending):
        track = StyleTrack.start(f"style{number}", 3)
        track.pending = indices
        tracks[track.style] = track
    return {"tracks": tracks}


def test_route_after_verify_retries_pending():
    assert route_after_verify(_state_with_pending([], [2])) == "rewrite"


def test_route_after_verify_finishes_when_nothing_pending():
    assert route_after_verify(_state_with_pending([], [])) == "finalize"


def test_route_after_chunk_ends_empty_document():
    assert route_after_chunk({"chunks": []}) == "__end__"


def test_route_after_chunk_continues():
    assert route_after_chunk({"chunks": ["text"]}) == "select_styles"
