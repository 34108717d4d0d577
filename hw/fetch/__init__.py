from .fetch import Fetch

__all__ = ["Fetch"]
