"""What units' sample generators share: workbooks written byte for byte the same on every run."""

from __future__ import annotations

import re
import zipfile
from datetime import datetime
from pathlib import Path


def freeze_zip_timestamps(path: Path, stamp: datetime) -> None:
    """Rewrite an xlsx with fixed dates (zip entries and docProps "modified", which openpyxl sets to
    now) so that the file is byte-for-byte reproducible."""
    with zipfile.ZipFile(path) as archive:
        items = [(info, archive.read(info.filename)) for info in archive.infolist()]
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in items:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + iso, data)
            fixed = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(fixed, data)
