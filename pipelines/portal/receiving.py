"""Receiving a deposit form as a stream: the file part goes straight to a private file, never whole
into memory, and the upload stops as soon as it passes the size limit.

The form's small fields (the CSRF token, the source) come before the file in the page; they are
checked by `before_file` when the file part begins, so that a forged or foreign request is refused
before a byte of its file is written. A request whose declared length is already over the limit
is refused before its body is read.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

FIELD_BYTES = 4096  # a text field of the deposit form is short (a token, a source id)
MAX_FIELDS = 8
FORM_OVERHEAD = 64 * 1024  # multipart headers and the small fields, beyond the file itself


class Refused(Exception):
    """The request is refused with this HTTP status and this French message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class ReceivedFile:
    path: Path
    original_name: str
    size: int
    sha256: str


@dataclass
class ReceivedForm:
    fields: dict[str, str] = field(default_factory=dict)
    file: ReceivedFile | None = None


def too_large(limit: int) -> Refused:
    return Refused(
        413,
        f"Fichier trop volumineux : la limite est de {limit / 1024**2:.0f} Mo. Rien n'a été enregistré. "
        "Découpez le fichier ou contactez l'équipe données.",
    )


async def receive_form(
    request: Request,
    target: Path,
    limit: int,
    before_file: Callable[[dict[str, str]], None],
    file_field: str = "fichier",
) -> ReceivedForm:
    """Parse a multipart deposit form; the file part (field `file_field`) is written to `target`.
    Raises Refused (413 past `limit` bytes, 400 for a malformed form, or what `before_file` raises);
    `target` is removed whenever the form is refused."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise Refused(400, "Formulaire de dépôt attendu (multipart/form-data).")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise too_large(limit)

    form = ReceivedForm()
    state = _PartState()
    refusal: list[Refused] = []

    def on_part_begin() -> None:
        state.reset()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state.header_name += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state.header_value += data[start:end]

    def on_header_end() -> None:
        if state.header_name.lower() == b"content-disposition":
            state.disposition = state.header_value
        state.header_name, state.header_value = b"", b""

    def on_headers_finished() -> None:
        _, parameters = parse_options_header(state.disposition)
        state.name = parameters.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in parameters:
            if state.name != file_field or form.file is not None:
                raise Refused(400, "Un seul fichier par dépôt, dans le champ prévu.")
            before_file(form.fields)  # may refuse: nothing of the file is written then
            original = unescape_file_name(parameters[b"filename"].decode("utf-8", "replace"))
            state.handle = _create_private(target)
            form.file = ReceivedFile(target, original, 0, "")
        elif len(form.fields) >= MAX_FIELDS:
            raise Refused(400, "Formulaire de dépôt malformé (trop de champs).")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if state.handle is None:
            if len(state.value) + len(chunk) > FIELD_BYTES:
                raise Refused(400, "Formulaire de dépôt malformé (champ trop long).")
            state.value += chunk
            return
        form.file.size += len(chunk)
        if form.file.size > limit:
            raise too_large(limit)
        state.digest.update(chunk)
        state.handle.write(chunk)

    def on_part_end() -> None:
        if state.handle is not None:
            state.handle.flush()
            os.fsync(state.handle.fileno())
            state.handle.close()
            state.handle = None
            form.file.sha256 = state.digest.hexdigest()
        else:
            form.fields[state.name] = state.value.decode("utf-8", "replace")

    parser = MultipartParser(
        options[b"boundary"],
        {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except Refused as refused:
        refusal.append(refused)
    except Exception:  # the multipart library's own errors: a broken form
        refusal.append(Refused(400, "Formulaire de dépôt malformé : envoyez à nouveau le fichier depuis la page."))
    finally:
        if state.handle is not None:
            state.handle.close()
    if refusal:
        target.unlink(missing_ok=True)
        raise refusal[0]
    if form.file is not None and not form.file.sha256:  # the body ended inside the file part
        target.unlink(missing_ok=True)
        raise Refused(400, "Envoi interrompu avant la fin du fichier : déposez-le à nouveau.")
    return form


def unescape_file_name(name: str) -> str:
    """Browsers write a double quote and line breaks of a file name as %22, %0A and %0D (HTML's form
    encoding): the name the steward sees has them back (line breaks are then made safe like any other)."""
    for escaped, character in (("%22", '"'), ("%0A", "\n"), ("%0D", "\r")):
        name = name.replace(escaped, character).replace(escaped.lower(), character)
    return name


class _PartState:
    def __init__(self) -> None:
        self.reset()
        self.handle = None
        self.digest = hashlib.sha256()

    def reset(self) -> None:
        self.header_name = b""
        self.header_value = b""
        self.disposition = b""
        self.name = ""
        self.value = b""


def _create_private(path: Path):
    """A new file only the portal's user reads; never an existing one (nor a link)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    return os.fdopen(descriptor, "wb")
