"""`esante portail` and `esante utilisateur …`: the portal's commands (registered by pipelines/cli).

    esante portail [--port 8000] [--host 127.0.0.1] [--cookie-securise]
    esante utilisateur ajouter NOM --sources pharmacy_survey,care_registrations   (mot de passe sur l'entrée standard)
    esante utilisateur lister
    esante utilisateur supprimer NOM
    esante utilisateur changer-mot-de-passe NOM                                   (mot de passe sur l'entrée standard)

Nothing heavy is imported here at module level: the other commands stay quick.
"""

from __future__ import annotations

import getpass
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(commands) -> None:
    portal = commands.add_parser("portail", help="le portail des référents (dépôt, verdict, impact), sur 127.0.0.1")
    portal.add_argument("--port", type=int, default=8000)
    portal.add_argument("--host", default="127.0.0.1", help="adresse d'écoute (défaut : 127.0.0.1)")
    portal.add_argument(
        "--cookie-securise",
        dest="secure_cookie",
        action="store_true",
        help="cookie de session réservé à HTTPS (derrière un proxy TLS)",
    )
    portal.set_defaults(run=command_portal)

    users = commands.add_parser("utilisateur", help="comptes du portail (ajouter, lister, supprimer, mot de passe)")
    actions = users.add_subparsers(dest="action", required=True)
    add = actions.add_parser("ajouter", help="crée un compte ; le mot de passe est lu sur l'entrée standard")
    add.add_argument("name", metavar="NOM")
    add.add_argument("--sources", required=True, help="sources du compte, séparées par des virgules")
    add.set_defaults(run=command_add)
    listing = actions.add_parser("lister", help="les comptes et leurs sources")
    listing.set_defaults(run=command_list)
    remove = actions.add_parser("supprimer", help="supprime un compte (ses sessions prennent fin)")
    remove.add_argument("name", metavar="NOM")
    remove.set_defaults(run=command_remove)
    change = actions.add_parser(
        "changer-mot-de-passe", help="nouveau mot de passe, lu sur l'entrée standard (les sessions prennent fin)"
    )
    change.add_argument("name", metavar="NOM")
    change.set_defaults(run=command_change_password)


def read_password() -> str:
    """Typed twice at a terminal (not echoed), else the first line of standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass("Mot de passe : ")
        if getpass.getpass("Mot de passe (confirmation) : ") != first:
            raise ValueError("Les deux saisies diffèrent.")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def command_portal(args, settings) -> int:
    import uvicorn

    from pipelines.portal.app import create_app

    app = create_app(settings, secure_cookie=args.secure_cookie)
    print(f"Portail des référents : http://{args.host}:{args.port}/ (comptes et état dans {settings.portal_dir})")
    sys.stdout.flush()
    # behind the reverse proxy on the same machine, the client's address (for the login limit) is the
    # one it forwards; a forwarded address from anywhere else is ignored
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        server_header=False,
    )
    return EXIT_OK


def _store(settings):
    from pipelines.portal.accounts import AccountStore

    return AccountStore(settings.portal_dir)


def command_add(args, settings) -> int:
    from pipelines.contract.discovery import discover_units
    from pipelines.portal.accounts import AccountError

    known = {u.source_id for u in discover_units()}
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    unknown = [s for s in sources if s not in known]
    if unknown:
        print(
            f"Source(s) inconnue(s) : {', '.join(unknown)}. Sources possibles : {', '.join(sorted(known))}.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        account = _store(settings).add(args.name, read_password(), sources)
    except (AccountError, ValueError) as error:
        print(str(error), file=sys.stderr)
        return EXIT_FAILED
    print(f"Compte « {account.name} » créé, pour : {', '.join(account.sources)}.")
    return EXIT_OK


def command_list(args, settings) -> int:
    accounts = _store(settings).accounts()
    if not accounts:
        print(f"Aucun compte (dossier du portail : {settings.portal_dir}).")
        return EXIT_OK
    width = max(len(name) for name in accounts)
    for name, account in sorted(accounts.items()):
        print(f"{name.ljust(width)}  sources : {', '.join(account.sources)}  (créé le {account.created_at})")
    return EXIT_OK


def command_remove(args, settings) -> int:
    from pipelines.portal.accounts import AccountError

    try:
        _store(settings).remove(args.name)
    except AccountError as error:
        print(str(error), file=sys.stderr)
        return EXIT_FAILED
    print(f"Compte « {args.name} » supprimé.")
    return EXIT_OK


def command_change_password(args, settings) -> int:
    from pipelines.portal.accounts import AccountError

    try:
        _store(settings).change_password(args.name, read_password())
    except (AccountError, ValueError) as error:
        print(str(error), file=sys.stderr)
        return EXIT_FAILED
    print(f"Mot de passe du compte « {args.name} » changé ; ses sessions ouvertes ont pris fin.")
    return EXIT_OK
