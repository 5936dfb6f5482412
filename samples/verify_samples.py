"""Re-read the sample files of raw/ (openpyxl and csv only) and print the roadmap figures.

Independent of the generators: everything is measured from the files and the reference.
Exit status 1 if a figure or an integrity check does not hold.
"""

from __future__ import annotations

import csv
import sys
import unicodedata
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parents[1]
RAW, REF = ROOT / "raw", ROOT / "reference"
YES = {"oui", "o", "x", "1", "vrai", "yes", "true"}
NO = {"non", "n", "0", "faux", "no", "false"}
failures: list[str] = []


def check(cond: bool, label: str) -> None:
    if not cond:
        failures.append(label)
        print(f"  !! FAILED: {label}")


def norm(text) -> str:
    text = unicodedata.normalize("NFKD", str(text or ""))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(text.replace("\n", " ").split()).rstrip(" ?:")


def yes_no(value):
    v = norm(value)
    return True if v in YES else False if v in NO else None


def luhn_ok(code: str) -> bool:
    digits = [int(c) for c in code.replace("2A", "21").replace("2B", "22")]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return total % 10 == 0


def sheet_table(ws, first_header: str) -> tuple[list[str], list[dict]]:
    rows = list(ws.iter_rows(values_only=True))
    h = next(i for i, r in enumerate(rows) if norm(r[0]) == norm(first_header))
    headers = [norm(c) for c in rows[h]]
    data = [dict(zip(headers, r)) for r in rows[h + 1:] if any(v not in (None, "") for v in r)]
    return headers, data


def pct(a, b) -> str:
    return f"{a}/{b} = {100 * a / b:.1f} %"


def verify_pharmacy() -> None:
    path = RAW / "pharmacy_survey" / "2024-06 enquete officines.xlsx"
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    headers, data = sheet_table(ws, "N° FINESS")
    print(f"[pharmacy_survey] {path.name}: sheet {ws.title!r}, max_row {ws.max_row}, "
          f"{len(data)} data rows")
    with (REF / "finess_et_72_stock20210108.csv").open(encoding="utf-8") as f:
        ref620 = {r["nofinesset"] for r in csv.DictReader(f) if r["categetab"] == "620"}
    finess = [r["n° finess"] for r in data]
    check(all(isinstance(x, str) for x in finess), "FINESS stored as text")
    check(len(set(finess)) == len(finess), "no duplicate FINESS")
    check(set(finess) <= ref620, "all FINESS are Sarthe pharmacies (620) of the reference")
    check(all(luhn_ok(x) for x in finess), "FINESS Luhn keys")
    mss = [yes_no(r["equipee mssante"]) for r in data]
    fax = [yes_no(r["possede un fax"]) for r in data]
    check(None not in mss and None not in fax, "every yes/no answer recognised")
    print("  yes/no spellings:", dict(Counter(r["equipee mssante"] for r in data) +
                                      Counter(r["possede un fax"] for r in data)))
    n, n_mss, n_fax = len(data), sum(mss), sum(fax)
    n_fax_mss = sum(1 for m, x in zip(mss, fax) if m and x)
    print(f"  MSSanté equipped : {pct(n_mss, n)}   (roadmap 123 of 156, 78.8 %)")
    print(f"  fax, all         : {pct(n_fax, n)}   (roadmap 91 %)")
    print(f"  fax, equipped    : {pct(n_fax_mss, n_mss)}   (roadmap 91 % d'entre elles)")
    print(f"  coverage         : {pct(n, len(ref620))} of the reference pharmacies")
    check((n, n_mss, n_fax, n_fax_mss) == (156, 123, 142, 112), "pharmacy counts 156/123/142/112")
    dates = [r["horodateur"] for r in data]
    check(all(isinstance(d, datetime) and datetime(2024, 6, 3) <= d < datetime(2024, 6, 29)
              for d in dates), "Horodateur datetimes within 3-28 June 2024")
    print(f"  Horodateur       : {min(dates)} .. {max(dates)}")
    sent = [r["nombre de fax envoyes par semaine"] for r in data]
    check(all(s is None or (isinstance(s, int) and s >= 0) for s in sent), "fax counts integers >= 0")
    check(all(not s for s, x in zip(sent, fax) if not x), "no fax sent without a fax")
    print(f"  personal-data columns present: "
          f"{[h for h in headers if h in ('nom du repondant', 'adresse e-mail', 'telephone')]}")


def verify_care() -> None:
    path = RAW / "care_registrations" / "2024-10 suivi CARE Pays de la Loire.xlsx"
    wb = load_workbook(path)
    print(f"[care_registrations] {path.name}: sheets {wb.sheetnames}")
    _, data = sheet_table(wb["Suivi établissements"], "N° FINESS ET")
    with (REF / "finess_etab_sante_pdl_stock20210108.csv").open(encoding="utf-8") as f:
        ref = {r["nofinesset"]: r["departement"] for r in csv.DictReader(f)}
    fin = [r["n° finess et"] for r in data]
    check(len(set(fin)) == len(fin) and set(fin) <= set(ref), "FINESS ET unique and in reference")
    check(all(str(r["departement"]) == ref[r["n° finess et"]] for r in data), "département matches FINESS")
    cat_of = {"ght": "GHT", "espic": "non-profit", "prive non lucratif": "non-profit",
              "prive": "private", "prive lucratif": "private"}
    cats = [cat_of.get(norm(r["categorie"])) for r in data]
    check(None not in cats, "every category recognised")
    cand = [yes_no(r["candidat"]) for r in data]
    reg = [yes_no(r["inscrit"]) for r in data]
    check(None not in cand and None not in reg, "candidat/inscrit recognised")
    check(all(c for c, r in zip(cand, reg) if r), "every registered row is a candidate")
    n, n_reg = len(data), sum(reg)
    print(f"  registration rate: {pct(n_reg, n)} -> {round(100 * n_reg / n)} %   (roadmap 93 %)")
    check(round(100 * n_reg / n) == 93, "CARE rate rounds to 93 %")
    for c in ("GHT", "non-profit", "private"):
        idx = [i for i, x in enumerate(cats) if x == c]
        print(f"  {c:10s}: total {len(idx):3d}, candidates {sum(cand[i] for i in idx):3d}, "
              f"registered {sum(reg[i] for i in idx):3d}, labels "
              f"{dict(Counter(data[i]['categorie'] for i in idx))}")
    print("  by département (rows/registered):",
          {d: f"{sum(1 for r in data if r['departement'] == d)}/"
              f"{sum(1 for r, g in zip(data, reg) if r['departement'] == d and g)}"
           for d in sorted({r["departement"] for r in data})})
    st = Counter(r["statut exercice de crise"] for r in data)
    required = sum(1 for r in data if yes_no(r["exercice de crise requis"]))
    print(f"  crisis statuses (detail): {dict(st)}; 'requis' = Oui on {required} rows")
    check((st["Réalisé"], st["Programmé"], st["À réaliser"]) == (103, 6, 20), "103/6/20")
    declared = {norm(r[0]): r[1] for r in wb["Synthèse"].iter_rows(values_only=True)
                if r[0] and isinstance(r[1], int)}
    print(f"  declared (Synthèse): {declared}")
    req = declared["etablissements devant realiser un exercice de crise"]
    detail = st["Réalisé"] + st["Programmé"] + st["À réaliser"]
    print(f"  -> declared required {req} vs detail 103+6+20 = {detail}: "
          f"{'MISMATCH (expected, the pipeline must flag it)' if req != detail else 'consistent'}")
    check(req == 126 and detail == 129, "declared 126 vs 129 kept")
    check(declared["etablissements eligibles"] == n and declared["etablissements inscrits"] == n_reg,
          "declared eligible/registered equal detail")


def parse_int(text: str) -> int:
    t = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    return int(t)


def parse_month(text: str) -> str:
    return text if text[4] == "-" else f"{text[3:]}-{text[:2]}"


def verify_mes() -> None:
    with (REF / "cog2025_communes_72.csv").open(encoding="utf-8") as f:
        communes = {r["code_insee"]: r for r in csv.DictReader(f)}
    rows: dict[tuple, dict] = {}
    print("[mes_statistics]")
    for path in sorted((RAW / "mes_statistics").glob("*.csv")):
        raw = path.read_bytes()
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f, delimiter=";")
            header = next(reader)
            lines = list(reader)
        bom = raw.startswith(b"\xef\xbb\xbf")
        seps = Counter(hex(ord(ch)) for ln in lines for cell in ln[4:] for ch in cell
                       if ch in "\u00a0\u202f ")
        print(f"  {path.name}: BOM {bom}, {len(lines)} rows, months "
              f"{lines[0][0]}..{lines[-1][0]}, thousands separators "
              f"{dict(seps)}")
        check(header[:4] == ["Mois", "Niveau", "Code territoire", "Libellé"], "MES header")
        for ln in lines:
            m = parse_month(ln[0])
            rec = dict(zip(["pop", "ouv", "ali", "doc"], map(parse_int, ln[4:8])))
            rows[(m, ln[1], ln[2])] = rec  # a later file replaces a (territory, month)
    months = sorted({k[0] for k in rows})
    com = {k: v for k, v in rows.items() if k[1] == "commune"}
    check(all(len([k for k in com if k[0] == m]) == 352 for m in months), "352 communes per month")
    check(set(k[2] for k in com) == set(communes), "commune codes = COG 2025 Sarthe")
    check(all(0 <= v["ali"] <= v["ouv"] <= v["pop"] and v["doc"] >= 0 for v in com.values()),
          "0 <= alimentés <= ouverts <= population, documents >= 0")
    check(all(v["pop"] == int(communes[k[2]]["population_municipale_pl2023"]) for k, v in com.items()),
          "population = population_municipale_pl2023")
    print(f"  months: {months[0]} .. {months[-1]} ({len(months)})")

    def dept(m):
        vs = [v for k, v in com.items() if k[0] == m]
        return {f: sum(v[f] for v in vs) for f in ("pop", "ouv", "ali", "doc")}

    for k, v in rows.items():
        if k[1] == "departement":
            check(v == dept(k[0]), f"département row {k[0]} = sum of communes")
    n_dep = sum(1 for k in rows if k[1] == "departement")
    print(f"  département rows: {n_dep}, all equal to the sums of the communes: "
          f"{all(v == dept(k[0]) for k, v in rows.items() if k[1] == 'departement')}")
    nov = dept("2024-11")
    rate = nov["ali"] / nov["ouv"]
    print(f"  fed rate 2024-11 (72): {nov['ali']}/{nov['ouv']} = {rate:.4f} -> "
          f"{round(100 * rate)} %   (roadmap 69 %)")
    check(round(100 * rate) == 69, "MES fed rate 69 %")
    win = [m for m in months if "2023-11" <= m <= "2024-10"]
    docs = sum(dept(m)["doc"] for m in win)
    pop = nov["pop"]
    print(f"  documents {win[0]}..{win[-1]} ({len(win)} months): {docs} / {pop} = "
          f"{docs / pop:.4f} -> {docs / pop:.2f}   (roadmap 3.87)")
    check(len(win) == 12 and f"{docs / pop:.2f}" == "3.87" and pop == 566733, "MES 3.87 documents")
    epci = defaultdict(lambda: [0, 0, 0, 0, ""])
    for k, v in com.items():
        if k[0] == "2024-11":
            c = communes[k[2]]
            e = epci[c["epci_siren"]]
            e[0] += v["ali"]
            e[1] += v["ouv"]
            e[2] += v["pop"]
            e[4] = c["epci_nom"]
    for k, v in com.items():
        if k[0] in win:
            epci[communes[k[2]]["epci_siren"]][3] += v["doc"]
    print(f"  by EPCI ({len(epci)}), 2024-11 fed rate | opened/pop | docs per inhabitant 12 m to 2024-10:")
    for siren, (a, o, p, d, name) in sorted(epci.items(), key=lambda kv: kv[1][0] / kv[1][1]):
        print(f"    {siren} {name[:44]:44s} {a:6d}/{o:6d} = {100 * a / o:4.1f} % | "
              f"{100 * o / p:4.1f} % | {d / p:.2f}")
    rates = [v["ali"] / v["ouv"] for k, v in com.items() if k[0] == "2024-11" and v["ouv"]]
    print(f"  commune fed rates 2024-11: min {min(rates):.3f}, max {max(rates):.3f}")


if __name__ == "__main__":
    verify_pharmacy()
    verify_care()
    verify_mes()
    print("ALL CHECKS PASSED" if not failures else f"{len(failures)} CHECK(S) FAILED: {failures}")
    sys.exit(1 if failures else 0)
