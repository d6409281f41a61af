"""A build's log as Cloud Build keeps it: `log-ID.txt` in the logs bucket, rewritten as it grows
(a Cloud Storage object cannot be appended to), so that ranged reads see new bytes arrive; the
last write lands before the build is marked finished, as gcloud's log tailer relies on."""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.cloud import storage

FLUSH_INTERVAL_S = 0.5


class BuildLog:
    """Lines in, the log object out: at most every FLUSH_INTERVAL_S, and at `close()`. With no
    `client` (a logging mode that keeps logs out of Cloud Storage) the text stays here only."""

    def __init__(self, client: storage.Client | None, bucket: str, name: str) -> None:
        self._blob = client.bucket(bucket).blob(name) if client is not None else None
        self._text = bytearray()
        self._written = 0
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._flusher = threading.Thread(target=self._flush_regularly, daemon=True)
        self._flusher.start()

    @property
    def text(self) -> str:
        with self._lock:
            return self._text.decode(errors="replace")

    def line(self, text: str = "") -> None:
        """Appends one line (the newline is added)."""
        with self._lock:
            self._text += f"{text}\n".encode()

    def close(self) -> None:
        """The last write; returns once the object holds the whole log."""
        self._closed.set()
        self._flusher.join(timeout=30)
        self._flush()

    def _flush_regularly(self) -> None:
        while not self._closed.wait(FLUSH_INTERVAL_S):
            # A failed write is retried by the next one: the object is rewritten whole.
            with contextlib.suppress(Exception):
                self._flush()

    def _flush(self) -> None:
        with self._lock:
            if self._blob is None or len(self._text) == self._written:
                return
            content = bytes(self._text)
        self._blob.upload_from_string(content, content_type="text/plain; charset=utf-8")
        self._written = len(content)
