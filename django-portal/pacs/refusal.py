"""Pure: the image gateway's answer when it will not serve a request."""

from __future__ import annotations


class Refused(Exception):  # noqa: N818 - it is an answer, not a failure
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
