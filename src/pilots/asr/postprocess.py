"""Raw Whisper text to draft-minutes text: spacing, punctuation, numbers, fillers and glossary.

Whisper's small models write Japanese the way subtitles are written: phrases
separated by spaces, few or no 、。, kanji or Arabic numerals at random, and
every えー and あのー. :class:`TextPipeline` turns one segment of that into the
style of a 公用文 draft (「公用文作成の考え方」, 2022): no spaces between
Japanese phrases, 。 at sentence ends and 、 at pauses, Arabic numerals with
counters (3件, 1,800時間, 1万2,000円), fillers removed on request, and the
department's own words (用語集) put back where the model misheard them.

Everything here is rule based and offline; the only outside help is a
morphological analyser (fugashi with unidic-lite) for the readings of kanji
that glossary matching needs, and rapidfuzz for fast string similarity, both
imported on first use.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pilots.errors import InputFileError
from pilots.tabular import decode

DEFAULT_FILLERS_PATH = Path(__file__).with_name("fillers.txt")

_PUNCTUATION = "、。？！"
_SENTENCE_END = "。？！"

# --------------------------------------------------------------------------------------
# Normalisation and spacing
# --------------------------------------------------------------------------------------

_ASCII_WORD_END = re.compile(r"[A-Za-z0-9%]$")
_ASCII_WORD_START = re.compile(r"^[A-Za-z0-9]")


def normalize_text(raw: str) -> str:
    """NFKC-normalise Whisper output while keeping Japanese punctuation full-width.

    NFKC turns full-width letters and digits (ＲＰＡ, ２０２６) and half-width
    katakana into their ordinary forms; it also turns ？！ into ASCII, which
    Japanese minutes do not use, so those are put back. A Western comma or
    full stop right after Japanese text is Whisper's way of writing 、 and 。.

    Args:
        raw: one segment's text as the model produced it.

    Returns:
        The normalised text; spaces are kept (they mark phrase boundaries).
    """
    text = unicodedata.normalize("NFKC", raw)
    text = text.replace("?", "？").replace("!", "！")
    text = re.sub(r"(?<=[^\x00-\x7f]),", "、", text)
    text = re.sub(r"(?<=[^\x00-\x7f])\.(?![0-9])", "。", text)
    return text.strip()


# --------------------------------------------------------------------------------------
# Punctuation
# --------------------------------------------------------------------------------------

# Polite predicate endings that close a sentence in meeting speech.
_FINAL = re.compile(
    r"(?:ます|です|ました|でした|ません|ください|下さい|でしょう|ましょう|ございます"
    r"|[すたよいな]ね|[すい]よ|[すうるたのい]か|^はい|^いいえ|^ええ)$"
)
# The same, for upgrading a 、 the model wrote after them to 。 (only unambiguous forms).
_STRONG_FINAL_COMMA = re.compile(
    r"(ます|です|ました|でした|ません|ください|でしょう|ましょう|ございます|[すた]ね|[すう]か)、(?=.)"
)
# A polite ending glued to a kanji, katakana or Latin word starts a new sentence (わかりました次に).
_GLUED_FINAL = re.compile(
    r"(ます|です|ました|でした|ません|ください|ですね|ますね)(?=[\u30a0-\u30ff\u4e00-\u9fffA-Za-z])"
)
# Conjunctive endings: the sentence goes on, so a pause gets 、.
_CONJUNCTIVE = re.compile(
    r"(?:[すたいだ]が|けど|けれど|けれども|ので|のに|から|て|で|し|たり|ながら|ば|ても|つつ|ものの|ため)$"
)
_PARTICLE_END = re.compile(r"[のをにがはへやとも]$")
# A segment that starts with one of these continues the previous segment's sentence.
_CONTINUATIONS = (
    "が", "を", "に", "の", "で", "と", "も", "へ", "や", "は", "から", "まで", "より", "ので",
    "けど", "です", "ます", "でした", "ました", "でしょう", "して", "した", "する", "され",
    "させ", "という", "といった", "ている", "ており", "など", "ため", "こと", "もの",
)  # fmt: skip
# ... unless it is one of these sentence openers that start with the same kana.
_OPENERS = (
    "はい", "はじめ", "では", "でも", "ところで", "とりあえず", "とにかく", "もう", "もし",
    "もちろん", "やはり", "やっぱり", "のち",
)  # fmt: skip
_RESPONSE = re.compile(r"^(はい|いいえ|ええ)[、\s]")


def _continues(next_raw: str | None) -> bool:
    """True when the following segment carries on the current sentence (starts with a particle)."""
    if not next_raw:
        return False
    head = normalize_text(next_raw)
    if head.startswith(_OPENERS):
        return False
    return head.startswith(_CONTINUATIONS)


def _joint(left: str, right: str) -> str:
    """What replaces the space Whisper put between two phrases."""
    if left[-1] in _PUNCTUATION or right[0] in _PUNCTUATION:
        return ""
    if _ASCII_WORD_END.search(left) and _ASCII_WORD_START.search(right):
        return " "
    if _FINAL.search(left) and not _continues(right):
        return "。"
    if left.endswith("の") or _continues(right):
        return ""
    return "、"


def _end_mark(body: str, next_raw: str | None) -> str:
    """Close a segment: 。 at a sentence end, 、 after a conjunctive form, nothing mid-clause."""
    last = body[-1]
    if last == "？" and body[:-1].endswith("か"):
        # 公用文 ends questions with 。 too (「公用文作成の考え方」).
        return body[:-1] + "。"
    if last in _SENTENCE_END:
        return body
    goes_on = _continues(next_raw)
    if last == "、":
        if next_raw is None or (not goes_on and _FINAL.search(body[:-1])):
            return body[:-1] + "。"
        return body
    if goes_on:
        return body
    if _FINAL.search(body):
        return body + "。"
    if next_raw is not None and _CONJUNCTIVE.search(body):
        return body + "、"
    if next_raw is not None and not _PARTICLE_END.search(body) and body[-1] in "うつるた":
        return body + "。"  # a plain predicate (する, ない, った) ends the utterance
    if next_raw is not None:
        # A noun or particle at a segment end: Whisper cut the sentence in two (…合わせて国民 /
        # 健康保険…); speech rarely ends a sentence on a bare noun.
        return body
    return body + "。"


def punctuate(text: str, *, next_raw: str | None = None) -> str:
    """Replace Whisper's phrase spaces by 。/、 and close the segment.

    Args:
        text: normalised text of one segment (see :func:`normalize_text`).
        next_raw: the following segment's raw text, or None for the last segment.

    Returns:
        The text with no spaces between Japanese phrases (one space is kept
        between two Latin words) and 。 or 、 where the rules put them.
    """
    phrases = text.split()
    if not phrases:
        return ""
    parts: list[str] = []
    for i, phrase in enumerate(phrases):
        parts.append(phrase)
        if i + 1 < len(phrases):
            parts.append(_joint(phrase, phrases[i + 1]))
    body = _tidy("".join(parts))
    if not body:
        return ""
    body = _STRONG_FINAL_COMMA.sub(r"\1。", body)
    body = _GLUED_FINAL.sub(r"\1。", body)
    body = _RESPONSE.sub(r"\1。", body)
    return _end_mark(body, next_raw)


def _tidy(text: str) -> str:
    """Collapse doubled marks and drop marks left at the start (e.g. after a removed filler)."""
    text = re.sub(r"、*([。？！])[、。]*", r"\1", text)
    text = re.sub(r"、{2,}", "、", text)
    return text.lstrip("、。 ")


# --------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------

_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6,
                 "七": 7, "八": 8, "九": 9}  # fmt: skip
_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG_UNITS = {"兆": 10**12, "億": 10**8, "万": 10**4}

# Counters and units after which a number is written in Arabic numerals.
# Longer first so that 年度 wins over 年 and 時間 over 時.
COUNTERS: tuple[str, ...] = (
    "パーセント", "ポイント", "平方メートル", "キロメートル", "メートル", "キロ", "トン",
    "ヘクタール", "年度", "年間", "週間", "時間", "日間", "か月", "カ月", "ヶ月", "ケ月",
    "ヵ月", "箇月", "か所", "カ所", "ヶ所", "ケ所", "箇所", "か国", "カ国", "ヶ国", "世帯",
    "団体", "施設", "地区", "路線", "市町村", "町村", "件", "人", "名", "年", "月", "日",
    "時", "分", "秒", "回", "円", "個", "台", "枚", "割", "歳", "週", "校", "社", "課",
    "号", "条", "項", "本", "冊", "点", "倍", "期", "階", "棟", "橋", "戸", "部", "番",
    "区", "市", "町", "村", "頭", "匹", "km", "kg", "m", "%",
)  # fmt: skip
# No thousands separator before these (years, fiscal years, numbers of laws and codes).
_NO_GROUPING = ("年", "年度", "号", "条", "項", "期")
# Words written with kanji numerals (「公用文作成の考え方」: 語を構成する数、慣用句).
_FIXED_WORDS = (
    "一番", "一度", "一部", "一方", "一体", "一時的", "一時保", "一時停", "一時金", "一時預",
    "一時中", "一日中", "一日も", "一日一日", "一年中", "一本化", "一人ひとり", "一人一人",
    "一人前", "一回り", "一件落着", "一期一会", "二人三脚", "三日坊主", "十分",
)  # fmt: skip
# Kanji before a lone 一 that still make it a count (第一, 約一, 毎月一回 ...); any other
# kanji there makes a word (統一, 唯一, 同一, 万一, 関東一円).
_COUNT_PREFIXES = "第約計各毎月日年度時間内外中前後残全総延週"

_NUMERAL = "0-9〇一二三四五六七八九十百千万億兆"
_NUMBER = re.compile(
    rf"(?P<num>[{_NUMERAL}](?:[{_NUMERAL}]|,(?=[0-9]{{3}}))*"
    rf"(?:[.点][0-9〇一二三四五六七八九]+)?)"
    rf"(?P<counter>{'|'.join(re.escape(c) for c in COUNTERS)})?"
)


def _parse_group(text: str) -> int | None:
    """Value of a numeral below 10,000 written in Arabic, positional kanji or kanji with 十百千."""
    if not text:
        return None
    if text.isdigit() and text.isascii():
        return int(text)
    if all(c in _KANJI_DIGITS or c.isdigit() for c in text):
        # 二〇二六 (digit by digit); two kanji digits (二三人) are an estimate, not 23.
        if len(text) == 2 and "〇" not in text:
            return None
        return int("".join(str(_KANJI_DIGITS[c]) if c in _KANJI_DIGITS else c for c in text))
    value = 0
    pending: str = ""
    for char in text:
        if char in _SMALL_UNITS:
            factor = 1 if not pending else _parse_digits(pending)
            if factor is None:
                return None
            value += factor * _SMALL_UNITS[char]
            pending = ""
        else:
            pending += char
    if pending:
        rest = _parse_digits(pending)
        if rest is None:
            return None
        value += rest
    return value if value < 10_000 else None


def _parse_digits(text: str) -> int | None:
    if text.isascii() and text.isdigit():
        return int(text)
    if len(text) == 1 and text in _KANJI_DIGITS:
        return _KANJI_DIGITS[text]
    return None


def _split_big_units(text: str) -> list[tuple[int, str]] | None:
    """Split 1万2千 into [(1, '万'), (2000, '')]; None when a part is not a number."""
    groups: list[tuple[int, str]] = []
    rest = text
    for unit in _BIG_UNITS:
        if unit in rest:
            head, rest = rest.split(unit, 1)
            value = _parse_group(head) if head else 1
            if value is None or not head:
                # 万人 (everyone) or 億 alone is a word, not a number.
                return None
            groups.append((value, unit))
    if rest:
        value = _parse_group(rest)
        if value is None:
            return None
        groups.append((value, ""))
    return groups


def _format_number(num: str, counter: str) -> str | None:
    """The 公用文 form of a numeral before a counter, or None to leave it as it is."""
    integer, _, decimal = num.replace("点", ".").partition(".")
    integer = integer.replace(",", "")
    groups = _split_big_units(integer)
    if groups is None:
        return None
    if decimal:
        decimal = "".join(str(_KANJI_DIGITS.get(c, c)) for c in decimal)
    group_digits = counter not in _NO_GROUPING
    parts: list[str] = []
    for value, unit in groups:
        if value == 0 and unit:
            continue
        parts.append((f"{value:,}" if group_digits else str(value)) + unit)
    text = "".join(parts) or "0"
    if decimal:
        text += "." + decimal
    return text


def convert_numbers(text: str) -> str:
    """Write counted numbers in Arabic numerals, 公用文 style (横書き).

    三件 → 3件, 二千十九年 → 2019年, 千八百時間 → 1,800時間, 一万二千円 → 1万2,000円,
    1800時間 → 1,800時間, 28パーセント → 28%. A number is converted only before a
    counter or unit (see :data:`COUNTERS`), so 一般, 一緒, 統一 never change; words
    that contain a numeral (一番, 一度, 一部, 十分, 一人ひとり …), estimates (数十人,
    二、三人) and lone 一 after another kanji (唯一, 万一) are left in kanji.
    Thousands are grouped with commas except in years, 年度 and numbers of codes.

    Args:
        text: punctuated text.

    Returns:
        The text with numbers converted.
    """

    def replace(match: re.Match[str]) -> str:
        num, counter = match.group("num"), match.group("counter") or ""
        start = match.start()
        whole = match.group(0)
        has_kanji = any(not c.isascii() for c in num.replace("点", ""))
        before = text[start - 1] if start else ""
        if before and before.isascii() and (before.isalnum() or before in "-_/"):
            return whole  # part of a code such as ISO9001 or 03-1234
        # Without a counter only a number ending in a big unit (3000万, 三千万) is converted.
        if not counter and (not num.endswith(tuple(_BIG_UNITS)) or len(num) < 3):
            return whole
        if num[0] in _BIG_UNITS or num.startswith("."):
            return whole
        if has_kanji and _is_fixed_word(text, start, num, counter, before):
            return whole
        if not has_kanji and len(num.replace(",", "").split(".")[0]) < 4:
            return whole.replace("パーセント", "%")
        formatted = _format_number(num, counter)
        if formatted is None:
            return whole
        if counter == "パーセント":
            counter = "%"
        return formatted + counter

    return _NUMBER.sub(replace, text)


def _is_fixed_word(text: str, start: int, num: str, counter: str, before: str) -> bool:
    """True when a kanji numeral is part of a word or an estimate and must stay kanji."""
    if text.startswith(_FIXED_WORDS, start):
        # 三時十分 and 十分間 are times, not 十分 (enough).
        return not (
            num == "十"
            and counter == "分"
            and (before == "時" or text[start + 2 : start + 3] == "間")
        )
    if before == "数" or (before == "、" and start >= 2 and text[start - 2] in _KANJI_DIGITS):
        return True  # 数十人, 二、三人
    if num == "一" and _is_kanji(before) and before not in _COUNT_PREFIXES:
        return True  # 統一, 唯一, 万一, 関東一円
    if num == "一" and counter == "時" and text[start + 2 : start + 3] != "間":
        return before not in ("日", "前", "後")  # 一時 (temporarily) unless a clock time
    return False


def _is_kanji(char: str) -> bool:
    return bool(char) and ("\u4e00" <= char <= "\u9fff" or char in "々〆")


# --------------------------------------------------------------------------------------
# Fillers
# --------------------------------------------------------------------------------------

# Fillers that are also demonstratives (あの件, その後): removed only as a phrase of their own.
_DEMONSTRATIVES = frozenset({"あの", "その", "この", "あれ", "それ", "これ"})
_BEFORE = r"(?:^|(?<=[、。？！\s]))"


def load_fillers(path: str | Path | None = None) -> list[str]:
    """Read a filler list (one a line, ``#`` starts a comment).

    Args:
        path: the file; None for the list shipped with pilots (``fillers.txt``).

    Returns:
        The fillers in file order, without duplicates.

    Raises:
        InputFileError: the file cannot be read or decoded.
    """
    file = Path(path) if path is not None else DEFAULT_FILLERS_PATH
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputFileError(file, f"フィラー一覧を読めません（{exc.strerror or exc}）") from exc
    text, _ = decode(file, data)
    fillers: list[str] = []
    for line in text.splitlines():
        word = unicodedata.normalize("NFKC", line.split("#", 1)[0]).strip()
        if word and word not in fillers:
            fillers.append(word)
    return fillers


def _filler_regex(filler: str) -> str:
    # えーと also matches えーーと; any filler may be drawn out (あのぉ, まあー).
    body = "".join("ー+" if c == "ー" else re.escape(c) for c in filler)
    return body + "[ーぁぃぅぇぉっ〜~]*"


def _filler_pattern(fillers: Sequence[str]) -> re.Pattern[str] | None:
    """One regex that finds fillers standing alone as a phrase."""
    if not fillers:
        return None
    ordered = sorted(set(fillers), key=len, reverse=True)
    alone = "|".join(_filler_regex(f) for f in ordered)
    # A drawn-out or two-kana filler glued to the next word (まあ特に, あのー実施率) is still a
    # filler when that word starts with a kanji, katakana or digit; a demonstrative is not.
    glued_words = [f for f in ordered if len(f) >= 2 and f not in _DEMONSTRATIVES]
    glued = "|".join(_filler_regex(f) for f in glued_words)
    pattern = rf"{_BEFORE}(?:(?:{alone})(?=$|[、。？！\s])[、\s]*"
    if glued:
        pattern += rf"|(?:{glued})(?=[\u30a0-\u30ff\u4e00-\u9fffA-Za-z0-9])"
    return re.compile(pattern + ")")


def remove_fillers(text: str, pattern: re.Pattern[str] | None) -> str:
    """Delete fillers that stand alone as a phrase (see :func:`_filler_pattern`)."""
    if pattern is None:
        return text
    previous = None
    while previous != text:  # えー、あのー、 … : each removal exposes the next one
        previous = text
        text = pattern.sub("", text)
    return _tidy(text.strip())


# --------------------------------------------------------------------------------------
# Glossary
# --------------------------------------------------------------------------------------

# Marks the model (or our punctuation) may have put inside a term: 地域、放課、支援センター.
_SKIPPABLE = frozenset("、 ・,")
_VOICING = {0x3099: None, 0x309A: None}
_SMALL_KANA = str.maketrans("ァィゥェォッャュョヮヵヶヂヅヲヴ", "アイウエオツヤユヨワカケジズオブ")


def to_katakana(text: str) -> str:
    """Hiragana to katakana; everything else unchanged."""
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


@lru_cache(maxsize=8192)
def _reading_key(reading: str) -> str:
    """A reading in the form readings are compared in.

    Small kana count as large ones, ヂヅヲ as ジズオ and voiced kana as unvoiced,
    because the analyser reads a lone 決 as ケツ where the word 決裁 has ケッ, and
    所 as ショ where 保健所 has ジョ; Latin letters are upper-cased.
    """
    kana = to_katakana(unicodedata.normalize("NFKC", reading)).translate(_SMALL_KANA).upper()
    # Voicing changes inside compounds (保健所 ホケンジョ, read alone 所 ショ): compare unvoiced.
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", kana).translate(_VOICING))


@dataclass(frozen=True)
class GlossaryTerm:
    """One entry of a glossary (用語集).

    Attributes:
        surface: how the term is written (表記), e.g. ``電子決裁``.
        reading: its reading in katakana (よみ), e.g. ``デンシケッサイ``; '' if not given.
    """

    surface: str
    reading: str = ""


@dataclass(frozen=True)
class _Token:
    start: int  # in the skeleton
    end: int
    surface: str
    reading: str  # compared form
    known: bool  # a word of the analyser's dictionary


@dataclass(frozen=True)
class _Alignment:
    dest_start: int  # in the reading
    dest_end: int


@dataclass(frozen=True)
class _Candidate:
    start: int  # in the skeleton
    end: int
    score: float


class Glossary:
    """The department's proper nouns and jargon, used to correct misheard terms.

    pilots never feeds the glossary to Whisper (as hotwords or prompt it was
    measured to ruin transcripts); it corrects the text afterwards, and only
    where the evidence is strong, so that a glossary never makes a transcript
    worse:

    * a span is replaced when its reading equals a term's reading (電子決済 →
      電子決裁, ウィンアクター → WinActor) and the term's reading has at least
      four kana, or — for readings of seven kana or more — when it differs in
      at most about one kana in seven and shares a character with the term
      (会計年度人要職員 → 会計年度任用職員), or — for terms of six characters
      or more — when it is written nearly like the term, same first and last
      character, and its reading is 80 % alike (地域豊発支援センター →
      地域包括支援センター, but not 地域活動支援センター);
    * a span that equals a term, or lies inside one, is never touched, and a
      span that is one ordinary dictionary word (協力 vs 橋梁) is replaced only
      on an exact reading of five kana or more;
    * 、 and spaces the model put inside a term are absorbed (庁内、LAN → 庁内LAN).

    Attributes:
        terms: the entries, in file order.
    """

    def __init__(self, terms: Iterable[GlossaryTerm]) -> None:
        self.terms: list[GlossaryTerm] = list(terms)
        self._prepared: list[tuple[GlossaryTerm, str, str]] | None = None
        self._keys: list[str] = []
        self._surface_of: dict[str, str] = {}
        self._exact_pattern: re.Pattern[str] = re.compile("(?!)")

    @classmethod
    def load(cls, path: str | Path) -> Glossary:
        """Read a glossary file: ``表記<TAB>よみ`` a line, よみ optional.

        Lines starting with ``#`` and blank lines are skipped. The file may be
        UTF-8 (with or without BOM) or Shift_JIS (CP932), as Excel saves it.

        Args:
            path: the TSV file.

        Returns:
            The glossary.

        Raises:
            InputFileError: the file cannot be read or decoded, or a line has
                more than two columns, an empty 表記, or a よみ that is not kana;
                the error names the line.
        """
        file = Path(path)
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise InputFileError(file, f"用語集を読めません（{exc.strerror or exc}）") from exc
        text, _ = decode(file, data)
        terms: list[GlossaryTerm] = []
        seen: set[str] = set()
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            cells = [c.strip() for c in line.rstrip("\r\n").split("\t")]
            while len(cells) > 1 and not cells[-1]:
                cells.pop()
            if len(cells) > 2:
                raise InputFileError(
                    file, "列が多すぎます（「表記<タブ>よみ」の2列まで）", line=number
                )
            surface = unicodedata.normalize("NFKC", cells[0]).strip()
            if not surface:
                raise InputFileError(file, "表記が空です", line=number)
            reading = cells[1] if len(cells) == 2 else ""
            reading = to_katakana(unicodedata.normalize("NFKC", reading)).replace(" ", "")
            if reading and not re.fullmatch(r"[\u30a0-\u30ffA-Za-z0-9]+", reading):
                raise InputFileError(
                    file, f"よみ「{cells[1]}」はひらがなかカタカナで書いてください", line=number
                )
            if surface in seen:
                continue
            seen.add(surface)
            terms.append(GlossaryTerm(surface, reading))
        return cls(terms)

    def apply(self, text: str) -> tuple[str, int]:
        """Correct misheard glossary terms in one segment's text.

        Args:
            text: punctuated text (the output of the other steps).

        Returns:
            The corrected text and the number of replacements made.
        """
        if not self.terms or not text:
            return text, 0
        skeleton, origin = _skeleton(text)
        if not skeleton:
            return text, 0
        prepared = self._prepare()
        # Terms already present, longest first (a shorter term inside a longer one is part of it).
        exact = [
            (m.start(), m.end(), self._surface_of[m.group(0)])
            for m in self._exact_pattern.finditer(skeleton)
        ]
        taken = [(s, e) for s, e, _ in exact]
        tokens = _tokens(skeleton)
        reading, offsets = _reading_map(tokens)
        _, process, _ = _rapidfuzz()
        fuzz = _rapidfuzz()[0]
        # One C call scores every term against the segment; only close ones are searched.
        hits = process.extract(
            reading, self._keys, scorer=fuzz.partial_ratio, score_cutoff=70, limit=None
        )
        replacements: list[tuple[int, int, str]] = []
        for index in sorted(hit[2] for hit in hits):
            term, key, skel_surface = prepared[index]
            for candidate in _find(term, key, skel_surface, skeleton, tokens, reading, offsets):
                if any(candidate.start < e and s < candidate.end for s, e in taken):
                    continue
                taken.append((candidate.start, candidate.end))
                replacements.append((candidate.start, candidate.end, term.surface))
        # A term present but split by 、 or spaces (庁内、LAN) is written whole again.
        replacements.extend(exact)
        out = text
        count = 0
        for start, end, surface in sorted(replacements, reverse=True):
            begin, finish = origin[start], origin[end - 1] + 1
            if out[begin:finish] == surface:
                continue
            out = out[:begin] + surface + out[finish:]
            count += 1
        return out, count

    def _prepare(self) -> list[tuple[GlossaryTerm, str, str]]:
        """Terms with their comparison reading and skeleton, longest reading first."""
        if self._prepared is None:
            items: list[tuple[GlossaryTerm, str, str]] = []
            for term in self.terms:
                skel = _skeleton(term.surface)[0]
                reading = term.reading or _surface_reading(skel)
                items.append((term, _reading_key(reading), skel))
            items.sort(key=lambda item: (len(item[1]), len(item[2])), reverse=True)
            self._prepared = items
            self._keys = [key if len(key) >= 4 else "\0" for _, key, _ in items]
            self._surface_of = {skel: term.surface for term, _, skel in reversed(items)}
            by_length = sorted(self._surface_of, key=len, reverse=True)
            self._exact_pattern = re.compile("|".join(re.escape(x) for x in by_length))
        return self._prepared


def _skeleton(text: str) -> tuple[str, list[int]]:
    """The text without 、/spaces/・ and, for each kept character, its index in ``text``."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        if char in _SKIPPABLE:
            continue
        chars.append(char)
        origin.append(index)
    return "".join(chars), origin


@lru_cache(maxsize=1)
def _rapidfuzz() -> tuple[Any, Any, Any]:
    """rapidfuzz's fuzz, process and Levenshtein, imported on first use."""
    fuzz = importlib.import_module("rapidfuzz.fuzz")
    process = importlib.import_module("rapidfuzz.process")
    levenshtein = importlib.import_module("rapidfuzz.distance").Levenshtein
    return fuzz, process, levenshtein


@lru_cache(maxsize=1)
def _tagger() -> Any:
    # Imported here so that `pilots --help` and the CLI stay instant (STYLE habit 8).
    fugashi = importlib.import_module("fugashi")
    return fugashi.Tagger()


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    for word in _tagger()(text):
        surface: str = word.surface
        start = text.find(surface, position)
        if start < 0:  # the analyser never drops characters, but do not trust offsets blindly
            start = position
        end = start + len(surface)
        kana = getattr(word.feature, "kana", None)
        if not kana or kana == "*":
            kana = surface
        tokens.append(_Token(start, end, surface, _reading_key(kana), not word.is_unk))
        position = end
    return tokens


def _surface_reading(text: str) -> str:
    return "".join(token.reading for token in _tokens(text))


def _reading_map(tokens: Sequence[_Token]) -> tuple[str, dict[int, int]]:
    """The reading of the whole text, and a map from reading offsets to skeleton offsets.

    Offsets are mapped at token boundaries and, inside a token whose reading
    runs one to one with its surface (kana, Latin), at every character.
    """
    reading_parts: list[str] = []
    offsets: dict[int, int] = {}
    position = 0
    for token in tokens:
        offsets[position] = token.start
        if len(token.reading) == token.end - token.start and not _has_kanji(token.surface):
            for i in range(1, len(token.reading)):
                offsets[position + i] = token.start + i
        reading_parts.append(token.reading)
        position += len(token.reading)
        offsets[position] = token.end
    return "".join(reading_parts), offsets


def _has_kanji(text: str) -> bool:
    return any(_is_kanji(c) for c in text)


def _find(
    term: GlossaryTerm,
    key: str,
    skel_surface: str,
    skeleton: str,
    tokens: Sequence[_Token],
    reading: str,
    offsets: dict[int, int],
) -> list[_Candidate]:
    """Spans of the skeleton that are a misheard form of ``term``."""
    fuzz, _, levenshtein = _rapidfuzz()
    size = len(key)
    if size < 4 or len(reading) < size - 1:
        return []
    exact_only = size < 7
    found: list[_Candidate] = []
    haystack = reading
    for _ in range(4):  # a term rarely occurs more than a few times in one segment
        if len(haystack) <= size:
            alignment = _Alignment(0, len(haystack))
        else:
            found_at = fuzz.partial_ratio_alignment(key, haystack, score_cutoff=70)
            if found_at is None:
                break
            alignment = _Alignment(found_at.dest_start, found_at.dest_end)
        best: _Candidate | None = None
        starts = [p for p in offsets if abs(p - alignment.dest_start) <= 3]
        ends = [p for p in offsets if abs(p - alignment.dest_end) <= 3]
        for r_start in starts:
            for r_end in ends:
                if r_end - r_start < size - 2 or r_end - r_start > size + 2:
                    continue
                distance = levenshtein.distance(key, reading[r_start:r_end])
                limit = 0 if exact_only else max(1, size // 7)
                score = 1 - distance / max(size, r_end - r_start)
                if distance > limit and not (
                    score >= 0.8
                    and _looks_alike(skeleton[offsets[r_start] : offsets[r_end]], skel_surface)
                ):
                    continue
                candidate = _Candidate(offsets[r_start], offsets[r_end], score)
                if best is None or candidate.score > best.score:
                    best = candidate
        if best is not None and _plausible(best, term, skel_surface, skeleton, tokens, size):
            found.append(best)
        # Blank out the searched region and look for another occurrence.
        masked = "\0" * (alignment.dest_end - alignment.dest_start)
        haystack = haystack[: alignment.dest_start] + masked + haystack[alignment.dest_end :]
        if len(reading) <= size:
            break
    return found


def _looks_alike(span: str, surface: str) -> bool:
    """A long term written with one kanji in five misheard: 地域豊発支援センター.

    The analyser reads a stray kanji alone by its kun reading (豊 ユタカ, not
    ホウ), so the reading alone cannot vouch for such a span; the written form
    must then be nearly the term's, with the same first and last character.
    """
    if len(surface) < 6 or not span or span[0] != surface[0] or span[-1] != surface[-1]:
        return False
    levenshtein = _rapidfuzz()[2]
    similarity: float = levenshtein.normalized_similarity(span, surface)
    return similarity >= 0.8


def _plausible(
    candidate: _Candidate,
    term: GlossaryTerm,
    skel_surface: str,
    skeleton: str,
    tokens: Sequence[_Token],
    size: int,
) -> bool:
    """The checks that keep a glossary from making a transcript worse."""
    span = skeleton[candidate.start : candidate.end]
    if not span or span == skel_surface:
        return False
    if sum("ぁ" <= c <= "ゖ" for c in span) * 2 > len(span):
        return False  # mostly hiragana: grammar words, not a misheard term
    inside = [t for t in tokens if candidate.start <= t.start and t.end <= candidate.end]
    if len(inside) == 1 and inside[0].known and _has_kanji(span):
        # One ordinary word of its own (協力, 専用): only a long exact reading replaces it.
        return candidate.score == 1.0 and size >= 5
    if candidate.score < 1.0:
        # A near reading must also look like the term: share a character with it.
        return bool(set(span) & set(skel_surface))
    return True


# --------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------


class TextPipeline:
    """Turns one raw Whisper segment into draft-minutes text.

    The steps, in order: NFKC normalisation, filler removal (if asked), spacing
    and punctuation, numbers, glossary.

    Args:
        fillers: fillers to delete (see :func:`load_fillers`); None keeps the
            speech verbatim (逐語), fillers included.
        glossary: terms to correct after recognition; None for no correction.
    """

    def __init__(self, *, fillers: list[str] | None, glossary: Glossary | None) -> None:
        self.fillers = fillers
        self.glossary = glossary
        self._filler_pattern = _filler_pattern(fillers) if fillers is not None else None

    def process(self, raw: str, *, next_raw: str | None = None) -> tuple[str, int]:
        """Post-process one segment.

        Args:
            raw: the segment's text as the model produced it.
            next_raw: the following segment's raw text (None for the last one);
                it decides whether this segment ends with 。, 、 or nothing.

        Returns:
            The text and the number of glossary replacements made in it.
        """
        text = normalize_text(raw)
        text = remove_fillers(text, self._filler_pattern)
        text = punctuate(text, next_raw=next_raw)
        text = convert_numbers(text)
        if self.glossary is None or not text:
            return text, 0
        return self.glossary.apply(text)
