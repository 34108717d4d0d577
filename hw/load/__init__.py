from .load import Load

__all__ = ["Load"]
