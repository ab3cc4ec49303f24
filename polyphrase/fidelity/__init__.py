"""Fidelity guards that need no model: numbers, names and copied text."""

from polyphrase.fidelity.entities import EntityCheck, check_entities, extract_entities
from polyphrase.fidelity.numbers import NumberCheck, Quantity, check_numbers, extract_quantities
from polyphrase.fidelity.overlap import CopyCheck, check_copy, ngram_overlap, pairwise_overlap

__all__ = [
    "CopyCheck",
    "EntityCheck",
    "NumberCheck",
    "Quantity",
    "check_copy",
    "check_entities",
    "check_numbers",
    "extract_entities",
    "extract_quantities",
    "ngram_overlap",
    "pairwise_overlap",
]
