"""The views of `version` and `bump`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrelease.output.views import Note, View, presents

if TYPE_CHECKING:
    from mlrelease.results.versions import BumpResult, VersionInfo


@presents
def _present_version(result: VersionInfo) -> View:
    notes: list[Note] = []
    if result.commit is None:
        notes.append(Note("the repository has no commits yet"))
    elif result.tag is None:
        notes.append(Note(f"no version tags yet; HEAD is {result.commit[:7]}"))
    elif result.at_head:
        notes.append(Note(f"HEAD {result.commit[:7]} is at {result.tag}"))
    else:
        notes.append(Note(f"HEAD {result.commit[:7]} is not at {result.tag}"))
    if result.ignored_tags:
        ignored = ", ".join(result.ignored_tags)
        notes.append(Note(f"ignored tags that are not v+semver: {ignored}", "detail"))
    return View(data=(result.version,), notes=tuple(notes))


@presents
def _present_bump(result: BumpResult) -> View:
    short = result.commit[:7]
    if result.dry_run:
        notes = [
            Note(
                f"dry run: would tag {result.tag} at {short} (previous {result.previous}) "
                f"with message {result.message!r}"
            )
        ]
        if result.remote:
            notes.append(Note(f"dry run: would push {result.tag} to {result.remote}"))
        notes.append(Note("dry run: nothing was changed"))
    else:
        notes = [Note(f"Tagged {result.tag} at {short} (previous {result.previous})", "success")]
        if result.pushed:
            notes.append(Note(f"Pushed {result.tag} to {result.remote}", "success"))
    notes.append(Note(f"tag message: {result.message!r}", "detail"))
    return View(data=(result.version,), notes=tuple(notes))
