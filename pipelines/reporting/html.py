"""The dashboard as one self-contained HTML file: inline CSS and SVG, system fonts, no script, and a
content security policy that forbids every request, so that it opens the same from an e-mail attachment."""

from __future__ import annotations

from html import escape

from pipelines.foundation.french import format_count, format_date, format_period, format_value
from pipelines.reporting import svg
from pipelines.reporting.content import (
    Chart,
    Figure,
    Pack,
    Section,
    roadmap_date_text,
    roadmap_value_text,
)

POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

STYLE = """
:root { color-scheme: light; --ink: #1d2530; --muted: #5b6573; --line: #d9dee5; --accent: #1f5f99;
        --warn: #9a3b00; --warn-bg: #fff4e5; --ok: #2e6b3a; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", "DejaVu Sans",
       Arial, sans-serif; color: var(--ink); background: #f5f7fa; line-height: 1.4; }
header, main, footer { max-width: 1180px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 24px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.25rem; margin: 0 0 12px; border-bottom: 2px solid var(--accent); padding-bottom: 4px; }
h3 { font-size: 1rem; margin: 0 0 6px; }
.identity { color: var(--muted); margin: 0 0 12px; }
nav { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 16px; }
nav a { color: var(--accent); background: #fff; border: 1px solid var(--line); border-radius: 14px;
        padding: 2px 10px; text-decoration: none; font-size: .9rem; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px;
          margin: 0 0 18px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 12px; }
.figure { border: 1px solid var(--line); border-radius: 8px; padding: 12px; }
.headline { margin: 4px 0; }
.headline .value { font-size: 1.9rem; font-weight: 700; color: var(--accent); }
.headline .ratio { font-size: 1rem; color: var(--muted); white-space: nowrap; }
.figure p { margin: 2px 0; font-size: .9rem; }
.where { font-weight: 600; }
.roadmap { color: #37474f; }
.quote { color: var(--muted); font-style: italic; }
.status { display: inline-block; margin-top: 6px; padding: 1px 8px; border-radius: 10px; background: #eef3f8;
          font-size: .85rem; }
.status.recul, .status.non-atteinte { background: var(--warn-bg); color: var(--warn); }
.status.progres { background: #e8f5ea; color: var(--ok); }
.others { margin-top: 12px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 16px; margin-top: 14px; }
figure { margin: 0; }
figcaption { font-weight: 600; font-size: .95rem; margin-bottom: 4px; }
svg.chart { max-width: 100%; height: auto; font-family: inherit; }
details { font-size: .85rem; margin-top: 4px; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f0f3f7; }
td.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.flags { background: var(--warn-bg); border-left: 4px solid var(--warn); padding: 8px 12px; margin-top: 14px; }
.flags ul { margin: 4px 0 0; padding-left: 18px; }
.flag { margin-bottom: 4px; }
.empty { font-style: italic; color: var(--muted); }
.notes { color: var(--muted); font-size: .88rem; }
footer { color: var(--muted); font-size: .85rem; padding-bottom: 24px; }
@page { size: A4; margin: 12mm; }
@media print {
  body { background: #fff; }
  section { break-inside: avoid-page; border: none; padding: 0; }
  nav { display: none; }
  details { display: block; }
}
"""


def render_html(pack: Pack) -> str:
    title = f"Feuille de route e-santé {pack.territory} 2025-2026 : tableau de bord"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="fr"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        "<header>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="identity" id="identite">{escape(pack.identity)}. Dossier produit le '
        f"{format_date(pack.built_at)} à {pack.built_at:%H:%M}. Territoire : {escape(pack.territory)}.</p>",
        "<nav>",
        '<a href="#synthese">Synthèse</a>',
        *(f'<a href="#objectif-{s.number}">{s.number}. {escape(s.short_title)}</a>' for s in pack.sections),
        '<a href="#sources">Sources et fraîcheur</a>',
        "</nav></header><main>",
        _synthesis(pack),
        *(_section(s) for s in pack.sections),
        _sources(pack),
        "</main>",
        f"<footer>{escape(pack.identity)}. Chaque chiffre vient de cette version de l'entrepôt ; les fichiers "
        "dont il est calculé sont nommés sous chaque objectif.</footer>",
        "</body></html>",
    ]
    return "\n".join(parts)


def _status_class(status: str) -> str:
    classes = ["status"]
    if "en recul" in status:
        classes.append("recul")
    if "en progrès" in status:
        classes.append("progres")
    if "non atteinte" in status:
        classes.append("non-atteinte")
    return " ".join(classes)


def _synthesis(pack: Pack) -> str:
    rows = []
    for section in pack.sections:
        figures = [*section.figures, *section.others]
        if not figures:
            rows.append(
                f"<tr><td>{section.number}. {escape(section.short_title)}</td>"
                f'<td colspan="8" class="empty">aucune donnée</td></tr>'
            )
        for figure in figures:
            rows.append(
                "<tr>"
                f"<td>{section.number}. {escape(section.short_title)}</td>"
                f"<td>{escape(figure.title)}</td>"
                f"<td>{escape(figure.territory)}</td>"
                f"<td>{escape(figure.period_text)}</td>"
                f'<td class="n">{escape(figure.headline)}</td>'
                f"<td>{escape(figure.previous_text)}</td>"
                f'<td class="n">{escape(figure.change_text)}</td>'
                f"<td>{escape(_roadmap_short(figure))}</td>"
                f'<td><span class="{_status_class(figure.status)}">{escape(figure.status)}</span></td>'
                "</tr>"
            )
    return (
        '<section id="synthese"><h2>Synthèse</h2><table><thead><tr><th>Objectif</th><th>Indicateur</th>'
        "<th>Territoire</th><th>Période</th><th>Valeur</th><th>Précédente</th><th>Évolution</th>"
        "<th>Feuille de route</th><th>Statut</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></section>"
    )


def _roadmap_short(figure: Figure) -> str:
    if figure.roadmap is None:
        return ""
    return f"{figure.roadmap_text} ({figure.roadmap_date})"


def _card(figure: Figure, quoted: set[str]) -> str:
    lines = [
        f'<article class="figure" data-indicator="{escape(figure.indicator.id)}" '
        f'data-territory="{escape(figure.territory)}" data-segment="{escape(figure.segment or "")}">',
        f"<h3>{escape(figure.title)}</h3>",
        f'<p class="headline"><span class="value">{escape(figure.value_text)}</span>'
        + (f' <span class="ratio">{escape(figure.ratio_text)}</span>' if figure.ratio_text else "")
        + "</p>",
        f'<p class="where">{escape(figure.territory)} · {escape(figure.period_text)}</p>',
    ]
    if figure.previous is not None:
        lines.append(
            f'<p class="previous">Précédente : {escape(figure.previous_text)} · évolution '
            f"{escape(figure.change_text or '0')}</p>"
        )
    if figure.roadmap is not None:
        same = figure.at_roadmap_date_text
        lines.append(
            f'<p class="roadmap">Feuille de route : {escape(figure.roadmap_text)}, {escape(figure.roadmap_date)}'
            + (f" ; entrepôt à cette date : {escape(same)}" if same else "")
            + "</p>"
        )
        if figure.roadmap.text not in quoted:  # a text quoted once per objective (crisis exercises: 3 figures)
            quoted.add(figure.roadmap.text)
            lines.append(f'<p class="quote">« {escape(figure.roadmap.text)} »</p>')
    if figure.target_text:
        lines.append(f'<p class="target">Cible : {escape(figure.target_text)}</p>')
    if figure.current is not None and figure.current.value is None and figure.current.note:
        lines.append(f'<p class="note">{escape(figure.current.note)}</p>')
    lines.append(f'<span class="{_status_class(figure.status)}">{escape(figure.status)}</span>')
    lines.append("</article>")
    return "".join(lines)


def _cell(value: object, kind: str, unit: str, grain: str) -> str:
    if value is None:
        return '<td class="n">–</td>'
    if kind == "period":
        return f"<td>{escape(format_period(value, grain))}</td>"
    if kind == "count":
        return f'<td class="n">{format_count(value)}</td>'
    if kind == "value":
        return f'<td class="n">{escape(format_value(value, unit))}</td>'
    return f"<td>{escape(str(value))}</td>"


def _chart(chart: Chart) -> str:
    head = "".join(f"<th>{escape(c.header)}</th>" for c in chart.columns)
    body = "".join(
        "<tr>" + "".join(_cell(v, c.kind, c.unit, chart.grain) for v, c in zip(row, chart.columns)) + "</tr>"
        for row in chart.rows
    )
    return (
        f'<figure data-chart="{escape(chart.key)}"><figcaption>{escape(chart.title)}</figcaption>{svg.render(chart)}'
        f"<details><summary>Données du graphique</summary><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></details></figure>"
    )


def _roadmap_list(figures, title: str) -> str:
    if not figures:
        return ""
    items = "".join(
        f"<li><strong>{escape(roadmap_value_text(f))}</strong> ({escape(f.territory)}, "
        f"{escape(roadmap_date_text(f))}{', cible' if f.nature == 'objectif' else ''}) : « {escape(f.text)} »"
        + (f" <em>{escape(f.note)}</em>" if f.note else "")
        + "</li>"
        for f in figures
    )
    return f'<div class="roadmap-list"><h3>{escape(title)}</h3><ul>{items}</ul></div>'


def _section(section: Section) -> str:
    parts = [
        f'<section id="objectif-{section.number}" class="objective" data-objective="{section.number}">',
        f"<h2>Objectif {section.number} – {escape(section.title)}</h2>",
    ]
    if not section.has_data:
        parts.append(f'<p class="empty">{escape(section.empty_text)}</p>')
    else:
        quoted: set[str] = set()
        parts.append('<div class="cards">' + "".join(_card(f, quoted) for f in section.figures) + "</div>")
        if section.others:
            rows = "".join(
                f'<tr data-indicator="{escape(f.indicator.id)}" data-territory="{escape(f.territory)}">'
                f"<td>{escape(f.title)}</td><td>{escape(f.territory)}</td><td>{escape(f.period_text)}</td>"
                f'<td class="n">{escape(f.headline)}</td><td>{escape(f.status)}</td></tr>'
                for f in section.others
            )
            parts.append(
                '<div class="others"><h3>Autres territoires</h3><table><thead><tr><th>Indicateur</th>'
                "<th>Territoire</th><th>Période</th><th>Valeur</th><th>Statut</th></tr></thead>"
                f"<tbody>{rows}</tbody></table></div>"
            )
    attached = {id(f.roadmap) for f in section.figures if f.roadmap is not None}
    shown_targets = {f.indicator.id for f in section.figures if f.target_text}
    unattached = [
        r
        for r in section.roadmap
        if id(r) not in attached and not (r.nature == "objectif" and r.indicator_id in shown_targets)
    ]
    parts.append(
        _roadmap_list(
            unattached,
            "Chiffres publiés par la feuille de route" if not section.has_data else "Autres chiffres publiés",
        )
    )
    if section.charts:
        parts.append('<div class="charts">' + "".join(_chart(c) for c in section.charts) + "</div>")
    if section.notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{escape(n)}</li>" for n in section.notes) + "</ul>")
    if section.flags:
        parts.append(
            '<div class="flags"><h3>Qualité des données</h3><ul>'
            + "".join(f'<li class="flag">{escape(f)}</li>' for f in section.flags)
            + "</ul></div>"
        )
    if section.lineage:
        rows = "".join(
            f"<tr><td>{escape(u.file_name)}</td><td>{escape(format_period(u.period, 'mois') if u.period else '')}</td>"
            f'<td class="n">{format_count(u.rows)}</td><td>{format_date(u.first_seen_at)}</td>'
            f"<td>{format_date(u.processed_at)}</td><td><code>{escape(u.sha256[:12])}</code></td></tr>"
            for u in section.lineage
        )
        parts.append(
            '<div class="lineage"><h3>Fichiers dont ces chiffres sont calculés</h3><table><thead><tr><th>Fichier</th>'
            "<th>Période</th><th>Lignes</th><th>Reçu le</th><th>Traité le</th><th>Empreinte</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
        )
    parts.append("</section>")
    return "".join(parts)


def _sources(pack: Pack) -> str:
    rows = []
    for item in pack.freshness:
        last = item.last
        rows.append(
            "<tr>"
            f"<td>{escape(item.label)}</td>"
            f"<td>{item.objective or ''}</td>"
            f"<td>{escape(last.file_name if last else '')}</td>"
            f"<td>{escape(format_period(last.period, 'mois') if last and last.period else '')}</td>"
            f"<td>{format_date(last.first_seen_at) if last else ''}</td>"
            f'<td class="n">{"" if item.age_days is None else format_count(item.age_days)}</td>'
            f'<td class="n">{item.accepted}</td><td class="n">{item.rejected}</td>'
            f"<td>{escape(item.status)}</td>"
            "</tr>"
        )
    checks = "".join(
        f'<li class="flag">{escape(message if message.startswith(label) else f"{label} : {message}")}</li>'
        for label, _severity, message in pack.failed_checks
    )
    return (
        '<section id="sources"><h2>Sources et fraîcheur</h2><table><thead><tr><th>Source</th><th>Objectif</th>'
        "<th>Dernier fichier accepté</th><th>Période</th><th>Reçu le</th><th>Âge des données (jours)</th>"
        "<th>Acceptés</th><th>Rejetés</th><th>État</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        + (f'<div class="flags"><h3>Contrôles de qualité en échec</h3><ul>{checks}</ul></div>' if checks else "")
        + "</section>"
    )
