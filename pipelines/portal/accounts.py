"""The portal's accounts: a name, the sources it deposits to, an argon2 hash of its password.

They live in one file of the portal's folder (settings.portal_dir, `portail/` by default), readable
by the portal's user only, written atomically under a lock (the CLI and a running portal may both
touch it). Each account has an `epoch` that changes with its password: a session opened before a
password change, or for a removed account, is no longer valid.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from filelock import FileLock

from pipelines.validation.deposits import ACCOUNT_NAME

ACCOUNTS_FILE = "comptes.json"
MIN_PASSWORD_LENGTH = 10
HASHER = PasswordHasher()  # argon2id, the library's current recommended parameters
# compared against when the account does not exist, so that an unknown name costs the same time
_UNKNOWN = HASHER.hash(secrets.token_hex(16))


class AccountError(ValueError):
    """A refused account operation; the message is French, for the operator."""


@dataclass(frozen=True)
class Account:
    name: str
    sources: tuple[str, ...]
    password_hash: str
    created_at: str
    epoch: str  # changes with the password: older sessions end

    def may_deposit(self, source_id: str) -> bool:
        return source_id in self.sources


def write_private(path: Path, data: str) -> None:
    """Write atomically a file only its owner may read (mkstemp creates it 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


class AccountStore:
    def __init__(self, portal_dir: Path):
        self.folder = portal_dir
        self.path = portal_dir / ACCOUNTS_FILE
        self._cache: tuple[tuple[int, int], dict[str, Account]] | None = None

    def _lock(self) -> FileLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        return FileLock(self.folder / f".{ACCOUNTS_FILE}.lock")

    def accounts(self) -> dict[str, Account]:
        """Every account, read again only when the file changed (the CLI may edit it while the portal runs)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._cache is not None and self._cache[0] == stamp:
            return self._cache[1]
        data = json.loads(self.path.read_text(encoding="utf-8"))
        accounts = {
            name: Account(
                name=name,
                sources=tuple(entry["sources"]),
                password_hash=entry["password_hash"],
                created_at=entry["created_at"],
                epoch=entry["epoch"],
            )
            for name, entry in data.get("accounts", {}).items()
        }
        self._cache = (stamp, accounts)
        return accounts

    def get(self, name: str) -> Account | None:
        return self.accounts().get(name)

    def _save(self, accounts: dict[str, Account]) -> None:
        entries = {name: {k: v for k, v in asdict(a).items() if k != "name"} for name, a in sorted(accounts.items())}
        write_private(self.path, json.dumps({"accounts": entries}, ensure_ascii=False, indent=2))
        self._cache = None

    def add(self, name: str, password: str, sources: list[str]) -> Account:
        check_name(name)
        check_password(password)
        if not sources:
            raise AccountError("Donnez au moins une source (--sources pharmacy_survey,care_registrations).")
        with self._lock():
            accounts = dict(self.accounts())
            if name in accounts:
                raise AccountError(f"Le compte « {name} » existe déjà (changer-mot-de-passe pour son mot de passe).")
            account = Account(
                name=name,
                sources=tuple(dict.fromkeys(sources)),
                password_hash=HASHER.hash(password),
                created_at=dt.datetime.now().isoformat(timespec="seconds"),
                epoch=secrets.token_hex(8),
            )
            accounts[name] = account
            self._save(accounts)
        return account

    def remove(self, name: str) -> None:
        with self._lock():
            accounts = dict(self.accounts())
            if accounts.pop(name, None) is None:
                raise AccountError(f"Aucun compte « {name} ».")
            self._save(accounts)

    def change_password(self, name: str, password: str) -> Account:
        check_password(password)
        with self._lock():
            accounts = dict(self.accounts())
            if name not in accounts:
                raise AccountError(f"Aucun compte « {name} ».")
            account = accounts[name]
            accounts[name] = Account(
                name=name,
                sources=account.sources,
                password_hash=HASHER.hash(password),
                created_at=account.created_at,
                epoch=secrets.token_hex(8),
            )
            self._save(accounts)
        return accounts[name]

    def verify(self, name: str, password: str) -> Account | None:
        """The account when the password is right, else None (in the same time whether or not it exists)."""
        account = self.get(name)
        try:
            HASHER.verify(account.password_hash if account else _UNKNOWN, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if account is None:
            return None
        if HASHER.check_needs_rehash(account.password_hash):  # parameters raised since: keep it current
            with self._lock():
                accounts = dict(self.accounts())
                if name in accounts and accounts[name].password_hash == account.password_hash:
                    accounts[name] = Account(
                        name, account.sources, HASHER.hash(password), account.created_at, account.epoch
                    )
                    self._save(accounts)
        return account


def check_name(name: str) -> None:
    if not ACCOUNT_NAME.fullmatch(name or ""):
        raise AccountError(
            f"Nom de compte refusé : « {name} ». Utilisez de 1 à 64 lettres sans accent, chiffres, points, tirets, "
            "« _ » ou « @ », en commençant par une lettre ou un chiffre."
        )


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Mot de passe trop court : au moins {MIN_PASSWORD_LENGTH} caractères.")
    if password != password.strip() or "\n" in password:
        raise AccountError("Le mot de passe ne doit ni commencer ni finir par un espace.")
