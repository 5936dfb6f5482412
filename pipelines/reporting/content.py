"""What the committee pack says, objective by objective, computed from one published snapshot; the HTML,
the workbook and the PDF only lay it out.

Per objective: headline figures (value, numerator and denominator, period, territory by name, the
previous value and the change, the roadmap's published figure and the warehouse's value at its date,
the target, a status); trends over the periods held; breakdowns by the level below the territory (EPCI)
and by segment (category, status, phase, type); data-quality flags; the uploads the figures come from.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from pipelines.foundation.french import (
    format_count,
    format_date,
    format_decimal,
    format_period,
    format_ratio,
    format_value,
)
from pipelines.foundation.text import word_key
from pipelines.reporting.scope import LEVEL_NAMES
from pipelines.reporting.snapshot import IndicatorInfo, RoadmapFigure, Snapshot, Upload, Value

# The eight objectives of the Feuille de route e-santé Sarthe 2025-2026, as the roadmap titles them.
OBJECTIVES = {
    1: "Favoriser l'inclusion numérique pour toutes et tous",
    2: "Favoriser la connaissance et l'utilisation de Mon espace santé",
    3: "Renforcer la représentation des élus locaux dans la gouvernance e-santé",
    4: "Sensibiliser et acculturer à la cybersécurité",
    5: "Favoriser la connaissance des ressources d'accompagnement du numérique en santé",
    6: "Renforcer et optimiser l'offre en télésanté",
    7: "Favoriser l'équipement et l'usage des messageries sécurisées de santé",
    8: "Renforcer l'ergonomie des outils du numérique",
}
SHORT_TITLES = {
    1: "Inclusion numérique",
    2: "Mon espace santé",
    3: "Élus et CLS",
    4: "Cybersécurité",
    5: "Ressources",
    6: "Télésanté",
    7: "Messageries sécurisées",
    8: "Ergonomie",
}
# What the numerator and denominator of a breakdown count (the roadmap's CARE chart: candidates and total).
COUNT_NAMES = {
    "care_candidates_by_category": ("Candidats", "Total"),
    "care_registration_rate": ("Inscrits", "Éligibles"),
    "crisis_exercise_status": ("Établissements", "Devant réaliser un exercice"),
    "telemedicine_structures": ("Structures", "Total"),
    "telemedicine_structures_active": ("Réalisant des actes", "Requérantes"),
}
DEFAULT_COUNT_NAMES = ("Numérateur", "Dénominateur")
# Segments named <group>_<value> are read as one breakdown per group (telehealth: phase_1, type_ehpad…).
SEGMENT_GROUPS = {"phase": "par phase", "type": "par type", "role": "par rôle", "statut": "par statut"}
DEFAULT_GROUP = {
    "care_registration_rate": "par catégorie",
    "care_candidates_by_category": "par catégorie",
    "crisis_exercise_status": "par statut",
}
IGNORED_CHECKS = {"fichiers_deposes_valides"}


@dataclass
class Figure:
    """One headline figure: an indicator at a territory and segment, its latest value and context."""

    indicator: IndicatorInfo
    level: str
    code: str
    territory: str
    segment: str | None
    segment_label: str | None
    current: Value | None
    previous: Value | None
    roadmap: RoadmapFigure | None = None
    at_roadmap_date: Value | None = None  # the warehouse's value for the roadmap figure's period
    target: float | None = None
    target_text: str = ""
    status: str = ""

    @property
    def unit(self) -> str:
        return self.current.unit if self.current else self.indicator.unit

    @property
    def title(self) -> str:
        return self.indicator.label + (f" – {self.segment_label}" if self.segment_label else "")

    @property
    def value_text(self) -> str:
        if self.current is None:
            return "–"
        if self.current.value is None:
            return "non défini"
        return format_value(self.current.value, self.unit)

    @property
    def ratio_text(self) -> str:
        """'(123 / 156)' for a rate or a ratio, '' for a plain count."""
        current = self.current
        if current is None or current.denominator is None or current.numerator is None:
            return ""
        return f"({format_ratio(current.numerator, current.denominator)})"

    @property
    def headline(self) -> str:
        return f"{self.value_text} {self.ratio_text}".strip()

    @property
    def period_text(self) -> str:
        return format_period(self.current.period, self.indicator.grain) if self.current else ""

    @property
    def previous_text(self) -> str:
        if self.previous is None:
            return ""
        return (
            f"{format_value(self.previous.value, self.unit)} "
            f"({format_period(self.previous.period, self.indicator.grain)})"
        )

    @property
    def change(self) -> float | None:
        """Current minus previous value (a rate's change in points: 0.023 -> 2.3)."""
        if self.current is None or self.previous is None:
            return None
        if self.current.value is None or self.previous.value is None:
            return None
        difference = self.current.value - self.previous.value
        return difference * 100 if self.unit == "taux" else difference

    @property
    def change_text(self) -> str:
        return change_text(self.change, self.unit)

    @property
    def roadmap_text(self) -> str:
        """The roadmap's figure as published: '78,8 % (123 / 156), 06/2024'."""
        figure = self.roadmap
        if figure is None:
            return ""
        return roadmap_value_text(figure)

    @property
    def roadmap_date(self) -> str:
        return roadmap_date_text(self.roadmap) if self.roadmap else ""

    @property
    def at_roadmap_date_text(self) -> str:
        found = self.at_roadmap_date
        if self.roadmap is None or self.roadmap.period is None:
            return ""
        if found is None:
            return "pas de valeur dans l'entrepôt à cette date"
        ratio = (
            f" ({format_ratio(found.numerator, found.denominator)})"
            if found.denominator is not None and found.numerator is not None
            else ""
        )
        return f"{format_value(found.value, found.unit)}{ratio}"


@dataclass
class Column:
    header: str
    kind: str  # 'text', 'count', 'value' (in `unit`), 'period'
    unit: str = ""


@dataclass
class Chart:
    """A chart and the data beside it (categories x series; the table holds the numerators too)."""

    key: str
    title: str
    kind: str  # 'line' (periods), 'bar' (horizontal: territories), 'column' (segments)
    unit: str  # of the series values ('taux' shown as %)
    categories: list[str]
    series: list[tuple[str, list[float | None]]]
    columns: list[Column]
    rows: list[list[object]]
    grain: str = "mois"
    note: str = ""


@dataclass
class Section:
    number: int
    title: str
    indicators: list[IndicatorInfo]
    figures: list[Figure] = field(default_factory=list)
    others: list[Figure] = field(default_factory=list)  # the same indicators at the other territories
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the charts cannot show yet (one period)
    flags: list[str] = field(default_factory=list)
    roadmap: list[RoadmapFigure] = field(default_factory=list)  # every figure the roadmap publishes here
    lineage: list[Upload] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return any(f.current is not None for f in self.figures)

    @property
    def short_title(self) -> str:
        return SHORT_TITLES.get(self.number, f"Objectif {self.number}")

    @property
    def empty_text(self) -> str:
        if not self.indicators:
            return "Aucune donnée pour cet objectif dans l'entrepôt publié : aucune source ne l'alimente encore."
        return (
            "Aucune donnée pour cet objectif dans l'entrepôt publié : les indicateurs prévus ("
            + ", ".join(i.label for i in self.indicators)
            + ") n'ont encore aucune valeur."
        )


@dataclass
class Freshness:
    source_id: str
    label: str
    objective: int | None
    last: Upload | None  # the last accepted upload (latest period, then latest received)
    age_days: int | None  # from the period of the last accepted upload to the publication
    limit_days: int | None
    accepted: int
    rejected: int

    @property
    def status(self) -> str:
        if self.last is None:
            return "aucun fichier accepté"
        if self.limit_days is not None and self.age_days is not None and self.age_days > self.limit_days:
            return f"en retard (attendu au moins tous les {self.limit_days} jours)"
        return "à jour"


@dataclass
class Pack:
    snapshot: Snapshot
    sections: list[Section]
    freshness: list[Freshness]
    failed_checks: list[tuple[str, str, str]]  # (source label, severity, message)
    built_at: dt.datetime

    @property
    def territory(self) -> str:
        scope = self.snapshot.scope
        return self.snapshot.name(scope.level, scope.code)

    @property
    def identity(self) -> str:
        """'Entrepôt publié le 04/12/2026 à 18:43 (exécution Dagster 13f617e6, version esante-….duckdb)'."""
        snapshot = self.snapshot
        run = f"exécution Dagster {snapshot.run_id[:8]}" if snapshot.run_id else "exécution inconnue"
        return (
            f"Entrepôt publié le {format_date(snapshot.published_at)} à {snapshot.published_at:%H:%M} "
            f"({run}, version {snapshot.version.name})"
        )

    @property
    def synthesis(self) -> list[Figure]:
        return [f for s in self.sections for f in (*s.figures, *s.others)]


def change_text(change: float | None, unit: str) -> str:
    if change is None:
        return ""
    sign = "+" if change > 0 else "−" if change < 0 else ""
    if unit == "taux":
        amount = format_decimal(abs(change), 1)
        return f"{sign}{amount} pt" + ("s" if abs(change) >= 2 else "")
    return f"{sign}{format_value(abs(change), unit)}"


def roadmap_value_text(figure: RoadmapFigure) -> str:
    if figure.value is None and figure.numerator is None:
        return "graphique sans valeur lisible"
    if figure.value is None:
        shown = format_count(figure.numerator)
    elif (
        figure.unit == "taux"
        and figure.numerator is None
        and abs(figure.value * 100 - round(figure.value * 100)) < 1e-9
    ):
        shown = f"{round(figure.value * 100)} %"  # as published: 69 %, not 69,0 %
    else:
        shown = format_value(figure.value, figure.unit)
    if figure.denominator is not None and figure.numerator is not None:
        shown += f" ({format_ratio(figure.numerator, figure.denominator)})"
    return shown


def roadmap_date_text(figure: RoadmapFigure) -> str:
    if figure.period is None:
        return "non datée"
    return format_period(figure.period, figure.grain or "date")


def period_start(day: dt.date, grain: str) -> dt.date:
    """The period of an indicator that holds `day` (a quarter's first day for a quarterly indicator)."""
    if grain == "mois":
        return day.replace(day=1)
    if grain == "trimestre":
        return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    if grain == "annee":
        return dt.date(day.year, 1, 1)
    return day


# --- building ---------------------------------------------------------------------------------------


class Series(dict):
    """(indicator, level, code, segment) -> its values by period; segments in the catalogue's order."""

    def __init__(self, snapshot: Snapshot):
        super().__init__()
        for value in snapshot.values:
            self.setdefault((value.indicator_id, value.level, value.code, value.segment), []).append(value)
        for values in self.values():
            values.sort(key=lambda v: v.period)
        self.order = {key: rank for rank, key in enumerate(snapshot.segment_labels)}

    def rank(self, indicator_id: str, segment: str | None) -> tuple:
        return (segment is not None, self.order.get((indicator_id, segment), 999), segment or "")

    def segments(self, indicator_id: str, territory: tuple[str, str]) -> list[str | None]:
        """Segments held at the territory: the whole first, then the catalogue's order."""
        present = [key[3] for key in self if key[0] == indicator_id and (key[1], key[2]) == territory]
        return sorted(present, key=lambda s: self.rank(indicator_id, s))


def build_content(snapshot: Snapshot, built_at: dt.datetime | None = None) -> Pack:
    series = Series(snapshot)
    sections = [_section(number, title, snapshot, series) for number, title in sorted(_objectives(snapshot).items())]
    return Pack(
        snapshot=snapshot,
        sections=sections,
        freshness=_freshness(snapshot),
        failed_checks=[
            (snapshot.source_label(c.source_id), c.severity, c.message)
            for c in snapshot.checks
            if not c.passed and c.name not in IGNORED_CHECKS
        ],
        built_at=built_at or dt.datetime.now().replace(microsecond=0),
    )


def _objectives(snapshot: Snapshot) -> dict[int, str]:
    found = dict(OBJECTIVES)
    for indicator in snapshot.indicators:
        found.setdefault(indicator.objective, f"Objectif {indicator.objective}")
    return found


def _section(number: int, title: str, snapshot: Snapshot, series: Series) -> Section:
    indicators = [i for i in snapshot.indicators if i.objective == number]
    roadmap = [r for r in snapshot.roadmap if r.objective == number]
    section = Section(number, title, indicators, roadmap=roadmap)
    for indicator in indicators:
        figures, others = _figures(indicator, snapshot, series)
        section.figures += figures
        section.others += others
        if figures:
            _charts(section, indicator, figures[0], snapshot, series)
    section.flags = _flags(section, snapshot)
    section.lineage = _lineage(section, snapshot)
    return section


def _figures(indicator: IndicatorInfo, snapshot: Snapshot, series: Series) -> tuple[list[Figure], list[Figure]]:
    """Headline figures at the territory the roadmap publishes (else the nearest holding values), and the
    same figures at the other territories in scope."""
    territories = [t for t in snapshot.scope.territories() if series.segments(indicator.id, t)]
    if not territories:
        return [], []
    published = [r for r in snapshot.roadmap if r.indicator_id == indicator.id and r.nature == "constat"]
    preferred = [(r.level, r.code) for r in published if (r.level, r.code) in territories]
    primary = preferred[0] if preferred else territories[0]
    wanted = {r.segment for r in published if (r.level, r.code) == primary}
    figures = [
        _figure(indicator, primary, s, snapshot, series) for s in _headline_segments(indicator, primary, series, wanted)
    ]
    others = [
        _figure(indicator, territory, s, snapshot, series)
        for territory in territories
        if territory != primary
        for s in _headline_segments(indicator, territory, series, set())
    ]
    return figures, others


def _headline_segments(
    indicator: IndicatorInfo, territory: tuple[str, str], series: Series, wanted: set
) -> list[str | None]:
    """The whole (segment NULL) and the segments the roadmap publishes; every segment when there is no whole
    (crisis exercises by status), in the catalogue's order."""
    present = series.segments(indicator.id, territory)
    if None not in present:
        return present
    return [None] + [s for s in present if s is not None and s in wanted]


def _figure(
    indicator: IndicatorInfo,
    territory: tuple[str, str],
    segment: str | None,
    snapshot: Snapshot,
    series: Series,
) -> Figure:
    values = series.get((indicator.id, *territory, segment), [])
    current = values[-1] if values else None
    previous = values[-2] if len(values) > 1 else None
    figure = Figure(
        indicator=indicator,
        level=territory[0],
        code=territory[1],
        territory=snapshot.name(*territory),
        segment=segment,
        segment_label=snapshot.segment_labels.get((indicator.id, segment)) if segment else None,
        current=current,
        previous=previous,
    )
    for published in snapshot.roadmap:
        if (published.indicator_id, published.level, published.code, published.segment) != (
            indicator.id,
            *territory,
            segment,
        ):
            continue
        if published.nature == "objectif":
            figure.target = published.value
            figure.target_text = f"{format_value(published.value, published.unit)} (feuille de route)"
        elif figure.roadmap is None:
            figure.roadmap = published
            if published.period is not None:
                start = period_start(published.period, indicator.grain)
                figure.at_roadmap_date = next((v for v in values if v.period == start), None)
    if indicator.target is not None:  # the catalogue's target prevails
        figure.target = indicator.target
        figure.target_text = format_value(indicator.target, figure.unit) + (
            f" ({indicator.target_label})" if indicator.target_label else ""
        )
    figure.status = _status(figure)
    return figure


def _status(figure: Figure) -> str:
    current = figure.current
    if current is None or current.value is None:
        return "sans valeur"
    better = figure.indicator.higher_is_better
    if figure.previous is None or figure.previous.value is None:
        trend = "première mesure"
    else:
        difference = current.value - figure.previous.value
        if abs(difference) < 1e-9:
            trend = "stable"
        else:
            trend = "en progrès" if (difference > 0) == better else "en recul"
    if figure.target is None:
        return trend
    reached = current.value >= figure.target if better else current.value <= figure.target
    return f"{trend} ; cible {'atteinte' if reached else 'non atteinte'}"


def _charts(section: Section, indicator: IndicatorInfo, headline: Figure, snapshot: Snapshot, series: Series) -> None:
    territory = (headline.level, headline.code)
    place = headline.territory
    count_names = COUNT_NAMES.get(indicator.id, DEFAULT_COUNT_NAMES)
    unit = headline.unit
    key = f"{indicator.id}"

    # trend over the periods held, at the headline territory
    segments = [f.segment for f in section.figures if f.indicator is indicator and (f.level, f.code) == territory]
    lines = {s: series.get((indicator.id, *territory, s), []) for s in segments}
    periods = sorted({v.period for values in lines.values() for v in values})
    if len(periods) >= 2:
        categories = [format_period(p, indicator.grain) for p in periods]
        chart_series = []
        for segment, values in lines.items():
            by_period = {v.period: v.value for v in values}
            name = snapshot.segment_labels.get((indicator.id, segment), segment) if segment else place
            chart_series.append((name, [by_period.get(p) for p in periods]))
        if len(lines) == 1:
            [values] = lines.values()
            columns = [
                Column("Période", "period"),
                Column(count_names[0], "count"),
                Column(count_names[1], "count"),
                Column("Valeur", "value", unit),
            ]
            rows = [[v.period, v.numerator, v.denominator, v.value] for v in values]
        else:
            columns = [Column("Période", "period")] + [Column(name, "value", unit) for name, _ in chart_series]
            rows = [[p] + [s[1][i] for s in chart_series] for i, p in enumerate(periods)]
        section.charts.append(
            Chart(
                f"{key}-evolution",
                f"{indicator.label} : évolution, {place}",
                "line",
                unit,
                categories,
                chart_series,
                columns,
                rows,
                grain=indicator.grain,
            )
        )
    elif periods:
        section.notes.append(
            f"{indicator.label} : une seule période dans l'entrepôt ({format_period(periods[0], indicator.grain)}), "
            "l'évolution apparaîtra avec la suivante."
        )

    # breakdown by the level below the territory in scope (EPCI of a département), latest period
    below = snapshot.scope.below
    latest: dict[str, Value] = {}
    for (indicator_id, level, _code, segment), values in series.items():
        if indicator_id == indicator.id and level == below and segment is None and values:
            latest[values[-1].territory] = values[-1]
    if len(latest) >= 2:
        period = max(v.period for v in latest.values())
        shown = sorted(
            (v for v in latest.values() if v.period == period),
            key=lambda v: (v.value is None, -(v.value or 0), v.territory),
        )
        section.charts.append(
            Chart(
                f"{key}-{below}",
                f"{indicator.label} par {LEVEL_NAMES.get(below, below)}, {format_period(period, indicator.grain)}",
                "bar",
                unit,
                [v.territory for v in shown],
                [(format_period(period, indicator.grain), [v.value for v in shown])],
                [
                    Column(LEVEL_NAMES.get(below, below).capitalize(), "text"),
                    Column(count_names[0], "count"),
                    Column(count_names[1], "count"),
                    Column("Valeur", "value", unit),
                ],
                [[v.territory, v.numerator, v.denominator, v.value] for v in shown],
                grain=indicator.grain,
            )
        )

    # breakdown by segment (category, status, phase…) at the headline territory, latest period
    by_segment = {
        s: values[-1]
        for (indicator_id, level, code, s), values in series.items()
        if indicator_id == indicator.id and (level, code) == territory and s is not None and values
    }
    if not by_segment:
        return
    period = max(v.period for v in by_segment.values())
    current = {s: v for s, v in by_segment.items() if v.period == period}
    groups: dict[str, list[str]] = defaultdict(list)
    for segment in sorted(current, key=lambda s: series.rank(indicator.id, s)):
        prefix = segment.split("_", 1)[0]
        group = SEGMENT_GROUPS.get(prefix) if "_" in segment else None
        groups[group or DEFAULT_GROUP.get(indicator.id, "par segment")].append(segment)
    for group, segments_of_group in groups.items():
        if len(segments_of_group) < 2:
            continue
        values = [current[s] for s in segments_of_group]
        names = [snapshot.segment_labels.get((indicator.id, s), s.replace("_", " ")) for s in segments_of_group]
        denominators = {v.denominator for v in values}
        when = format_period(period, indicator.grain)
        named = indicator.label if group.split()[-1] in indicator.label.lower() else f"{indicator.label} {group}"
        if unit == "taux" and len(denominators) == 1 and None not in denominators:
            [total] = denominators
            chart_series = [(count_names[0], [float(v.numerator or 0) for v in values])]
            title = f"{named}, {place}, {when} (sur {format_count(total)})"
            chart_unit = "nombre"
        elif unit == "taux":
            chart_series = [
                (count_names[0], [float(v.numerator or 0) for v in values]),
                (count_names[1], [float(v.denominator or 0) for v in values]),
            ]
            title = f"{named} : {count_names[0].lower()} et {count_names[1].lower()}, {place}, {when}"
            chart_unit = "nombre"
        else:
            chart_series = [(indicator.label, [v.value for v in values])]
            title = f"{named}, {place}, {when}"
            chart_unit = unit
        section.charts.append(
            Chart(
                f"{key}-{word_key(group.split()[-1])}",
                title,
                "column",
                chart_unit,
                names,
                chart_series,
                [
                    Column(group.split()[-1].capitalize(), "text"),
                    Column(count_names[0], "count"),
                    Column(count_names[1], "count"),
                    Column("Valeur", "value", unit),
                ],
                [[n, v.numerator, v.denominator, v.value] for n, v in zip(names, values)],
                grain=indicator.grain,
            )
        )


def _flags(section: Section, snapshot: Snapshot) -> list[str]:
    """Failed quality checks of the section's sources, undefined headline values, and what the roadmap's
    own figures get wrong (103 + 6 + 20 ≠ 126)."""
    sources = {i.source_id for i in section.indicators}
    flags = [
        _check_text(snapshot.source_label(c.source_id), c.message)
        for c in snapshot.checks
        if c.source_id in sources and not c.passed and c.name not in IGNORED_CHECKS
    ]
    rejected = [u for u in snapshot.uploads if u.source_id in sources and u.status != "accepted"]
    flags += [f"Fichier rejeté, non chargé : {u.file_name} ({snapshot.source_label(u.source_id)})." for u in rejected]
    flags += [
        f"{f.title}, {f.territory} : valeur non définie ({f.current.note})."
        for f in section.figures
        if f.current is not None and f.current.value is None and f.current.note
    ]
    parts: dict[tuple, list[RoadmapFigure]] = defaultdict(list)
    for figure in section.roadmap:
        if figure.nature == "constat" and figure.segment and figure.numerator is not None and figure.denominator:
            parts[(figure.indicator_id, figure.level, figure.code, figure.period, figure.denominator)].append(figure)
    for (_indicator, _level, _code, _period, total), figures in parts.items():
        counted = sum(f.numerator for f in figures)
        if len(figures) >= 2 and counted > total:
            flags.append(
                f"Feuille de route ({figures[0].territory}) : "
                + " + ".join(format_count(f.numerator) for f in figures)
                + f" = {format_count(counted)}, pour un total annoncé de {format_count(total)} : les statuts publiés "
                "dépassent le total."
            )
    return flags


def _check_text(label: str, message: str) -> str:
    return message if message.startswith(label) else f"{label} : {message}"


def _lineage(section: Section, snapshot: Snapshot) -> list[Upload]:
    ids = {i.id for i in section.indicators}
    used = {sha for v in snapshot.values if v.indicator_id in ids for sha in v.uploads}
    return [u for u in snapshot.uploads if u.sha256 in used]


def _freshness(snapshot: Snapshot) -> list[Freshness]:
    found = []
    day = snapshot.published_at.date()
    for source in snapshot.sources.values():
        uploads = [u for u in snapshot.uploads if u.source_id == source.source_id]
        accepted = [u for u in uploads if u.status == "accepted"]
        last = max(accepted, key=lambda u: (u.period or dt.date.min, u.first_seen_at), default=None)
        age = None
        if last is not None:
            age = (day - (last.period or last.first_seen_at.date())).days
        found.append(
            Freshness(
                source.source_id,
                source.label,
                source.objective,
                last,
                age,
                source.freshness_days,
                len(accepted),
                len(uploads) - len(accepted),
            )
        )
    return found
