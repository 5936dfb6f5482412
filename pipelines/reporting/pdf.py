"""The printable pack (comite.pdf): A4, a synthesis, then one section per objective with its figures, charts
(reportlab's own vector charts), flags and source files, then the sources and their freshness.

The PDF uses the standard Helvetica (nothing to find or embed on the machine); the few characters it
cannot show are replaced (the narrow no-break space of French thousands by a no-break space).
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from pipelines.foundation.files import atomic_path
from pipelines.foundation.french import format_count, format_date, format_period
from pipelines.reporting.content import Chart, Pack, Section, roadmap_date_text, roadmap_value_text
from pipelines.reporting.svg import PALETTE, nice_ticks, tick_label, value_label

WIDTH = A4[0] - 30 * mm
# characters Helvetica (WinAnsi) lacks, and what is printed instead
REPLACED = str.maketrans({"\u202f": "\u00a0", "\u2212": "-", "\u2260": "<>", "\u2192": "->"})

_styles = getSampleStyleSheet()
BODY = ParagraphStyle("corps", parent=_styles["BodyText"], fontName="Helvetica", fontSize=9, leading=11.5)
SMALL = ParagraphStyle("petit", parent=BODY, fontSize=7.5, leading=9.5)
H1 = ParagraphStyle("titre", parent=_styles["Title"], fontName="Helvetica-Bold", fontSize=17, leading=21)
H2 = ParagraphStyle("section", parent=_styles["Heading2"], fontName="Helvetica-Bold", fontSize=13, leading=16)
H3 = ParagraphStyle("soustitre", parent=_styles["Heading3"], fontName="Helvetica-Bold", fontSize=10, leading=13)
FLAG = ParagraphStyle("alerte", parent=BODY, textColor=colors.HexColor("#9a3b00"))
BIG = ParagraphStyle("chiffre", parent=BODY, fontName="Helvetica-Bold", fontSize=12, leading=15)


def text(value: object) -> str:
    return escape(str(value)).translate(REPLACED)


def p(value: object, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(text(value), style)


def write_pdf(pack: Pack, path: Path) -> Path:
    with atomic_path(path) as temporary:
        document = SimpleDocTemplate(
            str(temporary),
            pagesize=A4,
            leftMargin=15 * mm,
            rightMargin=15 * mm,
            topMargin=15 * mm,
            bottomMargin=18 * mm,
            title=f"Dossier du comité e-santé {pack.territory}",
            author="Entrepôt e-santé",
            lang="fr",
        )

        def footer(canvas, doc) -> None:
            canvas.saveState()
            canvas.setFont("Helvetica", 7)
            canvas.drawString(15 * mm, 10 * mm, pack.identity.translate(REPLACED))
            canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, f"page {doc.page}")
            canvas.restoreState()

        document.build(_story(pack), onFirstPage=footer, onLaterPages=footer)
    return path


def _story(pack: Pack) -> list:
    story = [
        p(f"Feuille de route e-santé {pack.territory} 2025-2026 : dossier du comité", H1),
        p(f"{pack.identity}. Dossier produit le {format_date(pack.built_at)} à {pack.built_at:%H:%M}."),
        Spacer(1, 4 * mm),
        p("Synthèse", H2),
        _synthesis(pack),
    ]
    for section in pack.sections:
        story += [PageBreak(), *_section(section, pack)]
    story += [PageBreak(), *_sources(pack)]
    return story


def _grid(rows: list[list], widths: list[float], header: bool = True) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 7.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#c8ced6")),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dce6f1")))
    table.setStyle(TableStyle(style))
    return table


def _synthesis(pack: Pack) -> Table:
    rows = [
        [
            p(h, SMALL)
            for h in ("Objectif", "Indicateur", "Territoire", "Période", "Valeur", "Feuille de route", "Statut")
        ]
    ]
    for section in pack.sections:
        figures = [*section.figures, *section.others]
        if not figures:
            rows.append(
                [p(f"{section.number}. {section.short_title}", SMALL), p("aucune donnée", SMALL), "", "", "", "", ""]
            )
        for figure in figures:
            rows.append(
                [
                    p(f"{section.number}. {section.short_title}", SMALL),
                    p(figure.title, SMALL),
                    p(figure.territory, SMALL),
                    p(figure.period_text, SMALL),
                    p(figure.headline, SMALL),
                    p(f"{figure.roadmap_text} ({figure.roadmap_date})" if figure.roadmap else "", SMALL),
                    p(figure.status, SMALL),
                ]
            )
    return _grid(rows, [w * mm for w in (24, 50, 22, 14, 26, 24, 20)])


def _section(section: Section, pack: Pack) -> list:
    story = [p(f"Objectif {section.number} – {section.title}", H2)]
    if not section.has_data:
        story.append(p(section.empty_text))
    for figure in section.figures:
        lines = [
            p(figure.title, H3),
            p(f"{figure.headline}  –  {figure.territory}, {figure.period_text}", BIG),
        ]
        if figure.previous is not None:
            lines.append(p(f"Précédente : {figure.previous_text} ; évolution : {figure.change_text or '0'}"))
        if figure.roadmap is not None:
            same = figure.at_roadmap_date_text
            lines.append(
                p(
                    f"Feuille de route : {figure.roadmap_text}, {figure.roadmap_date}"
                    + (f" ; entrepôt à cette date : {same}" if same else "")
                    + f". « {figure.roadmap.text} »"
                )
            )
        if figure.target_text:
            lines.append(p(f"Cible : {figure.target_text}"))
        lines.append(p(f"Statut : {figure.status}"))
        story.append(KeepTogether(lines))
    if section.others:
        story.append(p("Autres territoires", H3))
        rows = [[p(h, SMALL) for h in ("Indicateur", "Territoire", "Période", "Valeur")]]
        rows += [
            [p(f.title, SMALL), p(f.territory, SMALL), p(f.period_text, SMALL), p(f.headline, SMALL)]
            for f in section.others
        ]
        story.append(_grid(rows, [w * mm for w in (90, 35, 20, 35)]))
    attached = {id(f.roadmap) for f in section.figures if f.roadmap is not None}
    published = [r for r in section.roadmap if id(r) not in attached]
    if published:
        story.append(p("Chiffres publiés par la feuille de route", H3))
        for figure in published:
            kind = ", cible" if figure.nature == "objectif" else ""
            story.append(
                p(
                    f"{roadmap_value_text(figure)} ({figure.territory}, {roadmap_date_text(figure)}{kind}) : "
                    f"« {figure.text} »" + (f" {figure.note}" if figure.note else "")
                )
            )
    for chart in section.charts:
        story.append(KeepTogether([Spacer(1, 3 * mm), p(chart.title, H3), _drawing(chart)]))
    for note in section.notes:
        story.append(p(note, SMALL))
    if section.flags:
        story.append(p("Qualité des données", H3))
        story += [p(f"• {flag}", FLAG) for flag in section.flags]
    if section.lineage:
        story.append(p("Fichiers dont ces chiffres sont calculés", H3))
        rows = [[p(h, SMALL) for h in ("Fichier", "Période", "Lignes", "Reçu le", "Empreinte")]]
        rows += [
            [
                p(u.file_name, SMALL),
                p(format_period(u.period, "mois") if u.period else "", SMALL),
                p(format_count(u.rows), SMALL),
                p(format_date(u.first_seen_at), SMALL),
                p(u.sha256[:12], SMALL),
            ]
            for u in section.lineage
        ]
        story.append(_grid(rows, [w * mm for w in (85, 20, 20, 25, 30)]))
    return story


def _drawing(chart: Chart) -> Drawing:
    if chart.kind == "line":
        return _line(chart)
    return _bars(chart)


def _axis(axis, chart: Chart, values: list[float]) -> None:
    ticks = nice_ticks(max(values, default=0), chart.unit)
    axis.valueMin, axis.valueMax = 0, ticks[-1] or 1
    axis.valueStep = ticks[1] - ticks[0] if len(ticks) > 1 else axis.valueMax
    axis.labels.fontName, axis.labels.fontSize = "Helvetica", 7
    axis.labelTextFormat = lambda v: tick_label(v, chart.unit).translate(REPLACED)


def _legend(drawing: Drawing, chart: Chart, y: float) -> None:
    if len(chart.series) < 2:
        return
    legend = Legend()
    legend.x, legend.y = 40, y
    legend.fontName, legend.fontSize = "Helvetica", 7
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.colorNamePairs = [
        (colors.HexColor(PALETTE[i % len(PALETTE)]), name.translate(REPLACED))
        for i, (name, _) in enumerate(chart.series)
    ]
    legend.dxTextSpace = 4
    legend.deltax = 90
    drawing.add(legend)


def _line(chart: Chart) -> Drawing:
    height = 170
    drawing = Drawing(WIDTH, height)
    plot = HorizontalLineChart()
    plot.x, plot.y, plot.width, plot.height = 45, 35, WIDTH - 70, height - 55
    plot.data = [[v if v is not None else 0 for v in s] for _, s in chart.series]
    plot.categoryAxis.categoryNames = chart.categories
    plot.categoryAxis.labels.fontName, plot.categoryAxis.labels.fontSize = "Helvetica", 6.5
    every = max(1, -(-len(chart.categories) // 8))
    plot.categoryAxis.categoryNames = [
        c if i % every == 0 or i == len(chart.categories) - 1 else "" for i, c in enumerate(chart.categories)
    ]
    _axis(plot.valueAxis, chart, [v for _, s in chart.series for v in s if v is not None])
    for i in range(len(chart.series)):
        plot.lines[i].strokeColor = colors.HexColor(PALETTE[i % len(PALETTE)])
        plot.lines[i].strokeWidth = 1.8
    drawing.add(plot)
    last = chart.series[0][1][-1]
    drawing.add(
        String(
            WIDTH - 25,
            height - 12,
            value_label(last, chart.unit).translate(REPLACED),
            fontName="Helvetica-Bold",
            fontSize=8,
            textAnchor="end",
        )
    )
    _legend(drawing, chart, 10)
    return drawing


def _bars(chart: Chart) -> Drawing:
    horizontal = chart.kind == "bar"
    count = len(chart.categories)
    height = max(140, 16 * count + 40) if horizontal else 170 + (15 if len(chart.series) > 1 else 0)
    drawing = Drawing(WIDTH, height)
    plot = HorizontalBarChart() if horizontal else VerticalBarChart()
    if horizontal:
        plot.x, plot.y, plot.width, plot.height = 175, 20, WIDTH - 230, height - 30
        # reportlab draws the first category at the bottom: reverse to keep the table's order
        categories = list(reversed(chart.categories))
        data = [list(reversed([v or 0 for v in s])) for _, s in chart.series]
    else:
        plot.x, plot.y, plot.width, plot.height = 45, 40 + (15 if len(chart.series) > 1 else 0), WIDTH - 60, 110
        categories = list(chart.categories)
        data = [[v or 0 for v in s] for _, s in chart.series]
    plot.data = data
    plot.categoryAxis.categoryNames = [c if len(c) <= 40 else c[:39] + "…" for c in categories]
    plot.categoryAxis.labels.fontName, plot.categoryAxis.labels.fontSize = "Helvetica", 6.5
    _axis(plot.valueAxis, chart, [v for _, s in chart.series for v in s if v is not None])
    for i in range(len(chart.series)):
        plot.bars[i].fillColor = colors.HexColor(PALETTE[i % len(PALETTE)])
        plot.bars[i].strokeColor = None
    plot.barLabelFormat = lambda v: value_label(v, chart.unit).translate(REPLACED)
    plot.barLabels.fontName, plot.barLabels.fontSize = "Helvetica", 6.5
    plot.barLabels.nudge = 8 if horizontal else 6
    drawing.add(plot)
    _legend(drawing, chart, 12)
    return drawing


def _sources(pack: Pack) -> list:
    story = [p("Sources et fraîcheur", H2)]
    rows = [[p(h, SMALL) for h in ("Source", "Dernier fichier accepté", "Période", "Reçu le", "Âge (jours)", "État")]]
    for item in pack.freshness:
        last = item.last
        rows.append(
            [
                p(item.label, SMALL),
                p(last.file_name if last else "", SMALL),
                p(format_period(last.period, "mois") if last and last.period else "", SMALL),
                p(format_date(last.first_seen_at) if last else "", SMALL),
                p("" if item.age_days is None else format_count(item.age_days), SMALL),
                p(item.status, SMALL),
            ]
        )
    story.append(_grid(rows, [w * mm for w in (45, 50, 15, 18, 14, 38)]))
    if pack.failed_checks:
        story.append(p("Contrôles de qualité en échec", H3))
        story += [
            p(f"• {message if message.startswith(label) else f'{label} : {message}'}", FLAG)
            for label, _severity, message in pack.failed_checks
        ]
    return story
