"""Messages in the two languages of the course: Korean and English.

A message the grader writes for a person is made once, where the facts are at hand, in
both languages: `msg(en, ko)` returns a `Msg`, a `str` whose value is the English text
and which carries the Korean beside it. Being a `str`, it flows unchanged through
exceptions, pytest and every place that expects text; where a language is chosen (a
report, the CLI), `pick(text, lang)` takes the right one, and text that carries no
Korean is shown as it is. Translation at render time from English keys cannot work for
messages built with numbers and names in them; carrying both from the start can.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

LANGS = ("ko", "en")
DEFAULT_LANG = "en"


class Msg(str):
    """English text (the str value) with its Korean (`ko`)."""

    ko: str

    def __new__(cls, en: str, ko: str | None = None) -> Msg:
        obj = super().__new__(cls, en)
        obj.ko = en if ko is None else ko
        return obj

    def __reduce__(self) -> Any:  # keep the Korean through pickling/copying
        return (Msg, (str(self), self.ko))


def msg(en: str, ko: str) -> Msg:
    return Msg(en, ko)


def pick(text: str, lang: str) -> str:
    """`text` in `lang`: its Korean for "ko" when it carries one, else the text itself."""
    if lang == "ko" and isinstance(text, Msg):
        return text.ko
    return str(text)


def korean(text: str) -> str:
    """The Korean of `text` when it carries one, else "" (stored beside the English)."""
    return text.ko if isinstance(text, Msg) and text.ko != str(text) else ""


def join(parts: Iterable[str], sep: str = "\n") -> str:
    """Parts joined in both languages (a Msg when any part carries Korean)."""
    items = list(parts)
    en = sep.join(str(p) for p in items)
    if not any(isinstance(p, Msg) for p in items):
        return en
    return Msg(en, sep.join(pick(p, "ko") for p in items))


def from_author(value: str | Mapping[str, str]) -> str:
    """A message an assignment's author wrote: plain text, or {"ko": ..., "en": ...}
    (either key may be missing; the other language stands in for it)."""
    if isinstance(value, Mapping):
        en = value.get("en") or value.get("ko") or ""
        ko = value.get("ko") or en
        return Msg(str(en), str(ko))
    return value


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        from .errors import UsageError

        raise UsageError(
            msg(
                f"unknown language {lang!r}; choose one of {', '.join(LANGS)}",
                f"알 수 없는 언어 {lang!r}: {', '.join(LANGS)} 중 하나를 고르세요",
            )
        )
    return lang


def with_korean(en: str, ko: str | None) -> str:
    """Stored English and its stored Korean put back together: a Msg when the Korean is
    there and differs, else the English as it is (rows written before Korean existed)."""
    return Msg(en, ko) if ko and ko != en else en


def message_of(exc: BaseException) -> str:
    """An exception's message with its Korean: `str(exc)` drops the Msg (str() of a str
    subclass is a plain str), so the first argument is taken when it is one. An
    argument that is {"ko": ..., "en": ...} (an author's `assert ok, {...}`) becomes a Msg."""
    arg = exc.args[0] if len(exc.args) == 1 else None
    if isinstance(arg, Msg):
        return arg
    if isinstance(arg, Mapping) and ("en" in arg or "ko" in arg):
        return from_author(arg)
    return str(exc)
