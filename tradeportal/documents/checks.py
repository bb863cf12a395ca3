"""Checks on every uploaded file: name, size, type by extension *and* by content.

Nothing here trusts the client: the content type stored is the one of the
extension, and the content must match it (magic bytes; OOXML and XPS opened as
ZIP archives with bounded entries and sizes, and no macros).
"""
from __future__ import annotations

import os
import unicodedata
import zipfile
from dataclasses import dataclass, field
from typing import BinaryIO

from flask_babel import lazy_gettext as _l

# extension -> content type stored and sent back on download
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "rtf": "application/rtf",
    "txt": "text/plain",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "tiff": "image/tiff",
    "tif": "image/tiff",
    "xps": "application/vnd.ms-xpsdocument",
}
EXTENSIONS = tuple(CONTENT_TYPES)
ACCEPT_ATTRIBUTE = ",".join(f".{ext}" for ext in EXTENSIONS)

# ZIP-based formats: bounds that no genuine office file reaches, and that stop a zip bomb
# before anything is unpacked (only [Content_Types].xml is read, at most 1 MB of it).
ZIP_MAX_ENTRIES = 5000
ZIP_MAX_UNCOMPRESSED = 200 * 1024 * 1024
ZIP_MAX_RATIO = 200  # per entry above 1 MB: deflated zeros reach ~1000
CONTENT_TYPES_MAX = 1024 * 1024
NAME_MAX = 200

OLE2 = bytes.fromhex("D0CF11E0A1B11AE1")
VBA_IN_OLE = "_VBA_PROJECT".encode("utf-16-le")
BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
INVISIBLE_MARKS = {"\u200e", "\u200f", "\u200b", "\ufeff"}

MESSAGES = {
    "empty": _l("%(name)s is empty. Choose a file that has content."),
    "too_large": _l("%(name)s is larger than %(limit)s. Choose a smaller file, or split it."),
    "too_many": _l("%(name)s was not added: an upload holds at most %(count)s files."),
    "extension": _l("%(name)s is not an accepted type of file. Accepted types: %(types)s."),
    "content": _l("The content of %(name)s is not a real %(type)s file. Save it again in that format and choose it again."),
    "macro": _l("%(name)s contains macros, which are not accepted. Save it without macros and choose it again."),
    "archive": _l("%(name)s is too large once unpacked or has too many parts. Save it again or split it."),
    "name": _l("The name of %(name)s contains a folder path or hidden control characters. Rename the file and choose it again."),
    "virus": _l("%(name)s was refused by the virus scan."),
    "scan_failed": _l("%(name)s could not be checked for viruses. Try again in a few minutes."),
    "no_files": _l("Choose at least one file to upload."),
    "category": _l("Select a category from the list."),
    "case_number": _l("Enter a case or reference number of 1 to 10 letters and digits."),
}


@dataclass
class FileError:
    """A refused file: its (sanitised) name, a stable code, and the message for the person."""

    name: str
    code: str
    message: object = None  # a lazy string, rendered in the reader's language
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.message is None:
            self.message = make_message(self.code, self.name, self.params)

    def as_json(self) -> dict:
        return {"name": self.name, "code": self.code, "params": self.params}

    @classmethod
    def from_json(cls, data: dict) -> "FileError":
        return cls(name=data.get("name", ""), code=data.get("code", "content"), params=data.get("params") or {})


def make_message(code: str, name: str, params: dict | None = None):
    """A new lazy string with the parameters: rendered in the language of whoever reads it."""
    params = dict(params or {})
    if code == "too_large":
        params["limit"] = _l("%(size)s MB", size=params.get("megabytes", ""))
    if code == "extension":
        params["types"] = ", ".join(EXTENSIONS)
    template = MESSAGES.get(code, MESSAGES["content"])
    return _l(template._args[0], name=name, **params)


@dataclass
class CheckedFile:
    display_name: str
    extension: str
    content_type: str
    size: int


def sanitise_name(raw: str | None) -> tuple[str, bool]:
    """(display name, suspicious): the base name without control or bidi characters, bounded.

    `suspicious` is True when the client's name held a folder path or bidi controls
    (used to disguise an extension, "invoice\u202Efdp.exe"): such a file is refused.
    """
    raw = raw or ""
    suspicious = any(ch in BIDI_CONTROLS for ch in raw)
    parts = raw.replace("\\", "/").split("/")
    if len(parts) > 1 or any(p in ("..", ".") for p in parts):
        suspicious = True
    base = unicodedata.normalize("NFC", parts[-1])
    cleaned = "".join(
        ch for ch in base
        if ch not in BIDI_CONTROLS and ch not in INVISIBLE_MARKS and unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp")
    )
    cleaned = " ".join(cleaned.split()).strip(" .")
    if len(cleaned) > NAME_MAX:
        stem, dot, ext = cleaned.rpartition(".")
        cleaned = (stem[: NAME_MAX - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else cleaned[:NAME_MAX]
    return cleaned or "document", suspicious


def extension_of(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def stream_size(stream: BinaryIO) -> int:
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def check_file(name: str | None, stream: BinaryIO, max_bytes: int) -> CheckedFile | FileError:
    """Every rule of the issue for one file; the stream is left at position 0."""
    display, suspicious = sanitise_name(name)
    if suspicious:
        return FileError(display, "name")
    ext = extension_of(display)
    if ext not in CONTENT_TYPES:
        return FileError(display, "extension")
    size = stream_size(stream)
    if size == 0:
        return FileError(display, "empty")
    if size > max_bytes:
        return FileError(display, "too_large", params={"megabytes": _megabytes(max_bytes)})
    code = _content_problem(ext, stream, size)
    stream.seek(0)
    if code:
        return FileError(display, code, params={"type": ext.upper()})
    return CheckedFile(display_name=display, extension=ext, content_type=CONTENT_TYPES[ext], size=size)


def _megabytes(limit: int) -> str:
    value = limit / (1024 * 1024)
    return f"{value:g}" if value >= 1 else f"{value:.2f}"


def _content_problem(ext: str, stream: BinaryIO, size: int) -> str | None:
    stream.seek(0)
    head = stream.read(16)
    if ext == "pdf":
        return None if head.startswith(b"%PDF-") else "content"
    if ext in ("jpg", "jpeg"):
        return None if head.startswith(b"\xff\xd8\xff") else "content"
    if ext in ("tif", "tiff"):
        return None if head.startswith((b"II*\x00", b"MM\x00*")) else "content"
    if ext == "rtf":
        return None if head.startswith(b"{\\rtf") else "content"
    if ext in ("doc", "xls"):
        if not head.startswith(OLE2):
            return "content"
        return "macro" if _contains(stream, VBA_IN_OLE) else None
    if ext in ("docx", "xlsx", "xps"):
        if not head.startswith(b"PK\x03\x04"):
            return "content"
        stream.seek(0)
        return _zip_problem(ext, stream)
    if ext == "txt":
        stream.seek(0)
        return None if _is_text(stream.read()) else "content"
    return "content"


def _contains(stream: BinaryIO, needle: bytes, chunk: int = 1024 * 1024) -> bool:
    stream.seek(0)
    tail = b""
    while True:
        block = stream.read(chunk)
        if not block:
            return False
        if needle in tail + block:
            return True
        tail = block[-len(needle):]


def _zip_problem(ext: str, stream: BinaryIO) -> str | None:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return "content"
    with archive:
        entries = archive.infolist()
        if len(entries) > ZIP_MAX_ENTRIES:
            return "archive"
        total = 0
        for info in entries:
            total += info.file_size
            if info.file_size > 1024 * 1024 and info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1):
                return "archive"
        if total > ZIP_MAX_UNCOMPRESSED:
            return "archive"
        names = [info.filename for info in entries]
        lowered = [n.replace("\\", "/").lower() for n in names]
        if any(n.rsplit("/", 1)[-1] == "vbaproject.bin" for n in lowered):
            return "macro"
        if "[content_types].xml" not in lowered:
            return "content"
        content_types = _read_bounded(archive, names[lowered.index("[content_types].xml")])
        if content_types is None:
            return "archive"
        if b"macroenabled" in content_types.lower():
            return "macro"
        main = {"docx": "word/", "xlsx": "xl/"}.get(ext)
        if main and not any(n.startswith(main) for n in lowered):
            return "content"
        if ext == "xps" and not any(n.endswith(".fdseq") for n in lowered):
            return "content"
    return None


def _read_bounded(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        with archive.open(name) as fh:
            data = fh.read(CONTENT_TYPES_MAX + 1)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
        return None
    return None if len(data) > CONTENT_TYPES_MAX else data


def _is_text(data: bytes) -> bool:
    """UTF-8 (with or without BOM) or a Latin-1 / Windows-1252 text: no NUL, no other C0 control."""
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        pass
    allowed = {9, 10, 12, 13}
    return not any(b < 32 and b not in allowed for b in data)
