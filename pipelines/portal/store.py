"""The portal's own state, in settings.portal_dir: each verdict of each account, and the deposit into raw/.

    portail/depots/<account>/<id>/fiche.json          what the steward was told (verdict, problems,
                                                      comparison, impact) and, once confirmed, the deposit
    portail/depots/<account>/<id>/<source>/<name>     the file received, until it is deposited
    portail/depots/<account>/<id>/<source>/_rejets/   its report and annotated workbook

A verdict's files are reachable only through its account's folder: an identifier of another account
is not found. A confirmed file is written into raw/<source>/ atomically, under a safe name that keeps
the original one visible and never takes the name of a file already there, with its receipt in
raw/<source>/_depots/ (pipelines/validation/deposits.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import secrets
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.foundation.files import file_sha256, fsync, kind_of, write_atomically
from pipelines.validation.deposits import DepositReceipt, receipt_path, write_receipt
from pipelines.validation.uploads import scan_folder
from pipelines.warehouse.preview import Change

RECORD = "fiche.json"
IDENTIFIER = re.compile(r"[A-Za-z0-9_-]{16,64}")
NAME_STEM_CHARACTERS = 120
UNSAFE = set('<>:"/\\|?*')
LEADING = ".-_~$ "  # hidden files, Office lock files, our own folders: never how a deposit starts


@dataclass
class Deposit:
    """One file a steward sent, its verdict and, once confirmed, its deposit."""

    id: str
    account: str
    source_id: str
    original_name: str
    file_name: str  # the safe name (the one it keeps in raw/ unless that is taken)
    sha256: str
    size: int
    received_at: str
    verdict: str = ""  # "valide", "valide avec avertissements", "invalide"
    accepted: bool = False
    rows: int = 0
    period: str | None = None
    errors: int = 0
    warnings: int = 0
    problems: list[dict] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    guessed: bool = False  # the source was recognised from the headers
    comparison: dict | None = None  # with the account's previous file for this source
    preview: dict | None = None  # the impact on the published indicators
    reports: dict = field(default_factory=dict)  # {"texte": file name, "classeur": file name}
    verdict_seconds: float = 0.0
    stored_name: str | None = None  # in raw/<source>/, once confirmed
    deposited_at: str | None = None

    @property
    def confirmed(self) -> bool:
        return self.deposited_at is not None

    def changes(self) -> list[Change]:
        if not self.preview:
            return []
        return [_change(c) for c in self.preview.get("changes", [])]


def _change(data: dict) -> Change:
    return Change(
        **{
            **data,
            "period": dt.date.fromisoformat(data["period"]),
            "old": tuple(data["old"]) if data["old"] is not None else None,
            "new": tuple(data["new"]) if data["new"] is not None else None,
        }
    )


def change_data(change: Change) -> dict:
    data = dataclasses.asdict(change)
    data["period"] = change.period.isoformat()
    return data


def now() -> str:
    # to the microsecond: two files sent within the same second keep their order (the comparison with
    # the previous file depends on it)
    return dt.datetime.now().isoformat(timespec="microseconds")


def new_identifier() -> str:
    return secrets.token_urlsafe(18)


# --- names ------------------------------------------------------------------------------------------


def safe_name(original: str) -> str:
    """A name that is safe in raw/<source>/ and still reads as the steward's: its last path component,
    control characters and line breaks replaced, no leading dot or underscore (hidden or ours), no
    characters Windows refuses, a bounded length; 'depot' when nothing is left."""
    name = unicodedata.normalize("NFC", original or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(" " if (not c.isprintable() or c in UNSAFE) else c for c in name)
    name = " ".join(name.split()).lstrip(LEADING).rstrip(". ")
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem.strip(LEADING) or " " in suffix or len(suffix) > 8:
        stem, suffix = name, ""
    stem = stem.strip()[:NAME_STEM_CHARACTERS].rstrip(". ") or "depot"
    return f"{stem}.{suffix.lower()}" if suffix else stem


def numbered(name: str, number: int) -> str:
    """'2024-06 enquete.xlsx' -> '2024-06 enquete (2).xlsx' (the start of the name, which may give the
    period, is kept)."""
    if number == 1:
        return name
    stem, dot, suffix = name.rpartition(".")
    return f"{stem} ({number}).{suffix}" if dot else f"{name} ({number})"


def deposit_into(folder: Path, source_file: Path, name: str) -> str:
    """Write `source_file` into `folder` under `name` (numbered when taken), atomically and without ever
    replacing a file or a receipt already there; return the name used."""
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".portail.{os.getpid()}.{secrets.token_hex(6)}.tmp"  # ignored by the scan
    try:
        shutil.copyfile(source_file, temporary)
        fsync(temporary)
        for number in range(1, 1000):
            candidate = numbered(name, number)
            if kind_of(receipt_path(folder, candidate)) != "absent":
                continue
            try:
                os.link(temporary, folder / candidate)  # fails if the name exists: nothing is replaced
            except FileExistsError:
                continue
            fsync(folder)
            return candidate
        raise FileExistsError(f"plus de nom libre pour {name} dans {folder}")
    finally:
        temporary.unlink(missing_ok=True)


def same_content(folder: Path, sha256: str, size: int) -> str | None:
    """The name of an upload of `folder` with this content, if there is one (only files of the same
    size are read)."""
    for path in scan_folder(folder)[0]:
        try:
            if path.lstat().st_size == size and file_sha256(path) == sha256:
                return path.name
        except OSError:
            continue
    return None


class AlreadyDeposited(Exception):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


# --- the store --------------------------------------------------------------------------------------


class DepositStore:
    def __init__(self, portal_dir: Path):
        self.root = portal_dir / "depots"

    def folder(self, account: str, identifier: str) -> Path | None:
        """The verdict's folder when `identifier` is one of `account`'s, else None."""
        if not IDENTIFIER.fullmatch(identifier or ""):
            return None
        folder = self.root / account / identifier
        return folder if kind_of(folder / RECORD) == "fichier" else None

    def new_folder(self, account: str) -> tuple[str, Path]:
        identifier = new_identifier()
        folder = self.root / account / identifier
        folder.mkdir(parents=True, mode=0o700)
        return identifier, folder

    def save(self, deposit: Deposit) -> None:
        folder = self.root / deposit.account / deposit.id
        write_atomically(folder / RECORD, json.dumps(dataclasses.asdict(deposit), ensure_ascii=False, default=str))

    def load(self, account: str, identifier: str) -> Deposit | None:
        folder = self.folder(account, identifier)
        if folder is None:
            return None
        try:
            return Deposit(**json.loads((folder / RECORD).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def history(self, account: str) -> list[Deposit]:
        """The account's verdicts and deposits, newest first."""
        folder = self.root / account
        if kind_of(folder) != "dossier":
            return []
        deposits = [self.load(account, child.name) for child in folder.iterdir()]
        return sorted((d for d in deposits if d), key=lambda d: (d.received_at, d.id), reverse=True)

    def previous(self, deposit: Deposit) -> Deposit | None:
        """The account's latest other file for the same source, received before this one."""
        earlier = [
            d
            for d in self.history(deposit.account)
            if d.id != deposit.id and d.source_id == deposit.source_id and d.received_at <= deposit.received_at
        ]
        return earlier[0] if earlier else None

    def received_file(self, deposit: Deposit) -> Path:
        return self.root / deposit.account / deposit.id / deposit.source_id / deposit.file_name

    def report(self, deposit: Deposit, kind: str) -> Path | None:
        name = deposit.reports.get(kind)
        if not name:
            return None
        path = self.root / deposit.account / deposit.id / deposit.source_id / "_rejets" / name
        return path if kind_of(path) == "fichier" else None

    def confirm(self, deposit: Deposit, raw_dir: Path) -> Deposit:
        """Write the received file into raw/<source>/ with its receipt; the portal's copy is then removed."""
        folder = raw_dir / deposit.source_id
        received = self.received_file(deposit)
        existing = same_content(folder, deposit.sha256, deposit.size)
        if existing is not None:  # a second copy would change nothing: the pipeline counts a content once
            raise AlreadyDeposited(existing)
        stored = deposit_into(folder, received, deposit.file_name)
        deposited_at = now()
        write_receipt(
            folder,
            DepositReceipt(
                account=deposit.account,
                source_id=deposit.source_id,
                stored_name=stored,
                original_name=deposit.original_name,
                sha256=deposit.sha256,
                size=deposit.size,
                deposited_at=deposited_at,
            ),
        )
        deposit.stored_name, deposit.deposited_at = stored, deposited_at
        self.save(deposit)
        received.unlink(missing_ok=True)
        return deposit

    def forget_unconfirmed(self, older_than: dt.timedelta) -> int:
        """Remove the received files of verdicts never confirmed (their records and reports are kept)."""
        limit = (dt.datetime.now() - older_than).isoformat(timespec="seconds")
        removed = 0
        if kind_of(self.root) != "dossier":
            return 0
        for account in self.root.iterdir():
            for deposit in self.history(account.name):
                if not deposit.confirmed and deposit.received_at < limit:
                    path = self.received_file(deposit)
                    if kind_of(path) == "fichier":
                        path.unlink()
                        removed += 1
        return removed
