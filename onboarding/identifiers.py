"""Which columns identify people: by header words and by the values themselves.

Rules are data (``IDENTIFIER_HEADERS``, the value patterns) and small functions, each
tested on its own. A column recognised here keeps no values in the profile: they are
never shown, printed or written into a draft.
"""
from __future__ import annotations

import re
import unicodedata
from functools import cache

import pandas as pd

from harmonise.mappings.vocabulary import available as available_vocabularies
from harmonise.mappings.vocabulary import normalise, shared
from harmonise.onboarding.id_values import kind_by_values, near_unique_code


# -- direct identifiers -----------------------------------------------------------------------
#: Share of a column's non-empty values that must match a value pattern.
PATTERN_SHARE = 0.8
#: Distinct values / non-empty values above which a column is "mostly distinct".
MOSTLY_DISTINCT = 0.5
NATIONAL_ID = re.compile(r"\d{17}[\dXx]")                    # Chinese resident ID (18 characters)
MOBILE = re.compile(r"(?:\+?86[- ]?)?1[3-9]\d{9}")            # Chinese mobile: 1[3-9] + 9 digits
LANDLINE = re.compile(r"(?:\(0\d{2,3}\)|0\d{2,3}-?)[ ]?\d{7,8}(?:-\d{1,5})?")  # (0371)12345678, 010-12345678
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
HAN_NAME = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]{2,4}")  # 2-4 Chinese characters
RECORD_NUMBER = re.compile(r"(?=.*\d{3})[A-Za-z0-9][A-Za-z0-9_\-/]{2,23}")  # a code with digits
#: Header words that name each kind of direct identifier. Chinese words match anywhere in the
#: header, Latin words as whole words. Kinds are tried in this order (ID number before the
#: record number's "id", the record number's 编号 before the name's 患者).
IDENTIFIER_HEADERS: dict[str, tuple[str, ...]] = {
    "national_id": ("身份证", "证件号", "sfz", "sfzh", "id card", "idcard", "national id",
                    "id number", "id no", "citizen id", "resident id", "nir", "nss",
                    "securite sociale", "sécurité sociale", "sozialversicherungsnummer", "svnr",
                    "dni", "nie", "codice fiscale", "cpf", "numero de seguridad social"),
    "phone": ("phone", "telephone", "tel", "mobile", "cell", "电话", "手机", "联系方式",
              "shouji", "lxdh", "téléphone", "telefon", "teléfono", "telefono", "telefone",
              "portable", "handy", "móvil", "movil", "cellulare", "celular"),
    "email": ("email", "e mail", "邮箱", "电子邮件", "courriel", "correo", "posta elettronica"),
    "address": ("address", "addr", "地址", "住址", "籍贯", "dz", "residence", "adresse",
                "dirección", "direccion", "domicilio", "indirizzo", "endereço", "morada",
                "anschrift", "wohnort", "code postal", "plz"),
    "mrn": ("mrn", "record", "record no", "record number", "medical record", "id", "pid",
            "hospital number", "case no", "病案号", "住院号", "病历号", "门诊号", "登记号",
            "编号", "档案号", "bah", "zyh", "blh", "mzh", "ipp", "nip", "dossier",
            "patientennummer", "fallnummer", "pat nr", "historia clinica", "historia clínica",
            "nhc", "cartella", "prontuario", "prontuário", "processo"),
    "birth_date": ("出生日期", "出生年月", "生日", "date of birth", "birth date", "birthdate", "dob",
                   "born", "date de naissance", "naissance", "geburtsdatum", "geburtstag",
                   "fecha de nacimiento", "data di nascita", "data de nascimento", "nascimento"),
    "name": ("name", "patient name", "姓名", "患者", "病人", "xm", "xingming", "nom", "prénom",
             "prenom", "nom de naissance", "vorname", "nachname", "apellido", "apellidos",
             "cognome", "nome", "sobrenome"),
}
IDENTIFIER_LABELS = {"national_id": "a national ID number", "phone": "a phone number",
                     "email": "an e-mail address", "address": "an address",
                     "mrn": "a medical record number", "name": "a person's name",
                     "birth_date": "a date of birth"}
#: Values examined to recognise an identifier in a big export (a fixed random sample).
IDENTIFIER_SAMPLE = 20_000


#: Free text is not shown either: a comment may name a person.
FREE_TEXT_MIN_LENGTH = 25


def _words(header: str) -> tuple[str, list[str]]:
    """A header's normalised text and its Latin words (``'PatientID'`` -> patient, id)."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", str(header))
    text = unicodedata.normalize("NFKC", spaced).casefold()
    return text, re.findall(r"[a-z]+|\d+", text)


def header_has(header: str, word: str) -> bool:
    """Whether a header contains ``word``: Chinese anywhere, Latin as whole word(s)."""
    text, tokens = _words(header)
    if re.search(r"[^\x00-\x7f]", word):
        return word in text
    wanted = re.findall(r"[a-z]+|\d+", word.casefold())
    if not wanted:
        return False
    n = len(wanted)
    if any(tokens[i:i + n] == wanted for i in range(len(tokens) - n + 1)):
        return True
    return "".join(tokens) == "".join(wanted)


def header_identifier_kind(header: str) -> str | None:
    """The identifier kind a header names (``'患者姓名'`` -> name, ``'Pt_ID'`` -> mrn), if any."""
    for kind, words in IDENTIFIER_HEADERS.items():
        if any(header_has(header, w) for w in words):
            return kind
    return None


def share_matching(values: pd.Series, pattern: re.Pattern) -> float:
    """Share of the (non-empty) values that match ``pattern`` entirely."""
    if values.empty:
        return 0.0
    return float(values.astype(str).str.fullmatch(pattern).mean())


def _in_a_vocabulary(distinct: pd.Series) -> bool:
    """Whether most values are spellings of some shared vocabulary (男, 乏力, 四肢: not names)."""
    keys = set(distinct.map(normalise))
    for name in available_vocabularies():
        if len(keys & set(shared(name))) >= max(1, len(keys) // 2):
            return True
    return False


def identifier_kind(header: str, values: pd.Series) -> str | None:
    """Which direct identifier a column holds, if any, from its values and its header.

    Values decide first (national ID numbers, phone numbers, e-mail addresses are
    unmistakable), then header words (for record numbers and names only when the
    values are mostly distinct or look the part), then Chinese names by their values.
    """
    values = values.dropna().astype(str)
    if len(values) > IDENTIFIER_SAMPLE:  # shares and distinctness from a fixed sample: fast on big files
        values = values.sample(IDENTIFIER_SAMPLE, random_state=0)
    if share_matching(values, NATIONAL_ID) >= PATTERN_SHARE:
        return "national_id"
    if share_matching(values, MOBILE) + share_matching(values, LANDLINE) >= PATTERN_SHARE:
        return "phone"
    if share_matching(values, EMAIL) >= PATTERN_SHARE:
        return "email"
    by_value = kind_by_values(values, PATTERN_SHARE)   # checksummed IDs, phones in any country
    if by_value:
        return by_value
    distinct = values.nunique() / len(values) if len(values) else 1.0
    kind = header_identifier_kind(header)
    if kind in ("national_id", "phone", "email", "address", "birth_date"):
        return kind
    if kind == "mrn" and (distinct >= MOSTLY_DISTINCT or share_matching(values, RECORD_NUMBER) >= PATTERN_SHARE):
        return "mrn"
    numeric = len(values) and values.str.fullmatch(r"[\d.,\s+-]+").mean() >= PATTERN_SHARE
    if kind == "name" and not numeric and not (len(values) and _in_a_vocabulary(values.drop_duplicates())):
        return "name"  # "AE name" or "Drug name" columns hold vocabulary terms, not people
    if looks_like_chinese_names(values):
        return "name"
    if near_unique_code(values):
        return "mrn"   # a code distinct on every row: how a record number looks, whatever its header
    return None


def looks_like_chinese_names(values: pd.Series) -> bool:
    """2-4 Chinese characters, mostly distinct, and not the spellings of a shared vocabulary."""
    if len(values) < 3 or share_matching(values, HAN_NAME) < PATTERN_SHARE:
        return False
    distinct = values.drop_duplicates()
    return len(distinct) / len(values) >= 0.8 and not _in_a_vocabulary(distinct)


#: What may join several coded values in one cell ("Anlotinib + Sintilimab", "吉西他滨、多西他赛").
LIST_SEPARATORS = re.compile(r"\s*[+、/,;，；]\s*")


def looks_like_free_text(distinct: pd.Series, non_null: int) -> bool:
    """Long, varied text (comments, notes): shown to nobody, since it may name a person.

    Lists of coded values (a regimen such as "Gemcitabine + Anlotinib + Sintilimab") are
    not free text: most of their parts are spellings of a shared vocabulary.
    """
    if distinct.empty:
        return False
    long_and_varied = distinct.str.len().median() >= FREE_TEXT_MIN_LENGTH and len(distinct) >= 0.5 * non_null
    if not long_and_varied:
        return False
    parts = distinct.str.split(LIST_SEPARATORS, regex=True).explode().dropna()
    parts = parts[parts.str.len() > 0].map(normalise)
    return not (len(parts) and parts.isin(_all_spellings()).mean() >= 0.5)


@cache
def _all_spellings() -> frozenset[str]:
    return frozenset().union(*(set(shared(v)) for v in available_vocabularies()))

