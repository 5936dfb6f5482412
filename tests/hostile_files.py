"""Builders of hostile or broken upload files, for the ingestion tests.

Each ``write_*`` function writes one file into ``folder`` and returns its path.
Only the standard library and openpyxl are used, except
``write_password_protected_xlsx`` which needs the optional ``msoffcrypto-tool``
(``write_encrypted_xlsx_container`` is its stdlib-only stand-in).

Observed with fastexcel 0.21 / openpyxl 3.1.5 + defusedxml, RLIMIT_AS = 4 GiB:
- legacy .xls: a real BIFF8 workbook; fastexcel READS it (3x4), openpyxl refuses it;
- both encrypted files: fastexcel "Workbook is password protected"; openpyxl BadZipFile;
- formula without cached value: openpyxl data_only -> None, fastexcel -> null;
- billion laughs: fastexcel "unrecognized entity `&lol9;`" (it expands nothing);
  openpyxl -> defusedxml EntitiesForbidden (ValueError "could not read strings"),
  and without defusedxml expat stops it ("limit on input amplification factor");
- zip bomb "many_cells": fastexcel aborts the whole process (SIGABRT, "memory
  allocation of 1739718784 bytes failed", uncatchable; without a limit 3.7 GiB RSS);
  openpyxl read-only streams it in < 0.4 GiB but is still going at the 60 s timeout.
  "long_text": fastexcel reads it with 1 GiB RSS in ~2 s, openpyxl in ~16-27 s.
So check size, magic bytes and zip entry sizes BEFORE handing a file to a reader.
"""

from __future__ import annotations

import csv
import random
import struct
import zlib
from pathlib import Path

__all__ = [
    "OLE2_MAGIC",
    "PDF_MAGIC",
    "SURVEY_HEADERS",
    "SURVEY_ROWS",
    "ZIP_MAGIC",
    "write_billion_laughs_xlsx",
    "write_csv",
    "write_empty_csv",
    "write_empty_xlsx",
    "write_encrypted_xlsx_container",
    "write_formula_without_cached_value_xlsx",
    "write_legacy_xls",
    "write_password_protected_xlsx",
    "write_pdf_as_xlsx",
    "write_survey_xlsx",
    "write_text_as_ods",
    "write_truncated_xlsx",
    "write_zip_bomb_xlsx",
]

OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
ZIP_MAGIC = b"PK\x03\x04"
PDF_MAGIC = b"%PDF-"

SURVEY_HEADERS: list[str] = ["FINESS", "Raison sociale", "MSSanté", "Fax"]
SURVEY_ROWS: list[list] = [
    ["720000015", "Pharmacie du Mans Centre", "Oui", "Non"],
    ["720000023", "Pharmacie de la Sarthe", "Non", "Oui"],
    ["720000031", "Pharmacie Sainte-Croix", "Oui", "Oui"],
]


# --------------------------------------------------------------------------
# Valid files (the base the hostile ones are compared with)
# --------------------------------------------------------------------------


def write_survey_xlsx(
    folder: Path,
    name: str = "enquete_pharmacies.xlsx",
    rows: list[list] | None = None,
    headers: list | None = None,
) -> Path:
    """Valid small pharmacy survey xlsx (openpyxl): headers on row 1, then ``rows`` (default SURVEY_ROWS)."""
    from openpyxl import Workbook

    path = Path(folder) / name
    wb = Workbook()
    ws = wb.active
    ws.title = "Enquête"
    ws.append(list(SURVEY_HEADERS if headers is None else headers))
    for row in SURVEY_ROWS if rows is None else rows:
        ws.append(list(row))
    wb.save(path)
    return path


def write_csv(
    folder: Path,
    name: str = "enquete_pharmacies.csv",
    headers: list | None = None,
    rows: list[list] | None = None,
    encoding: str = "utf-8",
    delimiter: str = ";",
) -> Path:
    """Pharmacy survey CSV (default: SURVEY_HEADERS/SURVEY_ROWS, utf-8, ';'); pass encoding="utf-8-sig"/"cp1252" for BOM/Windows files."""
    path = Path(folder) / name
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(SURVEY_HEADERS if headers is None else headers)
        writer.writerows(SURVEY_ROWS if rows is None else rows)
    return path


# --------------------------------------------------------------------------
# Empty, wrong-format and broken files
# --------------------------------------------------------------------------


def write_empty_xlsx(folder: Path, name: str = "vide.xlsx") -> Path:
    """Zero-byte file named .xlsx."""
    path = Path(folder) / name
    path.write_bytes(b"")
    return path


def write_empty_csv(folder: Path, name: str = "vide.csv") -> Path:
    """Zero-byte file named .csv."""
    path = Path(folder) / name
    path.write_bytes(b"")
    return path


def write_pdf_as_xlsx(folder: Path, name: str = "rapport.xlsx") -> Path:
    """Real one-page PDF 1.4 (correct xref table) renamed .xlsx; starts with b"%PDF-1.4"."""
    content = b"BT /F1 18 Tf 72 720 Td (Enquete pharmacies 2025) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path = Path(folder) / name
    path.write_bytes(bytes(out))
    return path


def write_text_as_ods(folder: Path, name: str = "enquete.ods") -> Path:
    """Plain UTF-8 text file named .ods (stands for "another spreadsheet format")."""
    path = Path(folder) / name
    path.write_text("Ceci n'est pas un classeur OpenDocument.\n", encoding="utf-8")
    return path


def write_truncated_xlsx(folder: Path, name: str = "tronque.xlsx") -> Path:
    """Valid survey xlsx cut to its first half (interrupted upload): ZIP magic, but no central directory."""
    full = write_survey_xlsx(folder, name)
    data = full.read_bytes()
    full.write_bytes(data[: len(data) // 2])
    return full


# --------------------------------------------------------------------------
# OLE2 / Compound File Binary (legacy .xls, encrypted OOXML)
# --------------------------------------------------------------------------

_SECTOR = 512
_MINI_SECTOR = 64
_MINI_CUTOFF = 4096
_FREESECT, _ENDOFCHAIN, _FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
_NOSTREAM = 0xFFFFFFFF


def _cfb_key(name: str) -> tuple[int, str]:
    # [MS-CFB] 2.6.4: siblings are ordered by name length, then upper-cased name.
    return (len(name), name.upper())


def _build_cfb(tree: dict) -> bytes:
    """Serialise ``{name: bytes | dict}`` as a version-3 compound file (512-byte sectors).

    Streams under 4096 bytes go to the mini stream, as [MS-CFB] requires;
    every FAT sector is listed in the header DIFAT (files up to ~7 MB).
    """
    entries: list[dict] = [{"name": "Root Entry", "type": 5, "data": b"", "children": tree}]
    queue = [0]
    while queue:  # flatten storages breadth first, giving each entry its id
        parent = entries[queue.pop(0)]
        ids = []
        for child_name, value in sorted(parent["children"].items(), key=lambda kv: _cfb_key(kv[0])):
            if len(child_name) > 31:
                raise ValueError(f"CFB names are at most 31 characters: {child_name!r}")
            entry = {"name": child_name, "left": _NOSTREAM, "right": _NOSTREAM, "child": _NOSTREAM}
            if isinstance(value, dict):
                entry.update(type=1, data=b"", children=value)
                queue.append(len(entries))
            else:
                entry.update(type=2, data=bytes(value))
            ids.append(len(entries))
            entries.append(entry)

        def subtree(lo: int, hi: int, ids: list[int] = ids) -> int:  # balanced binary search tree over sorted ids
            if lo >= hi:
                return _NOSTREAM
            mid = (lo + hi) // 2
            node = entries[ids[mid]]
            node["left"], node["right"] = subtree(lo, mid, ids), subtree(mid + 1, hi, ids)
            return ids[mid]

        parent["child"] = subtree(0, len(ids))
    entries[0].update(left=_NOSTREAM, right=_NOSTREAM)

    # Mini stream: small streams packed in 64-byte mini sectors.
    mini_stream, minifat = bytearray(), []
    for entry in entries:
        if entry["type"] == 2 and len(entry["data"]) < _MINI_CUTOFF:
            data = entry["data"]
            count = -(-len(data) // _MINI_SECTOR)
            entry["start"] = len(minifat) if count else _ENDOFCHAIN
            first = len(minifat)
            minifat += [first + i + 1 for i in range(count)]
            if count:
                minifat[-1] = _ENDOFCHAIN
            mini_stream += data + b"\0" * (count * _MINI_SECTOR - len(data))

    def sectors(n_bytes: int) -> int:
        return -(-n_bytes // _SECTOR)

    n_minifat = sectors(len(minifat) * 4)
    n_dir = sectors(len(entries) * 128)
    n_mini = sectors(len(mini_stream))
    big = [e for e in entries if e["type"] == 2 and len(e["data"]) >= _MINI_CUTOFF]
    n_big = sum(sectors(len(e["data"])) for e in big)
    n_rest = n_minifat + n_dir + n_mini + n_big
    n_fat = 1
    while n_fat * (_SECTOR // 4) < n_fat + n_rest:
        n_fat += 1
    if n_fat > 109:
        raise ValueError("compound file too large for a header-only DIFAT")

    fat: list[int] = [_FATSECT] * n_fat
    body = bytearray()

    def add_chain(data: bytes, n: int) -> int:
        if n == 0:
            return _ENDOFCHAIN
        start = len(fat)
        fat.extend(start + i + 1 for i in range(n))
        fat[-1] = _ENDOFCHAIN
        body.extend(data + b"\0" * (n * _SECTOR - len(data)))
        return start

    minifat_bytes = struct.pack(f"<{len(minifat)}I", *minifat)
    minifat_bytes += struct.pack("<I", _FREESECT) * (n_minifat * _SECTOR // 4 - len(minifat))
    first_minifat = add_chain(minifat_bytes, n_minifat)
    dir_start = len(fat)
    fat.extend(dir_start + i + 1 for i in range(n_dir))
    fat[-1] = _ENDOFCHAIN
    dir_offset = len(body)
    body.extend(b"\0" * (n_dir * _SECTOR))
    entries[0]["start"] = add_chain(bytes(mini_stream), n_mini)
    entries[0]["data"] = mini_stream
    for entry in big:
        entry["start"] = add_chain(entry["data"], sectors(len(entry["data"])))
    fat += [_FREESECT] * (n_fat * _SECTOR // 4 - len(fat))

    directory = bytearray()
    for entry in entries:
        raw_name = (entry["name"] + "\0").encode("utf-16-le")
        size = len(entry["data"]) if entry["type"] in (2, 5) else 0
        start = entry.get("start", _ENDOFCHAIN) if entry["type"] in (2, 5) else 0
        directory += struct.pack(
            "<64sHBBIII16sIQQIQ",
            raw_name,
            len(raw_name),
            entry["type"],
            1,  # colour: black
            entry["left"],
            entry["right"],
            entry["child"],
            b"\0" * 16,
            0,
            0,
            0,
            start,
            size,
        )
    while len(directory) < n_dir * _SECTOR:  # unused directory slots
        directory += struct.pack(
            "<64sHBBIII16sIQQIQ", b"", 0, 0, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM, b"\0" * 16, 0, 0, 0, 0, 0
        )
    body[dir_offset : dir_offset + len(directory)] = directory

    difat = list(range(n_fat)) + [_FREESECT] * (109 - n_fat)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII109I",
        OLE2_MAGIC,
        b"\0" * 16,
        0x003E,
        0x0003,
        0xFFFE,
        9,
        6,
        b"\0" * 6,
        0,
        n_fat,
        dir_start,
        0,
        _MINI_CUTOFF,
        first_minifat if n_minifat else _ENDOFCHAIN,
        n_minifat,
        _ENDOFCHAIN,
        0,
        *difat,
    )
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    return header + fat_bytes + bytes(body)


def _biff_record(record_type: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", record_type, len(data)) + data


def _biff_workbook(headers: list[str], rows: list[list]) -> bytes:
    """Minimal BIFF8 Workbook stream: globals (BOF, CODEPAGE, XF, BOUNDSHEET8, EOF) and one worksheet."""

    def bof(kind: int) -> bytes:
        return _biff_record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 0x0006))

    def unicode16(text: str) -> bytes:  # XLUnicodeString, stored as UTF-16 (fHighByte = 1)
        return struct.pack("<HB", len(text), 1) + text.encode("utf-16-le")

    xf = _biff_record(0x00E0, struct.pack("<HHHBBBBIIH", 0, 0, 0xFFF5, 0x20, 0, 0, 0, 0, 0, 0x20C0))
    cell_xf = _biff_record(0x00E0, struct.pack("<HHHBBBBIIH", 0, 0, 0x0001, 0x20, 0, 0, 0, 0, 0, 0x20C0))
    sheet_name = "Enquete"
    globals_without_sheet = (
        bof(0x0005)
        + _biff_record(0x0042, struct.pack("<H", 1200))
        + _biff_record(
            0x0031,
            struct.pack("<HHHHHBBBB", 200, 0, 0x7FFF, 400, 0, 0, 0, 0, 0)
            + struct.pack("<BB", 5, 0)
            + "Arial".encode("latin-1"),
        )
        + xf * 15
        + cell_xf
    )
    boundsheet_len = 4 + 6 + 2 + 2 * len(sheet_name)
    sheet_offset = len(globals_without_sheet) + boundsheet_len + 4  # + EOF record
    globals_ = (
        globals_without_sheet
        + _biff_record(
            0x0085, struct.pack("<IBBBB", sheet_offset, 0, 0, len(sheet_name), 1) + sheet_name.encode("utf-16-le")
        )
        + _biff_record(0x000A)
    )
    assert len(globals_) == sheet_offset
    grid = [list(headers)] + [list(r) for r in rows]
    n_cols = max(len(r) for r in grid)
    sheet = bof(0x0010) + _biff_record(0x0200, struct.pack("<IIHHH", 0, len(grid), 0, n_cols, 0))
    for r, row in enumerate(grid):
        for c, value in enumerate(row):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                sheet += _biff_record(0x0203, struct.pack("<HHHd", r, c, 15, float(value)))
            elif value is not None:
                sheet += _biff_record(0x0204, struct.pack("<HHH", r, c, 15) + unicode16(str(value)))
    sheet += _biff_record(0x000A)
    return globals_ + sheet


def write_legacy_xls(folder: Path, name: str = "enquete_ancienne.xls") -> Path:
    """Legacy Excel 97-2003 .xls: OLE2 compound file (magic D0 CF 11 E0 A1 B1 1A E1) holding a minimal BIFF8 "Workbook" stream with the survey."""
    data = _build_cfb({"Workbook": _biff_workbook(SURVEY_HEADERS, SURVEY_ROWS)})
    path = Path(folder) / name
    path.write_bytes(data)
    return path


def write_password_protected_xlsx(folder: Path, name: str = "protege.xlsx", password: str = "motdepasse") -> Path:
    """Real password-protected survey xlsx (agile AES-256 encryption by msoffcrypto-tool; raises ImportError without it)."""
    from msoffcrypto.format.ooxml import OOXMLFile  # optional dev dependency

    folder = Path(folder)
    plain = write_survey_xlsx(folder, name + ".plain.xlsx")
    path = folder / name
    try:
        with open(plain, "rb") as src, open(path, "wb") as dst:
            OOXMLFile(src).encrypt(password, dst)
    finally:
        plain.unlink()
    return path


def write_encrypted_xlsx_container(folder: Path, name: str = "protege_minimal.xlsx") -> Path:
    """Stdlib stand-in for an encrypted xlsx: OLE2 file with agile "EncryptionInfo" (v4.4 XML) and "EncryptedPackage" (size + random AES-sized blocks), no key opens it."""
    rnd = random.Random(20250601)  # deterministic bytes, for reproducible tests

    def b64(n: int) -> str:
        import base64

        return base64.b64encode(rnd.randbytes(n)).decode("ascii")

    algo = (
        'saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" '
        'cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512"'
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        '<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption" '
        'xmlns:p="http://schemas.microsoft.com/office/2006/keyEncryptor/password" '
        'xmlns:c="http://schemas.microsoft.com/office/2006/keyEncryptor/certificate">'
        f'<keyData {algo} saltValue="{b64(16)}"/>'
        f'<dataIntegrity encryptedHmacKey="{b64(64)}" encryptedHmacValue="{b64(64)}"/>'
        '<keyEncryptors><keyEncryptor uri="http://schemas.microsoft.com/office/2006/keyEncryptor/password">'
        f'<p:encryptedKey spinCount="100000" {algo} saltValue="{b64(16)}" '
        f'encryptedVerifierHashInput="{b64(16)}" encryptedVerifierHashValue="{b64(64)}" '
        f'encryptedKeyValue="{b64(32)}"/></keyEncryptor></keyEncryptors></encryption>'
    )
    encryption_info = struct.pack("<HHI", 4, 4, 0x40) + xml.encode("utf-8")
    plain_size = 5000  # pretend size of the encrypted zip package
    encrypted_package = struct.pack("<Q", plain_size) + rnd.randbytes(-(-plain_size // 16) * 16)
    data = _build_cfb({"EncryptionInfo": encryption_info, "EncryptedPackage": encrypted_package})
    path = Path(folder) / name
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------
# Hand-made xlsx (stdlib zip) for content openpyxl would not write
# --------------------------------------------------------------------------

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _xlsx_skeleton(with_shared_strings: bool) -> dict[str, bytes]:
    """Package parts of a one-sheet workbook, without xl/worksheets/sheet1.xml (and sharedStrings)."""
    sst_override = (
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/>'
        if with_shared_strings
        else ""
    )
    sst_rel = (
        f'<Relationship Id="rId3" Type="{_NS_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        if with_shared_strings
        else ""
    )
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    return {
        "[Content_Types].xml": (
            head + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
            f"{sst_override}</Types>"
        ).encode(),
        "_rels/.rels": (
            head + f'<Relationships xmlns="{_NS_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_NS_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ).encode(),
        "xl/workbook.xml": (
            head + f'<workbook xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}">'
            '<sheets><sheet name="Enquete" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            head + f'<Relationships xmlns="{_NS_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_NS_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_NS_REL}/styles" Target="styles.xml"/>'
            f"{sst_rel}</Relationships>"
        ).encode(),
        "xl/styles.xml": (
            head + f'<styleSheet xmlns="{_NS_MAIN}">'
            '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>"
        ).encode(),
    }


def _inline_row(values: list[str]) -> str:
    from xml.sax.saxutils import escape

    return "<row>" + "".join(f'<c t="inlineStr"><is><t>{escape(v)}</t></is></c>' for v in values) + "</row>"


def write_formula_without_cached_value_xlsx(
    folder: Path, name: str = "formule_sans_valeur.xlsx", formula: str = '="Pharmacie "&"de garde"'
) -> Path:
    """Survey xlsx whose B2 (Raison sociale) is ``formula`` as openpyxl saves it: <f> and an empty <v/>, no cached value."""
    rows = [list(r) for r in SURVEY_ROWS]
    rows[0][1] = formula
    return write_survey_xlsx(folder, name, rows=rows)


def write_billion_laughs_xlsx(
    folder: Path, name: str = "billion_laughs.xlsx", part: str = "sharedStrings", levels: int = 9
) -> Path:
    """xlsx whose sharedStrings.xml (part="sharedStrings") or sheet1.xml (part="sheet") has a DOCTYPE of nested entities (3*10**levels chars, used in B2; levels=0: one harmless entity)."""
    if part not in ("sharedStrings", "sheet"):
        raise ValueError("part must be 'sharedStrings' or 'sheet'")
    root = "sst" if part == "sharedStrings" else "worksheet"
    doctype = f'<!DOCTYPE {root} [\n <!ENTITY lol0 "lol">\n'
    for level in range(1, levels + 1):
        doctype += f' <!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">\n'
    doctype += "]>\n"
    bomb = f"&lol{levels};"
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    parts = _xlsx_skeleton(with_shared_strings=(part == "sharedStrings"))
    if part == "sharedStrings":
        strings = [*SURVEY_HEADERS, "720000015", None, "Oui", "Non"]  # None: the bomb
        sis = "".join(f"<si><t>{bomb if s is None else s}</t></si>" for s in strings)
        parts["xl/sharedStrings.xml"] = (
            head + doctype + f'<sst xmlns="{_NS_MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">{sis}</sst>'
        ).encode()
        rows = "".join(
            "<row>" + "".join(f'<c t="s"><v>{i}</v></c>' for i in range(start, start + 4)) + "</row>"
            for start in (0, 4)
        )
    else:
        rows = _inline_row(SURVEY_HEADERS) + _inline_row(["720000015", "\0", "Oui", "Non"]).replace("\0", bomb)
    parts["xl/worksheets/sheet1.xml"] = (
        head
        + (doctype if part == "sheet" else "")
        + f'<worksheet xmlns="{_NS_MAIN}"><sheetData>{rows}</sheetData></worksheet>'
    ).encode()
    path = Path(folder) / name
    _write_zip(path, [(n, [d]) for n, d in parts.items()])
    return path


# --------------------------------------------------------------------------
# Zip bomb
# --------------------------------------------------------------------------


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, i = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, matrix[n]) for n in range(32)]


def _crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of A+B from crc(A), crc(B) and len(B) (zlib's crc32_combine, absent from Python's zlib)."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]
    even = _gf2_square(odd)
    odd = _gf2_square(even)
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


class _Deflated:
    """A deflate stream assembled from independently compressed pieces.

    Each piece ends with a full flush, so its compressed bytes do not refer to
    earlier data and can be repeated verbatim: the zip-bomb body is one
    compressed chunk written N times, never recompressed.
    """

    def __init__(self) -> None:
        self.pieces: list[tuple[bytes, int]] = []  # (compressed bytes, repeat count)
        self.crc = 0
        self.size = 0

    def add(self, data: bytes, repeat: int = 1, final: bool = False) -> None:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        flush = zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH
        self.pieces.append((compressor.compress(data) + compressor.flush(flush), repeat))
        crc, length = zlib.crc32(data), len(data)  # CRC of data*repeat by squaring
        n = repeat
        while n:
            if n & 1:
                self.crc = _crc32_combine(self.crc, crc, length)
                self.size += length
            n >>= 1
            if n:
                crc, length = _crc32_combine(crc, crc, length), length * 2

    @property
    def compressed_size(self) -> int:
        return sum(len(b) * n for b, n in self.pieces)

    def chunks(self):
        for block, repeat in self.pieces:
            for _ in range(repeat):
                yield block


def _write_zip(path: Path, entries: list[tuple[str, object]]) -> None:
    """Write a plain (non-zip64) zip; entries are (name, list of bytes) or (name, _Deflated)."""
    central = bytearray()
    with open(path, "wb") as fh:
        for entry_name, content in entries:
            if not isinstance(content, _Deflated):
                stream = _Deflated()
                stream.add(b"".join(content), final=True)
                content = stream
            if content.size >= 0xFFFFFFFF or content.compressed_size >= 0xFFFFFFFF:
                raise ValueError("entry too large for a non-zip64 archive")
            raw_name = entry_name.encode("utf-8")
            offset = fh.tell()
            fields = struct.pack(
                "<HHHHHIII", 20, 0x0800, 8, 0, 0x21, content.crc, content.compressed_size, content.size
            )
            fh.write(b"PK\x03\x04" + fields + struct.pack("<HH", len(raw_name), 0) + raw_name)
            for block in content.chunks():
                fh.write(block)
            central += (
                b"PK\x01\x02"
                + struct.pack("<H", 20)
                + fields  # made by, then as local
                + struct.pack("<HHHHHII", len(raw_name), 0, 0, 0, 0, 0, offset)
                + raw_name
            )
        cd_offset = fh.tell()
        fh.write(central)
        fh.write(b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(entries), len(entries), len(central), cd_offset, 0))


def write_zip_bomb_xlsx(
    folder: Path,
    name: str = "zip_bomb.xlsx",
    uncompressed_size: int = 1 << 30,
    layout: str = "long_text",
) -> Path:
    """Valid xlsx whose sheet1.xml inflates to ~uncompressed_size (1 GiB): layout "long_text" (32,000-char cells) ~1.2 MB, "many_cells" (13.6 M rows of 4 numbers) ~3.7 MB."""
    # Built in ~0.05 s: one 1 MiB chunk of rows is deflated once (ending in a full
    # flush, so it refers to nothing before it) and its compressed bytes are written
    # N times; the CRC-32 of the repetition is combined arithmetically.  Deflate
    # cannot exceed ~1032:1, so "about 1 MB for 1 GiB" needs long runs of one byte.
    if layout == "long_text":
        row = _inline_row(["720000015", "A" * 32000, "Oui", "Non"]).encode()  # < 32 KiB window
    elif layout == "many_cells":
        row = b"<row><c><v>720000015</v></c><c><v>1</v></c><c><v>2</v></c><c><v>3</v></c></row>"
    else:
        raise ValueError("layout must be 'long_text' or 'many_cells'")
    chunk = row * max(1, (1 << 20) // len(row))
    head = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_NS_MAIN}">'
        f"<sheetData>{_inline_row(SURVEY_HEADERS)}"
    ).encode()
    tail = b"</sheetData></worksheet>"
    sheet = _Deflated()
    sheet.add(head)
    sheet.add(chunk, repeat=max(1, (uncompressed_size - len(head) - len(tail)) // len(chunk)))
    sheet.add(tail, final=True)
    parts = _xlsx_skeleton(with_shared_strings=False)
    entries: list[tuple[str, object]] = [(n, [d]) for n, d in parts.items()]
    entries.insert(3, ("xl/worksheets/sheet1.xml", sheet))
    path = Path(folder) / name
    _write_zip(path, entries)
    return path
