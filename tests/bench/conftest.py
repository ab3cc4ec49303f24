"""A tiny corpus of invented prose for the corruption tests, written for them and used nowhere else."""

from __future__ import annotations

from pathlib import Path

import pytest

DOCUMENTS = {
    "tower.txt": [
        "The Eiffel Tower stands on the Champ de Mars in Paris. Gustave Eiffel's company built it between 1887 "
        "and 1889 for the World's Fair. The tower is 330 metres tall and weighs about 7,300 tonnes. Its design "
        "was criticised by many artists of the time. Today it is the most visited paid monument in the world.",
        "The river Seine flows through Paris for 13 kilometres. It is 777 kilometres long in total and reaches "
        "the sea at Le Havre. In 1991 the banks of the river in Paris were listed by UNESCO. Boats carry "
        "approximately 7,000,000 visitors along the river each year.",
    ],
    "moon.txt": [
        "Apollo 11 was the first crewed mission to land on the Moon. Neil Armstrong and Buzz Aldrin landed on "
        "July 20, 1969, while Michael Collins stayed in orbit. The crew spent about 21 hours on the lunar "
        "surface. They did not bring back any living organisms, and they returned to Earth on July 24.",
        "The Saturn V rocket was 110 metres tall and had three stages. It was built by Boeing, North American "
        "Aviation and Douglas Aircraft. The rocket could lift 140,000 kilograms into low orbit. NASA launched "
        "it 13 times from the Kennedy Space Center in Florida between 1967 and 1973.",
    ],
    "algae.txt": [
        "Algae are a diverse group of organisms that can perform photosynthesis. Most species live in water, "
        "but some grow on soil or on the bark of trees. Scientists have described about 72,500 species, and "
        "estimates of the true number reach 1,000,000. Seaweeds such as kelp can grow 50 centimetres in a "
        "single day.",
        "Charles Darwin studied algae during his voyage on the Beagle in 1832. He collected samples near the "
        "coast of Brazil and sent them to London. Botanists in Germany classified the red algae into more than "
        "20 orders. The classification was not finished until 1910, when Friedrich Schmitz published a final key.",
    ],
}


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """Write the tiny corpus, one paragraph per block, with a heading and code that must be skipped."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, paragraphs in DOCUMENTS.items():
        blocks = ["# A heading", *paragraphs, "    x = compute(1, 2)  # code, not prose"]
        (folder / name).write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return folder
