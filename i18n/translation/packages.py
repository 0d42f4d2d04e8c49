"""Argos model packages: validate, install, list, and fetch from the Argos index.

An `.argosmodel` is a zip holding one directory with metadata.json, a CTranslate2 model in
model/ and sentencepiece.model. We install into the service's own models directory
(settings.translation_models_dir, default <data_dir>/argos) with the same layout
argostranslate uses, so a directory filled by `argospm` works too. argostranslate itself is
imported only for `--from-index` (its settings module creates directories in the user's home
at import, so we point it at the models directory first).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from i18n.translation.codes import argos_codes, catalog_code

MAX_UNPACKED_BYTES = 4 * 1024**3  # a real Argos package is 100-300 MB; refuse zip bombs
MAX_MEMBERS = 10_000


class PackageError(ValueError):
    """A package file is not a usable Argos translation package (message says why)."""


@dataclass(frozen=True)
class PackageInfo:
    name: str  # the package's directory name inside the zip
    from_code: str  # Argos codes as written in metadata.json
    to_code: str
    version: str
    metadata: dict[str, Any]

    @property
    def pair(self) -> tuple[str, str]:
        """The pair in catalog codes (zt -> zh-Hant, pb -> pt-BR...)."""
        return catalog_code(self.from_code), catalog_code(self.to_code)


@dataclass(frozen=True)
class InstalledPackage:
    info: PackageInfo
    path: Path
    size_bytes: int

    @property
    def pair(self) -> tuple[str, str]:
        return self.info.pair

    @property
    def model_version(self) -> str:
        """Changes whenever the model files change: part of every cache key."""
        model_bin = self.path / "model" / "model.bin"
        st = model_bin.stat()
        raw = f"{self.info.name}|{self.info.version}|{st.st_size}|{st.st_mtime_ns}"
        return (
            f"{self.info.from_code}-{self.info.to_code}@{self.info.version}#"
            + (hashlib.sha256(raw.encode()).hexdigest()[:12])
        )


def models_dir_for(settings: Any) -> Path:
    """settings.translation_models_dir, else <data_dir>/argos."""
    configured = getattr(settings, "translation_models_dir", None)
    return Path(configured) if configured else Path(settings.data_dir) / "argos"


def _parse_metadata(raw: bytes, where: str) -> dict[str, Any]:
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackageError(f"{where}: metadata.json is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise PackageError(f"{where}: metadata.json must be a JSON object")
    if meta.get("type", "translate") != "translate":
        raise PackageError(f"{where}: package type {meta.get('type')!r} is not 'translate'")
    for key in ("from_code", "to_code"):
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            raise PackageError(f"{where}: metadata.json lacks {key}")
    return meta


def _safe_members(path: Path, infos: list[zipfile.ZipInfo]) -> tuple[set[str], set[str]]:
    """The archive's top-level directories and member names; no absolute, parent or symlink paths."""
    tops: set[str] = set()
    names: set[str] = set()
    for info in infos:
        p = PurePosixPath(info.filename)
        if p.is_absolute() or ".." in p.parts or "\\" in info.filename:
            raise PackageError(f"{path}: unsafe path in archive: {info.filename!r}")
        if info.external_attr >> 16 & 0o170000 == 0o120000:
            raise PackageError(f"{path}: symbolic links are not allowed ({info.filename!r})")
        tops.add(p.parts[0])
        names.add(p.as_posix().rstrip("/"))
    return tops, names


def _require_files(path: Path, top: str, names: set[str]) -> None:
    for required in ("metadata.json", "model/model.bin", "sentencepiece.model"):
        if f"{top}/{required}" not in names:
            hint = (
                " (BPE-tokenised packages are not supported)"
                if required == "sentencepiece.model" and f"{top}/bpe.model" in names
                else ""
            )
            raise PackageError(f"{path}: missing {required}{hint}")


def validate_package(path: Path) -> PackageInfo:
    """Check an .argosmodel without extracting it; raise PackageError saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise PackageError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise PackageError(f"{path}: not an Argos package (not a zip archive)")
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise PackageError(f"{path}: too many files ({len(infos)})")
        if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
            raise PackageError(f"{path}: unpacks to more than {MAX_UNPACKED_BYTES} bytes")
        tops, names = _safe_members(path, infos)
        if len(tops) != 1:
            raise PackageError(
                f"{path}: expected one top-level directory, found {sorted(tops)[:5]}"
            )
        top = tops.pop()
        if not top or top.startswith("."):
            raise PackageError(f"{path}: bad package directory name {top!r}")
        _require_files(path, top, names)
        if not any(n.startswith(f"{top}/model/") and "vocabulary" in n for n in names):
            raise PackageError(f"{path}: model/ has no CTranslate2 vocabulary file")
        meta = _parse_metadata(zf.read(f"{top}/metadata.json"), str(path))
    return PackageInfo(
        name=top,
        from_code=meta["from_code"].strip(),
        to_code=meta["to_code"].strip(),
        version=str(meta.get("package_version", "")),
        metadata=meta,
    )


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _read_installed(pkg_dir: Path) -> InstalledPackage | None:
    meta_path = pkg_dir / "metadata.json"
    if not meta_path.is_file() or not (pkg_dir / "model" / "model.bin").is_file():
        return None
    if not (pkg_dir / "sentencepiece.model").is_file():
        return None
    try:
        meta = _parse_metadata(meta_path.read_bytes(), str(pkg_dir))
    except PackageError:
        return None
    info = PackageInfo(
        pkg_dir.name,
        meta["from_code"].strip(),
        meta["to_code"].strip(),
        str(meta.get("package_version", "")),
        meta,
    )
    return InstalledPackage(info, pkg_dir, _dir_size(pkg_dir))


def list_installed(models_dir: Path) -> list[InstalledPackage]:
    """Installed translation packages, sorted by pair. Broken directories are skipped."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return []
    found = []
    for child in sorted(models_dir.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            pkg = _read_installed(child)
            if pkg is not None:
                found.append(pkg)
    return sorted(found, key=lambda p: (p.pair, p.info.name))


def install_package(path: Path, models_dir: Path) -> InstalledPackage:
    """Validate and install an .argosmodel into models_dir. A package for the same pair
    (or with the same directory name) is replaced; the swap is atomic per directory."""
    info = validate_package(path)
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".install-") as tmp:
        try:
            with zipfile.ZipFile(path) as zf:
                zf.extractall(tmp)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            raise PackageError(f"{path}: damaged archive ({exc})") from exc
        staged = Path(tmp) / info.name
        _check_loadable(staged, path)
        replaced = [p for p in list_installed(models_dir) if p.pair == info.pair]
        target = models_dir / info.name
        if target.exists():
            old = Path(tmp) / ".old"
            target.rename(old)
        staged.rename(target)
        for p in replaced:
            if p.path != target and p.path.exists():
                shutil.rmtree(p.path)
    installed = _read_installed(target)
    if installed is None:  # pragma: no cover - validate_package checked the same files
        raise PackageError(f"{path}: installed but unreadable")
    return installed


def _check_loadable(pkg_dir: Path, origin: Path) -> None:
    """The model and tokenizer must load, so a broken file fails at install, not at 3 am."""
    import ctranslate2
    import sentencepiece as spm

    if not ctranslate2.contains_model(str(pkg_dir / "model")):
        raise PackageError(f"{origin}: model/ is not a CTranslate2 model")
    try:
        spm.SentencePieceProcessor(model_file=str(pkg_dir / "sentencepiece.model"))
    except (OSError, RuntimeError) as exc:
        raise PackageError(f"{origin}: sentencepiece.model does not load ({exc})") from exc
    try:  # about a second for a real package; a truncated download fails here, not at 3 am
        translator = ctranslate2.Translator(str(pkg_dir / "model"), device="cpu", intra_threads=1)
    except (OSError, RuntimeError, ValueError) as exc:
        raise PackageError(f"{origin}: model/ does not load ({exc})") from exc
    del translator


@contextlib.contextmanager
def _argos_home(models_dir: Path) -> Iterator[Any]:
    """Import argostranslate.package with its directories under models_dir/.argos (its
    settings module creates ~/.local/share/argos-translate etc. at import otherwise)."""
    base = models_dir / ".argos"
    env = {
        "ARGOS_PACKAGES_DIR": str(models_dir),
        "XDG_DATA_HOME": str(base / "data"),
        "XDG_CONFIG_HOME": str(base / "config"),
        "XDG_CACHE_HOME": str(base / "cache"),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        from argostranslate import package as argos_package
        from argostranslate import settings as argos_settings

        # If argostranslate was imported earlier, its module-level paths are stale.
        argos_settings.package_data_dir = models_dir
        argos_settings.package_dirs = [models_dir]
        argos_settings.downloads_dir = base / "cache" / "argos-translate" / "downloads"
        argos_settings.downloads_dir.mkdir(parents=True, exist_ok=True)
        argos_settings.local_package_index = base / "data" / "argos-translate" / "index.json"
        argos_settings.local_package_index.parent.mkdir(parents=True, exist_ok=True)
        yield argos_package
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def install_from_index(pairs: list[tuple[str, str]], models_dir: Path) -> list[InstalledPackage]:
    """Download and install packages for (source, target) pairs from the Argos index.
    Raises PackageError with a clear message when the index cannot be reached or a pair is
    not offered (pairs to or from English are what Argos publishes; others pivot)."""
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    with _argos_home(models_dir) as argos_package:
        from argostranslate import settings as argos_settings

        index = Path(argos_settings.local_package_index)
        index.unlink(missing_ok=True)
        argos_package.update_package_index()  # logs and swallows network errors
        if not index.is_file():
            raise PackageError(
                "cannot reach the Argos package index "
                f"({argos_settings.remote_package_index}); this machine has no network "
                "access to it. Download the .argosmodel files elsewhere and run "
                "`madoguchi translate install FILE...`"
            )
        available = argos_package.get_available_packages()
        installed = []
        for src, tgt in pairs:
            match = next(
                (
                    p
                    for s in argos_codes(src)
                    for t in argos_codes(tgt)
                    for p in available
                    if p.type == "translate" and p.from_code == s and p.to_code == t
                ),
                None,
            )
            if match is None:
                raise PackageError(
                    f"the Argos index has no {src}->{tgt} package; install {src}->en and "
                    f"en->{tgt} and the service will pivot through English"
                )
            try:
                download = Path(match.download())
            except Exception as exc:  # networking errors come in many types
                raise PackageError(f"download of {src}->{tgt} failed: {exc}") from exc
            try:
                installed.append(install_package(download, models_dir))
            finally:
                download.unlink(missing_ok=True)
        return installed
