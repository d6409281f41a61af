"""The views of `auth`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrelease.output.views import Note, View, presents

if TYPE_CHECKING:
    from mlrelease.results.auth import AuthResult


@presents
def _present_auth(result: AuthResult) -> View:
    expires = "" if result.expires_in_s is None else f"; the token is valid {result.expires_in_s} s"
    project = f"project {result.project}" if result.project else "no project configured"
    return View(
        data=(result.identity or result.kind,),
        notes=(Note(f"Authenticated with {result.description}{expires} ({project})", "success"),),
    )
