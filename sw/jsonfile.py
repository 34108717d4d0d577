"""Reading a JSON file the project wrote (a saved program, a sweep's results, a trace), with one-line
errors that name the file and the problem."""

from __future__ import annotations

import json
import os

__all__ = ["read_json"]


def read_json(path: str | os.PathLike, error: type[Exception] = ValueError, what: str = "the file"):
    """The JSON value in the file ``path``.

    Raises
    ------
    error
        ``"PATH: cannot read WHAT: REASON"`` if the file cannot be read, ``"PATH: invalid JSON at line
        N: REASON"`` if it is not JSON.
    """
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise error(f"{path}: cannot read {what}: {e.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        detail = f"at line {e.lineno}: {e.msg}" if isinstance(e, json.JSONDecodeError) else f"({e.reason})"
        raise error(f"{path}: invalid JSON {detail}") from None
