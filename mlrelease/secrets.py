"""Masking secrets in text: the one function every line mlrelease writes passes through.

`redact` masks, wherever they appear in a text:

- credentials in URLs (`https://user:token@host`, `tcp://user:pw@host:1`) and in bare
  `user:password@host` forms;
- bearer and access tokens (`Bearer x`, Google `ya29.` tokens, `access_token` values);
- PEM private-key blocks and JSON `"private_key"` values;
- every value registered with `register_secret` (the configured `gcp_sa_key`, and whatever
  credentials or tokens later code obtains at run time).

`render.Output` applies it to every message, hint, note, data line, JSON field and file it
writes, so a secret that reaches an exception message still never reaches the user.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

MASK = "********"

# A secret shorter than this is too likely to occur in ordinary text to be masked everywhere.
_MIN_SECRET_LENGTH = 6

# (substrings of which a text must hold one, case-folded, for the pattern to match at all;
# the pattern; its flags; the replacement). A text without any skips the pattern, and a pattern
# is compiled the first time a text needs it: most lines need none, and start-up pays nothing.
_RULES: tuple[tuple[tuple[str, ...], str, int, str], ...] = (
    (
        ("private key-----",),
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
        re.DOTALL,
        MASK,
    ),
    # "private_key": "..." in JSON, escaped quotes included.
    (('"private_key"',), r'("private_key"\s*:\s*")(?:[^"\\]|\\.)*(")?', 0, rf"\g<1>{MASK}\g<2>"),
    (("://",), r"(?<=://)[^/?#@\s]*@", 0, f"{MASK}@"),
    # user:password@host without a scheme (a registry host, an scp-like remote); not an IAM
    # member such as serviceAccount:ci@p.iam.gserviceaccount.com, which a fix must show.
    (
        ("@",),
        r"(?<![\w/:.@-])(?!(?:serviceAccount|group|principal|principalSet):)"
        r"[\w.%+-]+:[^/\s@]+@(?=[\w\[])(?!sha\d+:)",
        0,
        f"{MASK}@",
    ),
    # A URL query parameter whose name says it is a credential (?token=..., &X-Amz-Signature=).
    (
        ("=",),
        r"(?i)([?&][^=&\s#]*(?:token|key|secret|passw|sig|auth)[^=&\s#]*=)[^&\s#]+",
        0,
        rf"\g<1>{MASK}",
    ),
    (("bearer", "basic"), r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+", 0, rf"\g<1> {MASK}"),
    (("ya29.",), r"\bya29\.[A-Za-z0-9._-]+", 0, MASK),
    (
        ("_token", "client_secret", "passw"),
        r"(?i)((?:access|refresh|id)_token|client_secret|password|passwd)"
        r"(\"?\s*[:=]\s*\"?)[^\s\",&}]+",
        0,
        rf"\g<1>\g<2>{MASK}",
    ),
)
_compiled: dict[int, re.Pattern[str]] = {}


class Secret:
    """A secret string: masked in str() and repr(); `reveal()` is the one way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one call that needs it; never log or print it."""
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"


_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Mask `value` from now on wherever it appears, with the forms it takes when escaped.

    A JSON value (a service-account key) also registers its `private_key`, its
    `private_key_id` and any token fields, so a message quoting one of them is masked too.
    """
    import json  # only where a secret is registered: most commands never need it

    candidates = {value, value.strip()}
    candidates.add(json.dumps(value)[1:-1])  # as it appears inside a JSON string
    candidates.add(repr(value)[1:-1])  # as it appears in a repr
    try:
        document = json.loads(value)
    except ValueError:
        document = None
    if isinstance(document, dict):
        for key in ("private_key", "private_key_id", "client_secret", "refresh_token"):
            field = document.get(key)
            if isinstance(field, str):
                candidates.update({field, field.strip(), json.dumps(field)[1:-1]})
    with _lock:
        _secrets.update(c for c in candidates if len(c) >= _MIN_SECRET_LENGTH)


def forget_secrets() -> None:
    """Drop every registered value."""
    with _lock:
        _secrets.clear()


@contextmanager
def registered_for_the_command() -> Iterator[None]:
    """The secrets registered while the block runs are forgotten when it ends: one command's
    secrets never outlive it, also where several commands run in one process."""
    try:
        yield
    finally:
        forget_secrets()


def redact(text: str) -> str:
    """`text` with URL credentials, tokens, private keys and registered secrets masked."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)  # longest first: no partial leftovers
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    # Case-folded as (?i) matches; a mask only replaces, so it makes no needle appear.
    folded = text.casefold()
    for index, (needles, pattern, flags, replacement) in enumerate(_RULES):
        if any(needle in folded for needle in needles):
            if index not in _compiled:
                _compiled[index] = re.compile(pattern, flags)
            text = _compiled[index].sub(replacement, text)
    return text


def redact_data(value: object) -> object:
    """`redact` applied to every string in a JSON-shaped value (dicts, lists, scalars)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(item) for item in value]
    return value
