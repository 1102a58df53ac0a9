"""Raw Whisper text to draft-minutes text: spacing, punctuation, numbers, fillers and glossary.

Whisper's small models write Japanese the way subtitles are written: phrases
separated by spaces, few or no 、。, kanji or Arabic numerals at random, and
every えー and あのー. :class:`TextPipeline` turns one segment of that into the
style of a 公用文 draft (「公用文作成の考え方」, 2022): no spaces between
Japanese phrases, 。 at sentence ends and 、 at pauses, Arabic numerals with
counters (3件, 1,800時間, 1万2,000円), fillers removed on request, and the
department's own words (用語集) put back where the model misheard them
(:mod:`pilots.asr.glossary`).

Everything here is rule based and offline.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from pilots.asr.glossary import Glossary
from pilots.tabular import read_text
from pilots.text import is_kanji

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
    if num == "一" and is_kanji(before) and before not in _COUNT_PREFIXES:
        return True  # 統一, 唯一, 万一, 関東一円
    if num == "一" and counter == "時" and text[start + 2 : start + 3] != "間":
        return before not in ("日", "前", "後")  # 一時 (temporarily) unless a clock time
    return False


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
    text = read_text(file, "フィラー一覧")
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
