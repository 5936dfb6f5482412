"""The stewards' portal, a Starlette application rendered on the server, in French.

    GET  /connexion                         the only page reachable without a session
    POST /connexion, /deconnexion
    GET  /                                  deposit form, the account's sources (freshness, contract,
                                            template) and its history
    POST /depots                            a file (fields csrf, source, fichier), streamed to the portal's
                                            private folder, judged at once -> 303 to its page
    GET  /depots/<id>                       verdict, problems, comparison, impact, then the receipt and the
                                            publication (the page refreshes itself while it waits)
    GET  /depots/<id>/rapport, /classeur    the rejection report and the annotated workbook
    POST /depots/<id>/confirmer             the file into raw/<source>/, with its receipt
    GET  /sources/<id>, /sources/<id>/modele  the contract page and the template of a source
    GET  /portail.js                        drag-and-drop on top of the plain form

Every page but the login needs a session (else a redirect to the login page); every form carries a
CSRF token (else 403); an account sees and deposits only its own sources and files (403, 404).
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading
from functools import wraps
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from pipelines.contract.pages import OBJECTIVES, source_page
from pipelines.contract.template import template_file_name, template_version, write_template
from pipelines.foundation.french import format_count, format_decimal, format_value
from pipelines.foundation.problems import printable
from pipelines.foundation.settings import Settings
from pipelines.portal.accounts import Account, AccountStore
from pipelines.portal.desk import RECEPTION, Desk, comparison_text, problems_of
from pipelines.portal.markdown import to_html
from pipelines.portal.receiving import Refused, receive_form
from pipelines.portal.security import (
    CSRF_FIELD,
    IDLE_SECONDS,
    LoginThrottle,
    csrf_token,
    csrf_valid,
    open_session,
    session_account,
    session_secret,
)
from pipelines.portal.store import AlreadyDeposited, Deposit
from pipelines.validation.isolation import warm_up
from pipelines.warehouse.preview import LEVEL_LABELS

HERE = Path(__file__).parent
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
AUTO = "auto"  # the deposit form's choice "recognise the source from the headers"
UNCONFIRMED_KEPT = dt.timedelta(days=7)
SHOWN_PER_KIND = 1_000  # problems listed on the page per kind; all of them are in the report and the workbook


def french_time(text: str | None) -> str:
    """'2024-12-04T18:40:12' -> '04/12/2024 à 18:40:12'."""
    if not text:
        return ""
    moment = dt.datetime.fromisoformat(text)
    return f"{moment:%d/%m/%Y} à {moment:%H:%M:%S}"


def french_date(value: dt.date | str | None) -> str:
    if not value:
        return ""
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day:%d/%m/%Y}"


def french_month(value: dt.date | str | None) -> str:
    if not value:
        return ""
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day:%m/%Y}"


def build_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    environment = templates.env
    environment.filters.update(
        heure=french_time,
        date_fr=french_date,
        mois=french_month,
        nombre=format_count,
        secondes=lambda s: format_decimal(s, 2),
        valeur=format_value,
        lisible=printable,
        niveau=lambda level: LEVEL_LABELS.get(level, level),
    )
    environment.globals.update(CSRF_FIELD=CSRF_FIELD, OBJECTIVES=OBJECTIVES, comparison_text=comparison_text)
    return templates


class Portal:
    """The application's state: settings, accounts, the desk (units, reference, deposits), the login throttle."""

    def __init__(self, settings: Settings):
        self.settings = settings
        settings.portal_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.accounts = AccountStore(settings.portal_dir)
        self.desk = Desk(settings)
        self.throttle = LoginThrottle()
        self.templates = build_templates()
        self.desk.store.forget_unconfirmed(UNCONFIRMED_KEPT)
        threading.Thread(target=warm_up, name="demarrage-validation", daemon=True).start()

    # --- rendering ----------------------------------------------------------------------------

    def page(self, request: Request, template_name: str, status: int = 200, **context) -> Response:
        context.setdefault("account", None)
        context["csrf"] = csrf_token(request.session)
        return self.templates.TemplateResponse(request, template_name, context, status_code=status)

    def refusal(self, request: Request, status: int, message: str, account: Account | None = None) -> Response:
        titles = {
            400: "Demande incorrecte",
            403: "Accès refusé",
            404: "Introuvable",
            409: "Déjà déposé",
            413: "Fichier trop volumineux",
            429: "Trop de tentatives",
        }
        return self.page(
            request, "erreur.html", status, account=account, title=titles.get(status, "Erreur"), message=message
        )


def signed_in(handler):
    """The handler runs with the session's account; without a valid session, the login page."""

    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        portal: Portal = request.app.state.portal
        account = session_account(request.session, portal.accounts)
        if account is None:
            return RedirectResponse("/connexion", status_code=303)
        return await handler(request, portal, account)

    return wrapper


async def checked_form(request: Request, portal: Portal, account: Account | None) -> dict | Response:
    """The form's fields when its CSRF token is the session's, else the French 403 page."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not csrf_valid(request.session, fields.get(CSRF_FIELD)):
        return portal.refusal(
            request,
            403,
            "Ce formulaire a expiré ou ne vient pas du portail (jeton de sécurité absent ou incorrect). "
            "Rechargez la page puis recommencez.",
            account,
        )
    return fields


# --- login ------------------------------------------------------------------------------------------


async def login_page(request: Request) -> Response:
    portal: Portal = request.app.state.portal
    if session_account(request.session, portal.accounts) is not None:
        return RedirectResponse("/", status_code=303)
    return portal.page(request, "connexion.html", expired=request.query_params.get("expiree") == "1")


async def login(request: Request) -> Response:
    portal: Portal = request.app.state.portal
    fields = await checked_form(request, portal, None)
    if isinstance(fields, Response):
        return fields
    name = fields.get("identifiant", "").strip()
    password = fields.get("mot_de_passe", "")
    client = request.client.host if request.client else "inconnu"
    keys = [f"nom:{name.lower()}", f"adresse:{client}"]
    wait = portal.throttle.wait(keys)
    if wait:
        minutes = max(1, round(wait / 60))
        return portal.page(
            request,
            "connexion.html",
            429,
            error=f"Trop de tentatives de connexion échouées : réessayez dans {minutes} minute(s). "
            "En cas d'oubli du mot de passe, demandez-en un nouveau à l'équipe données.",
            name=name,
        )
    account = await run_in_threadpool(portal.accounts.verify, name, password)
    if account is None:
        portal.throttle.failed(keys)
        return portal.page(
            request,
            "connexion.html",
            401,
            error="Identifiant ou mot de passe incorrect.",
            name=name,
        )
    portal.throttle.succeeded(keys[0])
    open_session(request.session, account)
    return RedirectResponse("/", status_code=303)


async def logout(request: Request) -> Response:
    portal: Portal = request.app.state.portal
    fields = await checked_form(request, portal, None)
    if isinstance(fields, Response):
        return fields
    request.session.clear()
    return RedirectResponse("/connexion", status_code=303)


# --- home -------------------------------------------------------------------------------------------


@signed_in
async def home(request: Request, portal: Portal, account: Account) -> Response:
    desk = portal.desk
    history = desk.store.history(account.name)
    published = {d.id: desk.publication(d, audit=False) for d in history if d.confirmed}
    return portal.page(
        request,
        "accueil.html",
        account=account,
        sources=desk.freshness(list(account.sources)),
        units=desk.units,
        history=history,
        published=published,
        limit_mb=portal.settings.limits.max_upload_bytes / 1024**2,
        auto=AUTO,
    )


# --- deposit ----------------------------------------------------------------------------------------


@signed_in
async def deposit(request: Request, portal: Portal, account: Account) -> Response:
    store = portal.desk.store
    identifier, folder = store.new_folder(account.name)
    limit = portal.settings.limits.max_upload_bytes

    def before_file(fields: dict[str, str]) -> None:
        if not csrf_valid(request.session, fields.get(CSRF_FIELD)):
            raise Refused(
                403,
                "Ce formulaire a expiré ou ne vient pas du portail (jeton de sécurité absent ou incorrect). "
                "Rechargez la page puis déposez à nouveau le fichier. Rien n'a été enregistré.",
            )
        source = fields.get("source", AUTO) or AUTO
        if source != AUTO and not account.may_deposit(source):
            raise _foreign_source(portal, source)

    try:
        form = await receive_form(request, folder / RECEPTION, limit, before_file)
        if form.file is None:
            before_file(form.fields)
            raise Refused(400, "Aucun fichier reçu : choisissez un fichier (.xlsx ou .csv) puis déposez-le.")
        if form.file.size == 0 and not form.file.original_name:
            raise Refused(400, "Aucun fichier reçu : choisissez un fichier (.xlsx ou .csv) puis déposez-le.")
    except Refused as refused:
        shutil.rmtree(folder, ignore_errors=True)
        return portal.refusal(request, refused.status, refused.message, account)
    source = form.fields.get("source", AUTO) or AUTO
    sources = list(account.sources) if source == AUTO else [source]
    received = form.file
    await run_in_threadpool(
        portal.desk.judge,
        account.name,
        identifier,
        folder,
        received.original_name,
        received.sha256,
        received.size,
        sources,
    )
    return RedirectResponse(f"/depots/{identifier}", status_code=303)


def _foreign_source(portal: Portal, source: str) -> Refused:
    unit = portal.desk.units.get(source)
    named = f"« {unit.label} »" if unit else f"« {printable(source)} »"
    return Refused(
        403,
        f"Votre compte ne dépose pas pour la source {named}. Rien n'a été enregistré. "
        "Choisissez une de vos sources, ou demandez à l'équipe données de l'ajouter à votre compte.",
    )


def _own_deposit(portal: Portal, account: Account, identifier: str) -> Deposit | None:
    return portal.desk.store.load(account.name, identifier)


@signed_in
async def deposit_page(request: Request, portal: Portal, account: Account) -> Response:
    deposit = _own_deposit(portal, account, request.path_params["identifier"])
    if deposit is None:
        return portal.refusal(request, 404, "Ce dépôt n'existe pas ou n'est pas l'un des vôtres.", account)
    desk = portal.desk
    problems = problems_of(deposit)
    groups = {
        "structure": [p for p in problems if p.kind == "structure"],
        "contenu": [p for p in problems if p.kind != "structure"],
    }
    hidden = {kind: max(0, len(listed) - SHOWN_PER_KIND) for kind, listed in groups.items()}
    groups = {kind: listed[:SHOWN_PER_KIND] for kind, listed in groups.items()}
    changes = deposit.changes()
    levels: dict[str, list] = {}
    for change in changes:
        levels.setdefault(change.territory_level, []).append(change)
    publication = await run_in_threadpool(desk.publication, deposit)
    return portal.page(
        request,
        "depot.html",
        account=account,
        deposit=deposit,
        unit=desk.units.get(deposit.source_id),
        groups=groups,
        hidden=hidden,
        levels=levels,
        changes=changes,
        publication=publication,
        waiting=deposit.confirmed and publication is None,
        duplicate=request.query_params.get("deja"),
    )


@signed_in
async def report(request: Request, portal: Portal, account: Account) -> Response:
    deposit = _own_deposit(portal, account, request.path_params["identifier"])
    kind = "classeur" if request.url.path.endswith("/classeur") else "texte"
    path = portal.desk.store.report(deposit, kind) if deposit else None
    if path is None:
        return portal.refusal(request, 404, "Ce rapport n'existe pas ou n'est pas l'un des vôtres.", account)
    media = XLSX if kind == "classeur" else "text/plain; charset=utf-8"
    return FileResponse(path, media_type=media, filename=path.name, headers={"Cache-Control": "no-store"})


@signed_in
async def confirm(request: Request, portal: Portal, account: Account) -> Response:
    fields = await checked_form(request, portal, account)
    if isinstance(fields, Response):
        return fields
    deposit = _own_deposit(portal, account, request.path_params["identifier"])
    if deposit is None:
        return portal.refusal(request, 404, "Ce dépôt n'existe pas ou n'est pas l'un des vôtres.", account)
    if not account.may_deposit(deposit.source_id):  # the account's sources changed since the verdict
        refused = _foreign_source(portal, deposit.source_id)
        return portal.refusal(request, refused.status, refused.message, account)
    if deposit.confirmed:
        return RedirectResponse(f"/depots/{deposit.id}", status_code=303)
    if not deposit.accepted:
        return portal.refusal(
            request,
            400,
            "Un fichier invalide ne peut pas être déposé : corrigez-le puis envoyez-le à nouveau.",
            account,
        )
    if not portal.desk.store.received_file(deposit).is_file():
        return portal.refusal(
            request,
            400,
            "Ce fichier n'est plus conservé par le portail (verdict trop ancien) : envoyez-le à nouveau.",
            account,
        )
    try:
        await run_in_threadpool(portal.desk.store.confirm, deposit, portal.settings.raw_dir)
    except AlreadyDeposited as existing:
        return portal.refusal(
            request,
            409,
            f"Ce contenu est déjà dans le dossier de dépôt de la source (« {printable(existing.name)} ») : "
            "rien n'a été ajouté. Un fichier corrigé, lui, a un autre contenu.",
            account,
        )
    return RedirectResponse(f"/depots/{deposit.id}", status_code=303)


# --- help -------------------------------------------------------------------------------------------


@signed_in
async def source_help(request: Request, portal: Portal, account: Account) -> Response:
    unit = portal.desk.units.get(request.path_params["source"])
    if unit is None:
        return portal.refusal(request, 404, "Source inconnue.", account)
    return portal.page(
        request,
        "source.html",
        account=account,
        unit=unit,
        contract=to_html(source_page(unit, portal.desk.reference)),
        own=account.may_deposit(unit.source_id),
    )


@signed_in
async def template(request: Request, portal: Portal, account: Account) -> Response:
    unit = portal.desk.units.get(request.path_params["source"])
    if unit is None:
        return portal.refusal(request, 404, "Source inconnue.", account)
    reference = portal.desk.reference
    path = portal.settings.portal_dir / "modeles" / f"{template_version(unit, reference)}.xlsx"
    if not path.is_file():
        await run_in_threadpool(_write_template_atomically, unit, reference, path)
    return FileResponse(path, media_type=XLSX, filename=template_file_name(unit))


def _write_template_atomically(unit, reference, path: Path) -> None:
    temporary = path.with_name(f".{path.name}.{id(path)}.tmp")
    write_template(unit, reference, temporary)
    temporary.replace(path)


@signed_in
async def script(request: Request, portal: Portal, account: Account) -> Response:
    return FileResponse(HERE / "static" / "portail.js", media_type="text/javascript; charset=utf-8")


# --- application ------------------------------------------------------------------------------------


class SecurityHeaders:
    """No framing, no sniffing, no referrer, and only the portal's own scripts and styles."""

    HEADERS = (
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (
            b"content-security-policy",
            b"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            b"frame-ancestors 'none'; form-action 'self'",
        ),
    )

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(settings: Settings, secure_cookie: bool = False) -> Starlette:
    """The portal for these settings (its accounts and state in settings.portal_dir); `secure_cookie`
    when it is served over HTTPS (behind a reverse proxy)."""
    portal = Portal(settings)
    routes = [
        Route("/connexion", login_page, methods=["GET"]),
        Route("/connexion", login, methods=["POST"]),
        Route("/deconnexion", logout, methods=["POST"]),
        Route("/", home, methods=["GET"]),
        Route("/depots", deposit, methods=["POST"]),
        Route("/depots/{identifier}", deposit_page, methods=["GET"]),
        Route("/depots/{identifier}/rapport", report, methods=["GET"]),
        Route("/depots/{identifier}/classeur", report, methods=["GET"]),
        Route("/depots/{identifier}/confirmer", confirm, methods=["POST"]),
        Route("/sources/{source}", source_help, methods=["GET"]),
        Route("/sources/{source}/modele", template, methods=["GET"]),
        Route("/portail.js", script, methods=["GET"]),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=session_secret(settings.portal_dir),
            session_cookie="esante_portail",
            max_age=IDLE_SECONDS,
            same_site="strict",
            https_only=secure_cookie,
        ),
    ]
    handlers = {404: _not_found, 405: _not_allowed, Exception: _failed}
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)
    app.state.portal = portal
    return app


async def _not_found(request: Request, exc) -> Response:
    portal: Portal = request.app.state.portal
    if session_account(request.session, portal.accounts) is None:
        return RedirectResponse("/connexion", status_code=303)
    return portal.refusal(request, 404, "Cette page n'existe pas.")


async def _failed(request: Request, exc) -> Response:
    """An unexpected failure: a French page (the details go to the log, not to the steward)."""
    logging.getLogger("esante.portail").exception("erreur sur %s", request.url.path)
    return Response(
        "Le portail a rencontré une erreur inattendue : rien n'a été déposé. Réessayez ; si l'erreur revient, "
        "prévenez l'équipe données en indiquant l'heure.",
        status_code=500,
        media_type="text/plain; charset=utf-8",
    )


async def _not_allowed(request: Request, exc) -> Response:
    return Response("Méthode non autorisée.", status_code=405, media_type="text/plain; charset=utf-8")
