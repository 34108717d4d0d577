from .store import Store, STORE_COUNTERS

__all__ = ["Store", "STORE_COUNTERS"]
