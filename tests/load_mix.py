"""The thirty drops of the load test and of the event-path benchmark: 20 survey waves and one copy
under another name, CARE and MES files, and 5 invalid files (not a workbook, empty, wrong values,
legacy .xls, truncated), in the raw/<source>/ layout."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from assets.care_registrations.sample import build_care_followup
from assets.pharmacy_survey.sample import build_pharmacy_wave, load_sarthe_pharmacies
from tests import hostile_files as hostile
from tests.conftest import sample_path, samples_dir


def thirty_files(folder: Path) -> tuple[list[Path], int]:
    """30 files in a staging folder, as raw/<source>/<name>; and how many of them are invalid."""
    pharmacies = load_sarthe_pharmacies()
    files = []
    survey = folder / "pharmacy_survey"
    survey.mkdir(parents=True)
    for month in range(1, 21):
        wave = dt.date(2023 + (month - 1) // 12, (month - 1) % 12 + 1, 1)
        count = 20 + month
        files.append(
            build_pharmacy_wave(
                survey / f"{wave:%Y-%m} vague.xlsx",
                pharmacies[month : month + count],
                mssante_count=count // 2 + month % 5,
                fax_count=count - month,
                wave=wave,
                seed=month,
            )
        )
    duplicate = survey / "copie de 2023-01 vague.xlsx"
    shutil.copy2(files[0], duplicate)
    files.append(duplicate)
    invalid = [
        hostile.write_pdf_as_xlsx(survey, "2024-09 rapport.xlsx"),
        hostile.write_empty_csv(survey, "2024-10 vide.csv"),
        hostile.write_survey_xlsx(
            survey,
            "2024-11 fautes.xlsx",
            [["720008994", "P", "Bientôt", "Non"]],
            ["FINESS", "Raison sociale", "MSSanté", "Fax"],
        ),
    ]
    care = folder / "care_registrations"
    care.mkdir()
    files.append(Path(shutil.copy2(sample_path("care_registrations"), care)))
    files.append(build_care_followup(care / "2024-12 suivi CARE.xlsx", state_date=dt.date(2024, 12, 10), seed=7))
    invalid.append(hostile.write_legacy_xls(care, "2024-11 suivi.xls"))
    mes = folder / "mes_statistics"
    mes.mkdir()
    for sample in sorted((samples_dir() / "mes_statistics").iterdir()):
        files.append(Path(shutil.copy2(sample, mes)))
    invalid.append(hostile.write_truncated_xlsx(mes, "2024-12 MES.xlsx"))
    files += invalid
    assert len(files) == 30
    return files, len(invalid)
