"""The contract layer, and the API of a source unit.

A unit (`assets/<source_id>/`) imports from this package only (and polars, pandera, openpyxl for
its sample files): what it declares (`SourceUnit`, `Column`, `Indicator`...), the rows its rules
see (`UploadRows`, `ROW`), the problems they report, the shared pandera models, the reference data
and value parsers. Nothing here knows Dagster, the warehouse or the pipeline's results.
"""

from pipelines.contract.discovery import discover_units, reference_data, reference_tables, unit_by_id
from pipelines.contract.rows import ROW, UploadRows
from pipelines.contract.schemas import FinessKeyedRow, FinessRow, UploadedRow
from pipelines.contract.tables import Sheet, SheetRows, read_sheet
from pipelines.contract.unit import Column, Indicator, MonthlyPeriods, QualityCheck, SourceUnit, rule
from pipelines.contract.words import departement_words, epci_words
from pipelines.contract.workbooks import Declared, declared_totals
from pipelines.foundation.french import format_count, format_month
from pipelines.foundation.months import FIRST_MONTH, month_in_name, this_month
from pipelines.foundation.problems import LISTED_PER_RULE, Problem, errors, per_row
from pipelines.foundation.text import word_key, word_key_expr
from pipelines.ingest.readers import read_xlsx, workbook_sheet_names
from pipelines.ingest.values import clean_text, parse_integer, per_distinct_value
from pipelines.reference.tables import NationalFile, ReferenceData, ReferenceTable, Scope
from pipelines.reference.territory import Geography, Territory, finess_departement

__all__ = [
    "FIRST_MONTH",
    "LISTED_PER_RULE",
    "ROW",
    "Column",
    "Declared",
    "FinessKeyedRow",
    "FinessRow",
    "Geography",
    "Indicator",
    "MonthlyPeriods",
    "NationalFile",
    "Problem",
    "QualityCheck",
    "ReferenceData",
    "ReferenceTable",
    "Scope",
    "Sheet",
    "SheetRows",
    "SourceUnit",
    "Territory",
    "UploadRows",
    "UploadedRow",
    "clean_text",
    "declared_totals",
    "departement_words",
    "discover_units",
    "epci_words",
    "errors",
    "finess_departement",
    "format_count",
    "format_month",
    "month_in_name",
    "parse_integer",
    "per_distinct_value",
    "per_row",
    "read_sheet",
    "read_xlsx",
    "reference_data",
    "reference_tables",
    "rule",
    "this_month",
    "unit_by_id",
    "word_key",
    "word_key_expr",
    "workbook_sheet_names",
]
