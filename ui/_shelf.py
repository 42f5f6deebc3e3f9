"""A bounded, thread-safe LRU of heavy objects shared by all sessions (held by st.cache_resource).

A plain @st.cache_resource on a training or explaining function cannot be used: the work draws live progress into
the page, and Streamlit would try to replay those elements on every cache hit. Objects on a shelf are read-only.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import streamlit as st


class ModelShelf:
    def __init__(self, max_entries: int = 32):
        self.max_entries, self.items, self.lock = max_entries, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.max_entries:
                self.items.popitem(last=False)

    def get_or_make(self, key, make):
        """The object under `key`, made by `make()` (and shelved) when absent; None results are not shelved."""
        value = self.get(key)
        if value is None:
            value = make()
            if value is not None:
                self.put(key, value)
        return value


@st.cache_resource(max_entries=8)
def shelf(name: str, max_entries: int = 32) -> ModelShelf:
    """The process-wide shelf called `name` (one per feature: models, recommenders, explanations)."""
    return ModelShelf(max_entries)
