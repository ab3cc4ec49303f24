"""A content-addressed disk cache for LLM responses."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import diskcache


def cache_key(**parts: Any) -> str:
    """Hash every part that changes an LLM answer into one hex key.

    Parts are serialised as canonical JSON (sorted keys), so the same model,
    messages, parameters, schema and prompt version always give the same key.
    """
    payload = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class ResponseCache:
    """JSON responses stored on disk by `cache_key`, with hit and miss counts."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._store = diskcache.Cache(str(self.directory))
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> dict[str, Any] | None:
        value = self._store.get(key)
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        return json.loads(value)

    def set(self, key: str, value: dict[str, Any]) -> None:
        self._store.set(key, json.dumps(value, ensure_ascii=False))

    def close(self) -> None:
        self._store.close()
