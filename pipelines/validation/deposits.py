"""Who deposited what: the receipts the portal writes beside the uploads, in raw/<source>/_depots/.

A portal deposit writes the file into raw/<source>/ and, beside it, a small JSON receipt named after
the stored file (`_depots/<stored name>.json`: account, original name, sha256, time). The `_`
prefix keeps the folder out of the uploads (pipelines/validation/uploads.py). Since the receipts
live in raw/, a rebuild from raw/ alone still knows which account deposited which content, and
audit.upload.account is filled from them.

A receipt is untrusted input like everything in raw/: only regular files are read, a receipt that
is not valid JSON or lacks its fields is skipped, and an account name is kept only if it is a
plain short name.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from pipelines.foundation.files import is_regular_file, kind_of, open_regular, write_atomically

RECEIPTS_FOLDER = "_depots"
RECEIPT_SUFFIX = ".json"
MAX_RECEIPT_BYTES = 64 * 1024
ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class DepositReceipt:
    """One deposit through the portal, as written beside the upload."""

    account: str
    source_id: str
    stored_name: str  # the file's name in raw/<source>/
    original_name: str  # the name the steward's file had (as sent by the browser, made printable)
    sha256: str
    size: int
    deposited_at: str  # ISO 8601, seconds


def receipt_path(folder: Path, stored_name: str) -> Path:
    return folder / RECEIPTS_FOLDER / f"{stored_name}{RECEIPT_SUFFIX}"


def write_receipt(folder: Path, receipt: DepositReceipt) -> Path:
    """Write (atomically) the receipt of a file stored in `folder` under `receipt.stored_name`."""
    path = receipt_path(folder, receipt.stored_name)
    write_atomically(path, json.dumps(asdict(receipt), ensure_ascii=False, indent=2))
    return path


def read_receipts(folder: Path) -> list[DepositReceipt]:
    """Every readable receipt of a source folder, oldest deposit first."""
    receipts_folder = folder / RECEIPTS_FOLDER
    if kind_of(receipts_folder) != "dossier":
        return []
    receipts = []
    for path in receipts_folder.iterdir():
        if not path.name.endswith(RECEIPT_SUFFIX) or path.name.startswith(".") or not is_regular_file(path):
            continue
        receipt = _read(path)
        if receipt is not None:
            receipts.append(receipt)
    return sorted(receipts, key=lambda r: (r.deposited_at, r.stored_name))


def _read(path: Path) -> DepositReceipt | None:
    try:
        with open_regular(path) as handle:
            data = json.loads(handle.read(MAX_RECEIPT_BYTES + 1)[:MAX_RECEIPT_BYTES].decode("utf-8"))
        receipt = DepositReceipt(
            account=str(data["account"]),
            source_id=str(data["source_id"]),
            stored_name=str(data["stored_name"]),
            original_name=str(data["original_name"]),
            sha256=str(data["sha256"]),
            size=int(data["size"]),
            deposited_at=str(data["deposited_at"]),
        )
        dt.datetime.fromisoformat(receipt.deposited_at)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if not ACCOUNT_NAME.fullmatch(receipt.account) or not SHA256.fullmatch(receipt.sha256):
        return None
    return receipt


def deposit_accounts(folder: Path) -> dict[str, str]:
    """{sha256: account} of the contents deposited through the portal into `folder` (raw/<source>/).
    A content deposited twice keeps its first account (the one that brought it)."""
    accounts: dict[str, str] = {}
    for receipt in read_receipts(folder):
        accounts.setdefault(receipt.sha256, receipt.account)
    return accounts
