"""The portal's accounts through the real `esante utilisateur` command, and the deposit receipts of
raw/<source>/_depots/ read back for audit.upload.account."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from pipelines.portal.accounts import AccountStore
from pipelines.validation.deposits import DepositReceipt, deposit_accounts, read_receipts, write_receipt

SHA_A, SHA_B = "a" * 64, "b" * 64


def esante(portal_dir: Path, *args, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "esante"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ESANTE_PORTAIL_DIR": str(portal_dir)},
    )


def test_accounts_are_added_listed_changed_and_removed_with_hashed_passwords(tmp_path):
    portal = tmp_path / "portail"
    added = esante(
        portal, "utilisateur", "ajouter", "ars72", "--sources", "pharmacy_survey,care_registrations",
        stdin="un mot de passe solide\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "Compte « ars72 » créé, pour : pharmacy_survey, care_registrations." in added.stdout
    stored = (portal / "comptes.json").read_text()
    assert "un mot de passe solide" not in stored
    entry = json.loads(stored)["accounts"]["ars72"]
    assert entry["password_hash"].startswith("$argon2id$")
    assert stat.S_IMODE((portal / "comptes.json").stat().st_mode) == 0o600
    accounts = AccountStore(portal)
    assert accounts.verify("ars72", "un mot de passe solide").sources == ("pharmacy_survey", "care_registrations")
    assert accounts.verify("ars72", "un autre mot de passe") is None

    listing = esante(portal, "utilisateur", "lister")
    assert (
        listing.returncode == 0
        and "ars72" in listing.stdout
        and "pharmacy_survey, care_registrations" in listing.stdout
    )

    changed = esante(portal, "utilisateur", "changer-mot-de-passe", "ars72", stdin="un nouveau mot de passe\n")
    assert changed.returncode == 0, changed.stderr
    assert AccountStore(portal).verify("ars72", "un mot de passe solide") is None
    assert AccountStore(portal).verify("ars72", "un nouveau mot de passe") is not None

    removed = esante(portal, "utilisateur", "supprimer", "ars72")
    assert removed.returncode == 0 and "Compte « ars72 » supprimé." in removed.stdout
    assert AccountStore(portal).accounts() == {}
    assert "Aucun compte" in esante(portal, "utilisateur", "lister").stdout


def test_bad_account_requests_are_refused_in_french(tmp_path):
    portal = tmp_path / "portail"
    unknown = esante(
        portal, "utilisateur", "ajouter", "ars72", "--sources", "inconnue", stdin="un mot de passe solide\n"
    )
    assert unknown.returncode == 2 and "Source(s) inconnue(s) : inconnue." in unknown.stderr
    short = esante(portal, "utilisateur", "ajouter", "ars72", "--sources", "pharmacy_survey", stdin="court\n")
    assert short.returncode == 1 and "Mot de passe trop court" in short.stderr
    name = esante(
        portal, "utilisateur", "ajouter", "../x", "--sources", "pharmacy_survey", stdin="un mot de passe solide\n"
    )
    assert name.returncode == 1 and "Nom de compte refusé" in name.stderr
    assert not (portal / "comptes.json").exists()
    esante(portal, "utilisateur", "ajouter", "ars72", "--sources", "pharmacy_survey", stdin="un mot de passe solide\n")
    twice = esante(
        portal, "utilisateur", "ajouter", "ars72", "--sources", "pharmacy_survey", stdin="un mot de passe solide\n"
    )
    assert twice.returncode == 1 and "existe déjà" in twice.stderr
    missing = esante(portal, "utilisateur", "supprimer", "personne")
    assert missing.returncode == 1 and "Aucun compte « personne »." in missing.stderr


def receipt(account: str, sha: str, name: str, at: str) -> DepositReceipt:
    return DepositReceipt(account, "pharmacy_survey", name, name, sha, 10, at)


def test_deposit_accounts_come_from_the_receipts_beside_the_uploads(tmp_path):
    folder = tmp_path / "pharmacy_survey"
    write_receipt(folder, receipt("ars72", SHA_A, "a.xlsx", "2024-12-01T10:00:00"))
    write_receipt(folder, receipt("autre", SHA_A, "a (2).xlsx", "2024-12-02T10:00:00"))  # the same content again
    write_receipt(folder, receipt("gcs", SHA_B, "b.xlsx", "2024-12-03T10:00:00"))
    assert deposit_accounts(folder) == {SHA_A: "ars72", SHA_B: "gcs"}
    assert [r.stored_name for r in read_receipts(folder)] == ["a.xlsx", "a (2).xlsx", "b.xlsx"]


def test_receipts_that_are_not_trustworthy_are_skipped(tmp_path):
    folder = tmp_path / "pharmacy_survey"
    write_receipt(folder, receipt("ars72", SHA_A, "a.xlsx", "2024-12-01T10:00:00"))
    receipts = folder / "_depots"
    (receipts / "casse.xlsx.json").write_text("{pas du json")
    (receipts / "incomplet.xlsx.json").write_text(json.dumps({"account": "x", "sha256": SHA_B}))
    bad_name = {**json.loads((receipts / "a.xlsx.json").read_text()), "account": "../root", "sha256": SHA_B}
    (receipts / "nom.xlsx.json").write_text(json.dumps(bad_name))
    bad_sha = {**json.loads((receipts / "a.xlsx.json").read_text()), "account": "gcs", "sha256": "pas une empreinte"}
    (receipts / "empreinte.xlsx.json").write_text(json.dumps(bad_sha))
    outside = tmp_path / "ailleurs.json"
    outside.write_text(json.dumps({**bad_name, "account": "lien", "sha256": SHA_B}))
    (receipts / "lien.xlsx.json").symlink_to(outside)  # a link is never followed
    os.mkfifo(receipts / "tube.xlsx.json")  # nor a FIFO opened
    assert deposit_accounts(folder) == {SHA_A: "ars72"}
    assert deposit_accounts(tmp_path / "absent") == {}
