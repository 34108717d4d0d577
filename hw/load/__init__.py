from .load import Load, LOAD_COUNTERS

__all__ = ["Load", "LOAD_COUNTERS"]
