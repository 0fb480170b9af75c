"""Reading a repository's files without leaving it, and writing without needless changes.

A path a file names (a ``body`` in tenant.yaml) and every file found in a folder must stay
inside the repository once links are followed: absolute paths, ``..`` and links that point
out are refused, as are files that are not regular files (a FIFO would block). What is read
counts against one byte budget, the import size limit.

Writing keeps a file whose content already means the same (same JSON, same sections), so a
repository that Sluice exports into shows no difference for flows nobody changed, and never
writes through a link.
"""

import io
import json
import zipfile
from pathlib import Path

from flows_app.layouts.jsontext import normalized, stringify
from flows_app.layouts.shape import js_order
from flows_app.layouts.yamltext import SECTIONS, YamlRefused, load, merge


class LayoutError(Exception):
    """Nothing was read or written; ``problems`` say why, naming the file."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class Budget:
    """The bytes an import may still read."""

    def __init__(self, limit: int):
        self.limit = limit
        self.left = limit

    def read(self, path: Path, shown: str) -> str:
        try:
            with path.open("rb") as handle:
                data = handle.read(self.left + 1)
        except OSError as exc:
            raise LayoutError([f"Cannot read {shown}: {exc.strerror}."]) from None
        if len(data) > self.left:
            raise LayoutError(
                [f"The files are larger than {self.limit:,} bytes together, the import limit."]
            )
        self.left -= len(data)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise LayoutError([f"{shown} is not UTF-8 text."]) from None


def inside(root: Path, relative: str, shown: str) -> Path:
    """``root / relative`` when it stays in ``root`` with links followed; else LayoutError."""
    if not relative or Path(relative).is_absolute() or relative.startswith("~"):
        raise LayoutError([f"{shown}: {relative!r} is not a path inside the repository."])
    path = root / relative
    if not path.resolve().is_relative_to(root.resolve()):
        raise LayoutError([f"{shown}: {relative!r} leads out of the repository."])
    if not path.is_file():
        raise LayoutError([f"{shown}: {relative!r} is not a file."])
    return path


def json_files(root: Path, folder: str) -> list[Path]:
    """The ``.json`` files of ``root / folder`` by name, each checked by ``inside``."""
    if not (root / folder).resolve().is_relative_to(root.resolve()):
        raise LayoutError([f"{folder}/ leads out of the repository."])
    names = sorted(p.name for p in (root / folder).iterdir() if p.suffix == ".json")
    return [inside(root, f"{folder}/{name}", f"{folder}/{name}") for name in names]


def parse_json(text: str, shown: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise LayoutError([f"{shown} is not JSON: {exc}."]) from None
    except RecursionError:
        raise LayoutError([f"{shown} is nested too deeply."]) from None


# --- Writing ---------------------------------------------------------------------------------


def write(directory: Path, files: dict[str, str]) -> list[str]:
    """Write ``files`` (relative path → text) under ``directory``; what was done, per file.

    Every file is checked and prepared before the first is written, so a problem with one
    (a link, an unreadable tenant.yaml) leaves the repository as it was."""
    plan = [_prepare(directory, relative, text) for relative, text in files.items()]
    done = []
    for target, text in plan:
        if text is None:
            done.append(f"Unchanged {target}")
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise LayoutError([f"Cannot write {target}: {exc.strerror}."]) from None
        done.append(f"Wrote {target}")
    return done


def _prepare(directory: Path, relative: str, text: str) -> tuple[Path, str | None]:
    """The file to write and its text; None for a file that already means the same."""
    target = directory / relative
    _check_target(directory, target)
    existing = _existing(target)
    if existing is None:
        return target, text
    if relative == "tenant.yaml":
        text = _tenant_text(existing, text, target)
    return target, None if _same(relative, existing, text) else text


def _existing(target: Path) -> str | None:
    try:
        return target.read_text(encoding="utf-8") if target.is_file() else None
    except (OSError, UnicodeDecodeError):
        raise LayoutError([f"Cannot read {target}; it was left as it is."]) from None


def _check_target(directory: Path, target: Path) -> None:
    if target.is_symlink() or not target.parent.resolve().is_relative_to(directory.resolve()):
        raise LayoutError([f"{target} is a link; Sluice does not write through links."])
    if target.exists() and not target.is_file():
        raise LayoutError([f"{target} is not a file."])


def _same(relative: str, existing: str, text: str) -> bool:
    try:
        if relative == "tenant.yaml":
            return _sections(existing, relative) == _sections(text, relative)
        return _canonical(json.loads(existing)) == _canonical(json.loads(text))
    except (ValueError, RecursionError, YamlRefused):
        return False


def _canonical(value: object) -> str:
    return stringify(normalized(value))


def _sections(text: str, shown: str) -> str:
    document = load(text, shown)
    kept = {k: document[k] for k in SECTIONS if isinstance(document, dict) and k in document}
    return _canonical(kept)


def _tenant_text(existing: str, ours: str, target: Path) -> str:
    """Our two sections put into the tenant.yaml already there, the rest of it kept; so are
    the entries of flows and connections that this export does not hold."""
    try:
        before = load(existing, str(target))
        after = load(ours, "tenant.yaml")
        if not isinstance(after, dict):
            raise YamlRefused("Sluice's own sections did not read back.")
        merged = {key: _entries(before, key, after[key] or [], target) for key in SECTIONS}
        changed = {k: v for k, v in merged.items() if not _holds(before, k, v)}
        return merge(existing, changed)
    except YamlRefused as exc:
        raise LayoutError([f"{target} was left as it is: {exc}"]) from None


def _holds(document: object, key: str, entries: list[dict]) -> bool:
    """Whether the document has this section and it already says what ``entries`` say."""
    if not isinstance(document, dict) or key not in document:
        return False
    return _canonical(document[key] or []) == _canonical(entries)


def _entries(before: object, key: str, ours: list[dict], target: Path) -> list[dict]:
    found = before.get(key) if isinstance(before, dict) else None
    names = {entry["name"] for entry in ours}
    kept = [e for e in found or [] if not (isinstance(e, dict) and e.get("name") in names)]
    if not all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in kept):
        raise LayoutError([f"{target}: an entry of {key} has no name; it was left as it is."])
    return sorted([*kept, *ours], key=lambda entry: js_order(entry["name"]))


def zip_bytes(files: dict[str, str]) -> bytes:
    """A zip of ``files`` with fixed dates, so the same export gives the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative, text in files.items():
            info = zipfile.ZipInfo(relative, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()
