"""The portal at the HTTP level (Starlette's TestClient on the real application): login, sessions,
CSRF, the verdict, the deposit into raw/, and every bad request refused in French with nothing written.

The helpers that build the steward's files (valid, corrected, broken) are shared with the browser test.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re
import time
import warnings
from pathlib import Path

import itsdangerous
import pytest
from openpyxl import load_workbook

with warnings.catch_warnings():  # Starlette 1.10 would rather have httpx2 under its TestClient; httpx is locked
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from pipelines.foundation.files import file_sha256
from pipelines.foundation.settings import Limits, Settings
from pipelines.portal.accounts import AccountStore
from pipelines.portal.app import create_app
from pipelines.portal.security import MAX_FAILURES, SECRET_FILE
from pipelines.validation.deposits import RECEIPTS_FOLDER, deposit_accounts
from tests.conftest import published, run_pipeline, sample_path

PASSWORD = "un mot de passe solide"
JUNE = "2024-06 enquete officines.xlsx"
SHEET_HEADER_ROW = 3  # the sample's title row, an empty row, then the headers


# --- the steward's files (shared with tests/test_portal_browser.py) ---------------------------------


def june_wave() -> Path:
    return sample_path("pharmacy_survey", JUNE)


def edited_wave(target: Path, cells: dict[str, object]) -> Path:
    """The June 2024 sample wave with some cells changed, saved as `target`."""
    workbook = load_workbook(june_wave())
    sheet = workbook.worksheets[0]
    for reference, value in cells.items():
        sheet[reference] = value
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(target)
    return target


def corrected_wave(target: Path, more: int = 4) -> Path:
    """The June 2024 wave where `more` pharmacies that answered « Non » now answer « Oui » for MSSanté
    (123 / 156 equipped in the sample, so 127 / 156 with four more)."""
    sheet = load_workbook(june_wave()).worksheets[0]
    cells = {}
    for row in range(SHEET_HEADER_ROW + 1, sheet.max_row + 1):
        if str(sheet[f"D{row}"].value or "").strip().lower() in ("non", "n") and len(cells) < more:
            cells[f"D{row}"] = "Oui"
    assert len(cells) == more
    return edited_wave(target, cells)


BROKEN_CELLS = {"D4": "Peut-être", "G6": "beaucoup", "C10": "99999"}


def broken_wave(target: Path, fixed: tuple[str, ...] = ()) -> Path:
    """Three content errors, at D4 (not yes/no), G6 (not a number), C10 (no such commune); those named
    in `fixed` are left as in the sample."""
    return edited_wave(target, {cell: value for cell, value in BROKEN_CELLS.items() if cell not in fixed})


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def text_of(html: str) -> str:
    main = html[html.index("<body>") :] if "<body>" in html else html
    return " ".join(re.sub(r"<[^>]+>", " ", main).replace("&#39;", "'").replace("&amp;", "&").split())


# --- fixtures ---------------------------------------------------------------------------------------


def portal_settings(settings: Settings, tmp_path: Path, **limits) -> Settings:
    """The test's settings with the portal's folder under tmp_path (never the project's portail/)."""
    return dataclasses.replace(
        settings, portal_dir=tmp_path / "portail", limits=dataclasses.replace(Limits(), **limits)
    )


@pytest.fixture
def portal(settings, tmp_path):
    settings = portal_settings(settings, tmp_path, max_upload_bytes=2 * 1024**2)
    accounts = AccountStore(settings.portal_dir)
    accounts.add("ars72", PASSWORD, ["pharmacy_survey"])
    accounts.add("gcs", PASSWORD, ["care_registrations", "mes_statistics"])
    app = create_app(settings)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.settings = settings
        yield client


def log_in(client: TestClient, name: str = "ars72", password: str = PASSWORD):
    page = client.get("/connexion")
    return client.post(
        "/connexion",
        data={"csrf": csrf_of(page.text), "identifiant": name, "mot_de_passe": password},
        follow_redirects=False,
    )


def signed_in(client: TestClient, name: str = "ars72") -> str:
    response = log_in(client, name)
    assert response.status_code == 303 and response.headers["location"] == "/"
    return csrf_of(client.get("/").text)


def multipart(fields: dict[str, str], file_name: bytes, content: bytes) -> tuple[bytes, str]:
    """A form body as a browser sends it, with the file name's bytes exactly as given (httpx would
    leave out an empty name and escape a line break)."""
    boundary = "----formulaire-du-portail"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="fichier"; filename="'.encode()
        + file_name
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def send(client: TestClient, path: Path, source: str = "pharmacy_survey", csrf: str | None = None, name=None):
    fields = {"source": source}
    if csrf is not None:
        fields = {"csrf": csrf, **fields}
    name = path.name if name is None else name
    body, content_type = multipart(fields, name.encode(), path.read_bytes())
    return client.post("/depots", content=body, headers={"Content-Type": content_type}, follow_redirects=False)


def verdict(client: TestClient, path: Path, csrf: str, **options) -> tuple[str, str]:
    """(deposit id, verdict page text) of a file sent through the form."""
    response = send(client, path, csrf=csrf, **options)
    assert response.status_code == 303, text_of(response.text)
    identifier = response.headers["location"].rsplit("/", 1)[-1]
    return identifier, client.get(f"/depots/{identifier}").text


def confirm(client: TestClient, identifier: str, csrf: str):
    return client.post(f"/depots/{identifier}/confirmer", data={"csrf": csrf}, follow_redirects=False)


def raw_files(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.raw_dir.rglob("*") if p.is_file())


def portal_files(settings: Settings) -> list[Path]:
    return sorted(p for p in (settings.portal_dir / "depots").rglob("*") if p.is_file())


# --- login and sessions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/"),
        ("get", "/depots/abcdefghijklmnopqrstuvwx"),
        ("get", "/depots/abcdefghijklmnopqrstuvwx/classeur"),
        ("get", "/sources/pharmacy_survey"),
        ("get", "/sources/pharmacy_survey/modele"),
        ("get", "/portail.js"),
        ("get", "/nulle-part"),
        ("post", "/depots"),
        ("post", "/depots/abcdefghijklmnopqrstuvwx/confirmer"),
    ],
)
def test_without_a_session_only_the_login_page_is_reachable(portal, method, path):
    response = getattr(portal, method)(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/connexion"
    login = portal.get("/connexion")
    assert login.status_code == 200
    assert 'name="identifiant"' in login.text and 'name="mot_de_passe"' in login.text
    assert "Connexion" in login.text


def test_a_deposit_without_a_session_writes_nothing(portal):
    response = portal.post("/depots", files={"fichier": (JUNE, june_wave().read_bytes())}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/connexion"
    assert raw_files(portal.settings) == []
    assert not (portal.settings.portal_dir / "depots").exists()


def test_login_with_the_right_password_then_logout(portal):
    assert log_in(portal, "ars72", "mauvais mot de passe").status_code == 401
    response = log_in(portal)
    assert response.status_code == 303
    home = portal.get("/")
    assert home.status_code == 200
    assert "Connecté : ars72" in text_of(home.text)
    assert "Enquête MSSanté et fax auprès des officines" in home.text
    assert "Suivi du programme CARE" not in home.text  # only the account's own sources
    cookie = portal.cookies.get("esante_portail")
    response = portal.post("/deconnexion", data={"csrf": csrf_of(home.text)}, follow_redirects=False)
    assert response.headers["location"] == "/connexion"
    assert portal.get("/", follow_redirects=False).status_code == 303
    assert cookie  # the session was a cookie, and is gone
    assert "Set-Cookie" in response.headers or "set-cookie" in response.headers


def test_a_wrong_password_is_answered_in_french_without_saying_which_part_is_wrong(portal):
    unknown = log_in(portal, "personne", PASSWORD)
    wrong = log_in(portal, "ars72", "pas le bon mot de passe")
    for response in (unknown, wrong):
        assert response.status_code == 401
        assert "Identifiant ou mot de passe incorrect." in text_of(response.text)


def test_failed_logins_are_limited_even_the_right_password_waits(portal):
    for _ in range(MAX_FAILURES):
        assert log_in(portal, "ars72", "essai au hasard").status_code == 401
    response = log_in(portal, "ars72", PASSWORD)
    assert response.status_code == 429
    assert "Trop de tentatives de connexion échouées" in text_of(response.text)
    assert portal.get("/", follow_redirects=False).status_code == 303


def test_the_login_form_needs_its_csrf_token(portal):
    response = portal.post("/connexion", data={"identifiant": "ars72", "mot_de_passe": PASSWORD})
    assert response.status_code == 403
    assert "jeton de sécurité absent ou incorrect" in text_of(response.text)
    assert portal.get("/", follow_redirects=False).status_code == 303


def forged_session(settings: Settings, **values) -> str:
    """A session cookie signed with the portal's own key (as the middleware would make it)."""
    secret = (settings.portal_dir / SECRET_FILE).read_text().strip()
    data = base64.b64encode(json.dumps(values).encode())
    return itsdangerous.TimestampSigner(secret).sign(data).decode()


@pytest.mark.parametrize(
    "age, idle",
    [(9 * 3600, 0), (0, 31 * 60)],
    ids=["ouverte depuis plus de 8 heures", "inactive depuis plus de 30 minutes"],
)
def test_sessions_expire(portal, age, idle):
    signed_in(portal)
    epoch = AccountStore(portal.settings.portal_dir).get("ars72").epoch
    now = int(time.time())
    fresh = forged_session(portal.settings, account="ars72", epoch=epoch, login_at=now, seen=now, csrf="x")
    portal.cookies.set("esante_portail", fresh)
    assert portal.get("/", follow_redirects=False).status_code == 200  # the forged cookie is a valid session
    old = forged_session(portal.settings, account="ars72", epoch=epoch, login_at=now - age, seen=now - idle, csrf="x")
    portal.cookies.set("esante_portail", old)
    response = portal.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/connexion"


def test_a_password_change_or_a_removed_account_ends_its_sessions(portal):
    signed_in(portal)
    accounts = AccountStore(portal.settings.portal_dir)
    accounts.change_password("ars72", "un tout nouveau mot de passe")
    assert portal.get("/", follow_redirects=False).status_code == 303
    assert log_in(portal, "ars72", "un tout nouveau mot de passe").status_code == 303
    assert portal.get("/", follow_redirects=False).status_code == 200
    accounts.remove("ars72")
    assert portal.get("/", follow_redirects=False).status_code == 303


# --- bad deposits: refused in French, nothing written -----------------------------------------------


def test_a_deposit_without_csrf_token_is_refused_and_nothing_is_written(portal):
    signed_in(portal)
    response = send(portal, june_wave(), csrf=None)
    assert response.status_code == 403
    assert "Rien n'a été enregistré" in text_of(response.text)
    assert raw_files(portal.settings) == [] and portal_files(portal.settings) == []
    forged = send(portal, june_wave(), csrf="un-jeton-invente")
    assert forged.status_code == 403
    assert raw_files(portal.settings) == [] and portal_files(portal.settings) == []


def test_a_deposit_to_another_account_s_source_is_forbidden(portal):
    csrf = signed_in(portal)
    care = sample_path("care_registrations")
    response = send(portal, care, source="care_registrations", csrf=csrf)
    assert response.status_code == 403
    message = text_of(response.text)
    assert "Votre compte ne dépose pas pour la source « Suivi du programme CARE" in message
    assert "Rien n'a été enregistré" in message
    assert raw_files(portal.settings) == [] and portal_files(portal.settings) == []
    unknown = send(portal, care, source="../../etc", csrf=csrf)
    assert unknown.status_code == 403
    assert portal_files(portal.settings) == []


def big_file(tmp_path: Path, size: int) -> Path:
    path = tmp_path / "2024-06 gros fichier.csv"
    line = b"720009463;PHARMACIE;72181;Oui;;Oui;1;03/06/2024\n"
    path.write_bytes(
        b"FINESS;Raison sociale;Code commune;MSSante;Operateur;Fax;Fax semaine;Date\n" + line * (size // len(line))
    )
    return path


def test_a_file_over_the_size_limit_is_refused_with_413_before_it_is_read(portal, tmp_path):
    csrf = signed_in(portal)
    limit = portal.settings.limits.max_upload_bytes
    response = send(portal, big_file(tmp_path, limit + 200_000), csrf=csrf)
    assert response.status_code == 413
    assert f"la limite est de {limit / 1024**2:.0f} Mo" in text_of(response.text)
    assert raw_files(portal.settings) == [] and portal_files(portal.settings) == []


def test_a_file_over_the_limit_sent_without_a_length_is_stopped_while_it_streams(portal, tmp_path):
    """No Content-Length (chunked): the stream is counted and cut at the limit."""
    csrf = signed_in(portal)
    limit = portal.settings.limits.max_upload_bytes
    boundary = "limite-du-formulaire"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="source"\r\n\r\npharmacy_survey\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="fichier"; filename="gros.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    sent = []

    def body():
        yield head
        for _ in range(limit // 65536 + 10):  # a little over the limit, in chunks
            sent.append(65536)
            yield b"x" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    response = portal.post(
        "/depots",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        follow_redirects=False,
    )
    assert response.status_code == 413
    assert "Fichier trop volumineux" in text_of(response.text)
    assert raw_files(portal.settings) == [] and portal_files(portal.settings) == []


def test_a_malformed_form_is_refused(portal):
    csrf = signed_in(portal)
    response = portal.post("/depots", data={"csrf": csrf, "source": "pharmacy_survey"}, follow_redirects=False)
    assert response.status_code == 400  # a plain form, not a file upload
    empty = portal.post(
        "/depots",
        data={"csrf": csrf, "source": "pharmacy_survey"},
        files={"fichier": ("", b"")},
        follow_redirects=False,
    )
    assert empty.status_code == 400
    assert "Aucun fichier reçu" in text_of(empty.text)
    assert portal_files(portal.settings) == []


@pytest.mark.parametrize(
    "name, stored",
    [
        ("../../x.xlsx", "x.xlsx"),
        ("..\\..\\2024-06 enquete.xlsx", "2024-06 enquete.xlsx"),
        ("2024-06 enquete\nofficines.xlsx", "2024-06 enquete officines.xlsx"),
        ("2024-06 enquete%0Aofficines.xlsx", "2024-06 enquete officines.xlsx"),  # as a browser writes it
        ("", "depot.xlsx"),
        (".cache.xlsx", "cache.xlsx"),
        ("_rejets", "rejets.xlsx"),
        ("/etc/passwd", "passwd.xlsx"),
        ("2024-06 <img src=x onerror=alert(1)>.xlsx", "2024-06 img src=x onerror=alert(1).xlsx"),
    ],
)
def test_unsafe_names_are_stored_safely_inside_the_source_folder(portal, name, stored):
    csrf = signed_in(portal)
    identifier, page = verdict(portal, june_wave(), csrf, name=name)
    assert "Verdict : valide" in text_of(page)
    assert "<img" not in page  # names are shown escaped
    assert confirm(portal, identifier, csrf).status_code == 303
    folder = portal.settings.raw_dir / "pharmacy_survey"
    assert [p.name for p in folder.iterdir() if p.is_file()] == [stored]
    assert file_sha256(folder / stored) == file_sha256(june_wave())
    assert {p.relative_to(portal.settings.raw_dir) for p in raw_files(portal.settings)} == {
        Path("pharmacy_survey") / stored,
        Path("pharmacy_survey") / RECEIPTS_FOLDER / f"{stored}.json",
    }
    receipt = json.loads((folder / RECEIPTS_FOLDER / f"{stored}.json").read_text())
    assert receipt["original_name"] == name.replace("%0A", "\n") and receipt["account"] == "ars72"


def test_a_deposit_never_overwrites_a_file(portal, tmp_path):
    csrf = signed_in(portal)
    folder = portal.settings.raw_dir / "pharmacy_survey"
    folder.mkdir(parents=True)
    (folder / JUNE).write_bytes(b"le fichier d'un autre")
    identifier, _ = verdict(portal, june_wave(), csrf)
    assert confirm(portal, identifier, csrf).status_code == 303
    corrected = corrected_wave(tmp_path / JUNE)
    identifier, _ = verdict(portal, corrected, csrf)
    assert confirm(portal, identifier, csrf).status_code == 303
    assert (folder / JUNE).read_bytes() == b"le fichier d'un autre"
    assert file_sha256(folder / "2024-06 enquete officines (2).xlsx") == file_sha256(june_wave())
    assert file_sha256(folder / "2024-06 enquete officines (3).xlsx") == file_sha256(corrected)
    assert deposit_accounts(folder) == {file_sha256(june_wave()): "ars72", file_sha256(corrected): "ars72"}


def test_the_same_content_is_not_deposited_twice(portal):
    csrf = signed_in(portal)
    first, _ = verdict(portal, june_wave(), csrf)
    second, _ = verdict(portal, june_wave(), csrf, name="copie.xlsx")
    assert confirm(portal, first, csrf).status_code == 303
    response = confirm(portal, second, csrf)
    assert response.status_code == 409
    assert f"Ce contenu est déjà dans le dossier de dépôt de la source (« {JUNE} »)" in text_of(response.text)
    assert [p.name for p in (portal.settings.raw_dir / "pharmacy_survey").iterdir() if p.is_file()] == [JUNE]


def test_confirming_needs_the_csrf_token_and_an_accepted_file(portal, tmp_path):
    csrf = signed_in(portal)
    identifier, _ = verdict(portal, june_wave(), csrf)
    refused = portal.post(f"/depots/{identifier}/confirmer", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert raw_files(portal.settings) == []
    broken, _ = verdict(portal, broken_wave(tmp_path / "2024-06 casse.xlsx"), csrf)
    response = confirm(portal, broken, csrf)
    assert response.status_code == 400
    assert "Un fichier invalide ne peut pas être déposé" in text_of(response.text)
    assert raw_files(portal.settings) == []


def test_files_are_never_served_to_another_account(portal, tmp_path):
    csrf = signed_in(portal, "ars72")
    identifier, _ = verdict(portal, broken_wave(tmp_path / "2024-06 casse.xlsx"), csrf)
    assert portal.get(f"/depots/{identifier}/classeur").status_code == 200
    valid, _ = verdict(portal, june_wave(), csrf)
    portal.cookies.clear()
    other = signed_in(portal, "gcs")
    for path in (
        f"/depots/{identifier}",
        f"/depots/{identifier}/classeur",
        f"/depots/{identifier}/rapport",
        f"/depots/{valid}",
    ):
        response = portal.get(path)
        assert response.status_code == 404, path
        assert "n'est pas l'un des vôtres" in text_of(response.text)
    assert confirm(portal, valid, other).status_code == 404
    assert raw_files(portal.settings) == []
    assert identifier not in portal.get("/").text and "casse" not in portal.get("/").text


# --- the verdict ------------------------------------------------------------------------------------


def test_a_broken_file_gets_every_problem_with_its_cell_and_the_annotated_workbook(portal, tmp_path):
    csrf = signed_in(portal)
    broken = broken_wave(tmp_path / "2024-06 casse.xlsx")
    identifier, page = verdict(portal, broken, csrf)
    text = text_of(page)
    assert "Verdict : invalide" in text
    assert "Contenu des cellules (4)" in text  # the three errors, and the note on rows left out of the rules
    assert "Structure du fichier" not in text
    assert "Erreur D4 4 Équipée MSSanté ? Peut-être La valeur n'est pas reconnue comme Oui ou Non" in text
    assert "Erreur G6 6" in text and "beaucoup" in text and "nombre entier" in text
    assert "Erreur C10 10 Code commune 99999 Ce code commune n'existe pas" in text
    assert "Confirmer le dépôt" not in text
    workbook = portal.get(f"/depots/{identifier}/classeur")
    assert workbook.status_code == 200
    assert workbook.headers["content-type"].startswith("application/vnd.openxmlformats")
    annotated = load_workbook(io.BytesIO(workbook.content))
    assert annotated.sheetnames[0] == "Problèmes"
    assert [row[5] for row in annotated["Problèmes"].iter_rows(min_row=2, values_only=True)] == [
        "D4",
        "G6",
        "C10",
        None,
    ]
    assert annotated["Réponses"]["D4"].comment is not None
    report = portal.get(f"/depots/{identifier}/rapport")
    assert "Fichier rejeté : 2024-06 casse.xlsx" in report.text and "Contenu des cellules :" in report.text
    # sent again, the verdict comes from the ledger: the reports are written for this copy too
    entries = sorted(portal.settings.ledger_dir.rglob("*.json"))
    again, page = verdict(portal, broken, csrf)
    assert sorted(portal.settings.ledger_dir.rglob("*.json")) == entries  # no new validation
    assert again != identifier and "Verdict : invalide" in text_of(page)
    copy = load_workbook(io.BytesIO(portal.get(f"/depots/{again}/classeur").content))
    assert [row[5] for row in copy["Problèmes"].iter_rows(min_row=2, values_only=True)] == ["D4", "G6", "C10", None]
    received = portal.settings.portal_dir / "depots" / "ars72" / identifier / "pharmacy_survey" / "2024-06 casse.xlsx"
    assert not received.exists()  # a rejected original is not kept (it may hold personal data)


def test_structure_problems_are_told_apart(portal, tmp_path):
    csrf = signed_in(portal)
    missing = edited_wave(tmp_path / "2024-06 sans fax.xlsx", {"F3": "Commentaire"})
    _, page = verdict(portal, missing, csrf)
    text = text_of(page)
    assert "Verdict : invalide" in text
    assert "Structure du fichier (1)" in text and "Contenu des cellules" not in text
    assert "La colonne obligatoire « possède un fax » est absente." in text


def test_the_second_file_is_compared_with_the_previous_one(portal, tmp_path):
    csrf = signed_in(portal)
    verdict(portal, broken_wave(tmp_path / "2024-06 casse.xlsx"), csrf)
    _, page = verdict(portal, broken_wave(tmp_path / "2024-06 casse v2.xlsx", fixed=("D4", "G6")), csrf)
    text = text_of(page)
    assert "Par rapport à votre envoi précédent pour cette source (« 2024-06 casse.xlsx »" in text
    assert "2 problèmes corrigés, 1 restant" in text
    _, page = verdict(portal, june_wave(), csrf)
    assert "1 problème corrigé, 0 restant" in text_of(page)
    assert "3 problèmes corrigés" not in text  # the note on rows left out of the rules has no place: not counted


def test_the_source_is_recognised_from_the_headers(portal):
    csrf = signed_in(portal, "gcs")
    _, page = verdict(portal, sample_path("care_registrations"), csrf, source="auto")
    text = text_of(page)
    assert "Suivi du programme CARE (cybersécurité des établissements de santé) (reconnue d'après les en-têtes" in text
    assert "Verdict : valide avec avertissements" in text
    mes = sorted((sample_path("mes_statistics").parent).iterdir())[0]
    _, page = verdict(portal, mes, csrf, source="auto")
    assert "Statistiques d'usage de Mon espace santé (reconnue" in text_of(page)


def test_history_help_and_template(portal, tmp_path):
    csrf = signed_in(portal)
    verdict(portal, broken_wave(tmp_path / "2024-06 casse.xlsx"), csrf)
    valid, _ = verdict(portal, june_wave(), csrf)
    assert confirm(portal, valid, csrf).status_code == 303
    home = text_of(portal.get("/").text)
    assert "2024-06 casse.xlsx" in home and "invalide" in home and "non déposé" in home
    assert f"{JUNE}" in home and "en attente de publication" in home
    assert "Dernière période acceptée" in home and "aucun fichier accepté" in home  # nothing published yet
    contract = portal.get("/sources/pharmacy_survey")
    assert contract.status_code == 200
    assert "Enquête MSSanté et fax auprès des officines" in contract.text and "<table>" in contract.text
    template = portal.get("/sources/pharmacy_survey/modele")
    assert template.status_code == 200
    workbook = load_workbook(io.BytesIO(template.content))
    assert workbook.sheetnames == ["Réponses", "Listes", "Aide"]


def test_the_script_is_the_portal_s_own_and_pages_forbid_framing(portal):
    signed_in(portal)
    script = portal.get("/portail.js")
    assert script.status_code == 200 and "dataTransfer" in script.text
    home = portal.get("/")
    assert home.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in home.headers["content-security-policy"]
    assert "http://" not in home.text.replace("http://127.0.0.1", "")  # no CDN, nothing from elsewhere
    assert 'enctype="multipart/form-data"' in home.text and 'name="fichier"' in home.text


# --- to publication ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_confirmed_deposit_is_published_with_its_account(portal, tmp_path):
    csrf = signed_in(portal)
    identifier, page = verdict(portal, june_wave(), csrf)
    assert "Aucun entrepôt n'est encore publié" not in page
    assert "Sarthe 06/2024 — → 123 / 156 (78,8 %)" in text_of(page)  # nothing published yet: every value new
    assert confirm(portal, identifier, csrf).status_code == 303
    waiting = text_of(portal.get(f"/depots/{identifier}").text)
    assert "En attente de publication" in waiting
    outcome = run_pipeline(portal.settings)  # stands for the daemon's run after the sensor saw the file
    assert outcome.published, outcome.failures
    receipt = text_of(portal.get(f"/depots/{identifier}").text)
    assert "En attente de publication" not in receipt
    assert f"Exécution {outcome.run_id}" in receipt
    assert "fichier accepté, déposé par le compte « ars72 » (audit.upload)" in receipt
    assert file_sha256(june_wave()) in receipt
    with published(portal.settings) as connection:
        assert connection.execute("SELECT file_name, account FROM audit.upload").fetchall() == [(JUNE, "ars72")]
    home = text_of(portal.get("/").text)
    assert "06/2024" in home and ("à jour" in home or "à renouveler" in home)
