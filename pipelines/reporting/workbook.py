"""The committee workbook (comite.xlsx): a synthesis, one sheet per objective with native Excel charts and
their data beside them, and the sources with their freshness and failed checks.

Numbers stay numbers (Excel shows them with the reader's French separators), texts are always stored as
texts (never a formula), every table has a frozen header and a filter, and every sheet prints on A4,
fitted to the width, with the snapshot named in its footer.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

from pipelines.foundation.files import atomic_path
from pipelines.reporting.content import Chart, Figure, Pack, Section, roadmap_date_text

UNIT_FORMATS = {"taux": "0.0 %", "nombre": "#,##0", "par habitant": "0.00", "moyenne": "0.0"}
COUNT = "#,##0"
POINTS = '+0.0" pt";-0.0" pt";0.0" pt"'
DATE_FORMATS = {"mois": "mm/yyyy", "trimestre": "mm/yyyy", "annee": "yyyy", "date": "dd/mm/yyyy"}
DATETIME = "dd/mm/yyyy hh:mm"
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
TITLE = Font(bold=True, size=14)
BOLD = Font(bold=True)
CHART_ROWS = 16  # rows a chart covers at its default height
STATUS_NAMES = {"accepted": "accepté", "rejected": "rejeté"}

SYNTHESIS_HEADERS = (
    "Objectif",
    "Indicateur",
    "Segment",
    "Territoire",
    "Période",
    "Date de la période",
    "Valeur",
    "Numérateur",
    "Dénominateur",
    "Unité",
    "Période précédente",
    "Valeur précédente",
    "Évolution",
    "Feuille de route : valeur",
    "Feuille de route : date",
    "Feuille de route : texte publié",
    "Entrepôt à la date de la feuille de route",
    "Cible",
    "Statut",
    "Note",
)


def write_workbook(pack: Pack, path: Path) -> Path:
    workbook = Workbook()
    synthesis = workbook.active
    synthesis.title = "Synthèse"
    _synthesis(synthesis, pack)
    for section in pack.sections:
        _objective(workbook.create_sheet(_sheet_name(section)), section, pack)
    _sources(workbook.create_sheet("Sources et fraîcheur"), pack)
    for sheet in workbook.worksheets:
        _print_setup(sheet, pack)
    workbook.properties.title = f"Dossier du comité e-santé {pack.territory}"
    workbook.properties.creator = "Entrepôt e-santé"
    with atomic_path(path) as temporary:
        workbook.save(temporary)
    return path


def _sheet_name(section: Section) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", f"{section.number}. {section.short_title}")[:31]


def put(sheet, row: int, column: int, value: object, number_format: str | None = None):
    """One cell; a text stays a text even when it starts with '='."""
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    if number_format and value is not None:
        cell.number_format = number_format
    return cell


def _title(sheet, text: str, pack: Pack) -> None:
    put(sheet, 1, 1, text).font = TITLE
    put(sheet, 2, 1, pack.identity + f". Dossier produit le {pack.built_at:%d/%m/%Y à %H:%M}.")


def _header(sheet, row: int, headers, widths: dict[int, int] | None = None) -> None:
    for index, header in enumerate(headers, start=1):
        cell = put(sheet, row, index, header)
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for index, width in (widths or {}).items():
        sheet.column_dimensions[get_column_letter(index)].width = width


def _add_table(sheet, name: str, first_row: int, last_row: int, columns: int) -> None:
    """A native Excel table over a block: its own filter buttons and banded rows."""
    if last_row <= first_row:
        return
    reference = f"A{first_row}:{get_column_letter(columns)}{last_row}"
    table = Table(displayName=name, ref=reference)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    sheet.add_table(table)


def _period_day(figure: Figure) -> dt.date | None:
    return figure.current.period if figure.current else None


def _figure_row(figure: Figure, section: Section) -> list[tuple[object, str | None]]:
    unit = figure.unit
    current = figure.current
    roadmap = figure.roadmap
    grain = figure.indicator.grain
    return [
        (f"{section.number}. {section.short_title}", None),
        (figure.indicator.label, None),
        (figure.segment_label or "ensemble", None),
        (figure.territory, None),
        (figure.period_text, None),
        (_period_day(figure), DATE_FORMATS.get(grain, "dd/mm/yyyy")),
        (current.value if current else None, UNIT_FORMATS.get(unit, "0.00")),
        (current.numerator if current else None, COUNT),
        (current.denominator if current else None, COUNT),
        (unit, None),
        (figure.previous_text.split(" (")[-1].rstrip(")") if figure.previous else None, None),
        (figure.previous.value if figure.previous else None, UNIT_FORMATS.get(unit, "0.00")),
        (figure.change, POINTS if unit == "taux" else UNIT_FORMATS.get(unit, "0.00")),
        (roadmap.value if roadmap else None, UNIT_FORMATS.get(unit, "0.00")),
        (roadmap_date_text(roadmap) if roadmap else None, None),
        (roadmap.text if roadmap else None, None),
        (figure.at_roadmap_date.value if figure.at_roadmap_date else None, UNIT_FORMATS.get(unit, "0.00")),
        (figure.target, UNIT_FORMATS.get(unit, "0.00")),
        (figure.status, None),
        (current.note if current and current.note else (roadmap.note if roadmap else None), None),
    ]


SYNTHESIS_WIDTHS = {1: 22, 2: 46, 3: 26, 4: 20, 5: 10, 6: 12, 7: 10, 8: 12, 9: 13, 10: 12, 11: 12, 12: 12, 13: 11}
SYNTHESIS_WIDTHS.update({14: 13, 15: 13, 16: 50, 17: 14, 18: 10, 19: 26, 20: 40})


def _synthesis(sheet, pack: Pack) -> None:
    _title(sheet, f"Synthèse des indicateurs de la feuille de route e-santé – {pack.territory}", pack)
    header_row = 4
    _header(sheet, header_row, SYNTHESIS_HEADERS, SYNTHESIS_WIDTHS)
    row = header_row
    for section in pack.sections:
        figures = [*section.figures, *section.others]
        if not figures:
            row += 1
            put(sheet, row, 1, f"{section.number}. {section.short_title}")
            put(sheet, row, 19, "aucune donnée")
            put(sheet, row, 20, section.empty_text)
        for figure in figures:
            row += 1
            for column, (value, number_format) in enumerate(_figure_row(figure, section), start=1):
                put(sheet, row, column, value, number_format)
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=3)
    sheet.auto_filter.ref = f"A{header_row}:{get_column_letter(len(SYNTHESIS_HEADERS))}{row}"
    sheet.print_title_rows = f"{header_row}:{header_row}"


KEY_HEADERS = (
    "Indicateur",
    "Segment",
    "Territoire",
    "Période",
    "Valeur",
    "Numérateur",
    "Dénominateur",
    "Valeur précédente",
    "Évolution",
    "Feuille de route",
    "Date publiée",
    "Cible",
    "Statut",
)


def _objective(sheet, section: Section, pack: Pack) -> None:
    _title(sheet, f"Objectif {section.number} – {section.title}", pack)
    widths = {1: 40, 2: 14, 3: 14, 4: 14, 5: 12, 6: 14, 7: 14, 8: 14, 9: 11, 10: 14, 11: 12, 12: 10, 13: 24}
    for index, width in widths.items():
        sheet.column_dimensions[get_column_letter(index)].width = width
    row = 4
    tables = 0

    def table_name() -> str:
        nonlocal tables
        tables += 1
        return f"Objectif{section.number}_{tables}"

    if not section.has_data:
        put(sheet, row, 1, section.empty_text).font = Font(italic=True)
        row += 2
    else:
        put(sheet, row, 1, "Chiffres clés").font = BOLD
        row += 1
        first = row
        _header(sheet, row, KEY_HEADERS)
        sheet.freeze_panes = sheet.cell(row=row + 1, column=1)
        for figure in [*section.figures, *section.others]:
            row += 1
            unit_format = UNIT_FORMATS.get(figure.unit, "0.00")
            current = figure.current
            values = [
                (figure.indicator.label, None),
                (figure.segment_label or "ensemble", None),
                (figure.territory, None),
                (_period_day(figure), DATE_FORMATS.get(figure.indicator.grain, "dd/mm/yyyy")),
                (current.value if current else None, unit_format),
                (current.numerator if current else None, COUNT),
                (current.denominator if current else None, COUNT),
                (figure.previous.value if figure.previous else None, unit_format),
                (figure.change, POINTS if figure.unit == "taux" else unit_format),
                (figure.roadmap.value if figure.roadmap else None, unit_format),
                (roadmap_date_text(figure.roadmap) if figure.roadmap else None, None),
                (figure.target, unit_format),
                (figure.status, None),
            ]
            for column, (value, number_format) in enumerate(values, start=1):
                put(sheet, row, column, value, number_format)
        _add_table(sheet, table_name(), first, row, len(KEY_HEADERS))
        row += 2

    published = [r for r in section.roadmap if not any(f.roadmap is r for f in section.figures)]
    if published:
        put(sheet, row, 1, "Chiffres publiés par la feuille de route").font = BOLD
        row += 1
        first = row
        _header(sheet, row, ("Texte publié", "Territoire", "Date", "Valeur", "Numérateur", "Dénominateur", "Nature"))
        for figure in published:
            row += 1
            for column, (value, number_format) in enumerate(
                [
                    (figure.text, None),
                    (figure.territory, None),
                    (roadmap_date_text(figure), None),
                    (figure.value, UNIT_FORMATS.get(figure.unit, "0.00")),
                    (figure.numerator, COUNT),
                    (figure.denominator, COUNT),
                    ("cible" if figure.nature == "objectif" else "constat", None),
                ],
                start=1,
            ):
                put(sheet, row, column, value, number_format)
        _add_table(sheet, table_name(), first, row, 7)
        row += 2

    for chart in section.charts:
        row = _chart_block(sheet, chart, row, table_name())

    for note in [*section.notes, *section.flags]:
        put(sheet, row, 1, note).alignment = Alignment(wrap_text=False)
        row += 1
    if section.lineage:
        row += 1
        put(sheet, row, 1, "Fichiers dont ces chiffres sont calculés").font = BOLD
        row += 1
        row = _uploads_table(sheet, row, section.lineage, pack, table_name())


def _uploads_table(sheet, row: int, uploads, pack, name: str, *, with_status: bool = False) -> int:
    """One row per uploaded file (its status too, for the list of all the files): the last row written."""
    headers = ["Fichier", "Source", "Statut", "Période", "Lignes", "Reçu le", "Traité le", "Empreinte SHA-256"]
    if not with_status:
        headers.remove("Statut")
    first = row
    _header(sheet, row, headers)
    for upload in uploads:
        row += 1
        status = [(STATUS_NAMES.get(upload.status, upload.status), None)] if with_status else []
        values = [
            (upload.file_name, None),
            (pack.snapshot.source_label(upload.source_id), None),
            *status,
            (upload.period, "mm/yyyy"),
            (upload.rows, COUNT),
            (upload.first_seen_at, DATETIME),
            (upload.processed_at, DATETIME),
            (upload.sha256, None),
        ]
        for column, (value, number_format) in enumerate(values, start=1):
            put(sheet, row, column, value, number_format)
    _add_table(sheet, name, first, row, len(headers))
    return row


def _chart_block(sheet, chart: Chart, row: int, name: str) -> int:
    """The chart's data from column A, the native chart beside it (column G); returns the next free row."""
    put(sheet, row, 1, chart.title).font = BOLD
    row += 1
    header_row = row
    _header(sheet, row, [c.header for c in chart.columns])
    for values in chart.rows:
        row += 1
        for column, (value, spec) in enumerate(zip(values, chart.columns), start=1):
            if spec.kind == "period":
                number_format = DATE_FORMATS.get(chart.grain, "dd/mm/yyyy")
            elif spec.kind == "count":
                number_format = COUNT
            elif spec.kind == "value":
                number_format = UNIT_FORMATS.get(spec.unit, "0.00")
            else:
                number_format = None
            put(sheet, row, column, value, number_format)
    _add_table(sheet, name, header_row, row, len(chart.columns))
    native = _native_chart(sheet, chart, header_row, row)
    sheet.add_chart(native, f"G{header_row - 1}")
    return max(row, header_row - 1 + CHART_ROWS) + 2


def _native_chart(sheet, chart: Chart, header_row: int, last_row: int):
    headers = [c.header for c in chart.columns]
    categories = Reference(sheet, min_col=1, min_row=header_row + 1, max_row=last_row)
    if chart.kind == "line":
        native = LineChart()
        value_columns = [i + 1 for i, c in enumerate(chart.columns) if c.kind == "value"]
    else:
        native = BarChart()
        native.type = "bar" if chart.kind == "bar" else "col"
        native.grouping = "clustered"
        # the series the chart shows (numerator and denominator columns), else the value column
        value_columns = [headers.index(n) + 1 for n, _ in chart.series if n in headers] or [
            i + 1 for i, c in enumerate(chart.columns) if c.kind == "value"
        ]
    for column in value_columns:
        native.add_data(Reference(sheet, min_col=column, min_row=header_row, max_row=last_row), titles_from_data=True)
    native.set_categories(categories)
    native.title = chart.title if len(chart.title) <= 90 else chart.title[:89] + "…"
    native.height, native.width = 7.5, 17
    number_format = "0%" if chart.unit == "taux" else ("#,##0" if chart.unit == "nombre" else "0.00")
    native.y_axis.number_format = number_format
    native.x_axis.delete = False  # openpyxl 3.1 hides the axes unless told
    native.y_axis.delete = False
    if chart.kind == "bar":
        native.x_axis.scaling.orientation = "maxMin"  # first territory on top, as in the table
        native.height = max(7.5, 0.5 * len(chart.categories) + 2)
    if len(value_columns) < 2:
        native.legend = None
    return native


def _sources(sheet, pack: Pack) -> None:
    _title(sheet, "Sources : dernier fichier accepté, fraîcheur, contrôles de qualité", pack)
    header_row = 4
    headers = (
        "Source",
        "Objectif",
        "Dernier fichier accepté",
        "Période",
        "Reçu le",
        "Âge des données à la publication (jours)",
        "Fraîcheur attendue (jours)",
        "Fichiers acceptés",
        "Fichiers rejetés",
        "État",
    )
    _header(sheet, header_row, headers, {1: 46, 2: 9, 3: 46, 4: 10, 5: 16, 6: 16, 7: 14, 8: 10, 9: 10, 10: 36})
    row = header_row
    for item in pack.freshness:
        row += 1
        last = item.last
        for column, (value, number_format) in enumerate(
            [
                (item.label, None),
                (item.objective, "0"),
                (last.file_name if last else None, None),
                (last.period if last else None, "mm/yyyy"),
                (last.first_seen_at if last else None, DATETIME),
                (item.age_days, COUNT),
                (item.limit_days, COUNT),
                (item.accepted, COUNT),
                (item.rejected, COUNT),
                (item.status, None),
            ],
            start=1,
        ):
            put(sheet, row, column, value, number_format)
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=2)
    sheet.auto_filter.ref = f"A{header_row}:{get_column_letter(len(headers))}{row}"
    sheet.print_title_rows = f"{header_row}:{header_row}"

    row += 2
    put(sheet, row, 1, "Contrôles de qualité en échec").font = BOLD
    row += 1
    first = row
    _header(sheet, row, ("Source", "Gravité", "Message"))
    if not pack.failed_checks:
        row += 1
        put(sheet, row, 1, "aucun")
    for label, severity, message in pack.failed_checks:
        row += 1
        put(sheet, row, 1, label)
        put(sheet, row, 2, severity)
        put(sheet, row, 3, message)
    _add_table(sheet, "ControlesEnEchec", first, row, 3)

    row += 2
    put(sheet, row, 1, "Fichiers déposés (tous)").font = BOLD
    row += 1
    row = _uploads_table(sheet, row, pack.snapshot.uploads, pack, "FichiersDeposes", with_status=True)


def _print_setup(sheet, pack: Pack) -> None:
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.oddFooter.left.text = pack.identity
    sheet.oddFooter.right.text = "Page &P / &N"
