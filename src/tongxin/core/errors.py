"""Typed domain errors carrying bilingual (Chinese / English) messages.

Every edge (HTTP, HTML, CLI, import report) translates these once; the core never
formats errors for a particular face.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Message:
    """One bilingual message: Chinese first, English second."""

    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class FieldError:
    """A problem with one field (and, for files, one row)."""

    field: str
    message: Message
    value: object = None
    row: int | None = None

    def __str__(self) -> str:
        where_zh = f"第 {self.row} 行 " if self.row is not None else ""
        where_en = f"Row {self.row}, " if self.row is not None else ""
        return f"{where_zh}‘{self.field}’ {self.message.zh} / {where_en}{self.field}: {self.message.en}"

    def as_dict(self) -> dict[str, object]:
        return {
            "row": self.row,
            "field": self.field,
            "value": None if self.value is None else str(self.value),
            "message_zh": self.message.zh,
            "message_en": self.message.en,
        }


class TongxinError(Exception):
    """Base of every domain error. `code` is stable and machine-readable."""

    code = "error"
    status = 400

    def __init__(self, message: Message, errors: list[FieldError] | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.errors: list[FieldError] = list(errors or [])

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message_zh": self.message.zh,
            "message_en": self.message.en,
            "errors": [e.as_dict() for e in self.errors],
        }


class ValidationError(TongxinError):
    code = "validation_error"
    status = 422

    @classmethod
    def of(cls, errors: list[FieldError]) -> ValidationError:
        n = len(errors)
        return cls(Message(f"共 {n} 处输入有误", f"{n} invalid field(s)"), errors)


class NotFound(TongxinError):
    code = "not_found"
    status = 404


class Conflict(TongxinError):
    code = "conflict"
    status = 409


class Forbidden(TongxinError):
    code = "forbidden"
    status = 403


class BadFile(TongxinError):
    """A file that is not what it claims to be (corrupt, wrong encoding, missing sheet)."""

    code = "bad_file"
    status = 400


@dataclass
class ErrorCollector:
    """Collects field errors so a whole record is reported at once."""

    row: int | None = None
    errors: list[FieldError] = field(default_factory=list)

    def add(self, field_name: str, zh: str, en: str, value: object = None) -> None:
        self.errors.append(FieldError(field_name, Message(zh, en), value, self.row))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError.of(self.errors)
