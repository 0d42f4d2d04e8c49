"""`madoguchi translate …`: install and list offline translation models (Argos packages).

madoguchi translate install ja_en.argosmodel en_ja.argosmodel
madoguchi translate install --from-index ja en en ja vi en en vi
madoguchi translate list [--json]
madoguchi translate try "生活保護の申請をしたいです" --source ja --target en
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer

from i18n.translation.packages import (
    PackageError,
    install_from_index,
    install_package,
    list_installed,
    models_dir_for,
)

app = typer.Typer(help="Offline translation models (Argos packages).", no_args_is_help=True)

ModelsDir = typer.Option(
    None,
    "--models-dir",
    help="Where models live (default: MADOGUCHI_TRANSLATION_MODELS_DIR, else <data_dir>/argos).",
)


def _models_dir(override: Path | None) -> Path:
    if override is not None:
        return override
    from madoguchi.settings import Settings

    return models_dir_for(Settings())


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


@app.command()
def install(
    items: list[str] = typer.Argument(
        ...,
        metavar="FILE… | SRC TGT …",
        help=".argosmodel files, or language pairs with --from-index",
    ),
    from_index: bool = typer.Option(
        False, "--from-index", help="Download SRC TGT pairs from the Argos package index."
    ),
    models_dir: Path | None = ModelsDir,
) -> None:
    """Install translation packages from files, or from the Argos index where reachable."""
    target = _models_dir(models_dir)
    if from_index:
        if len(items) % 2:
            typer.echo("error: --from-index takes pairs: SRC TGT [SRC TGT …]", err=True)
            raise typer.Exit(2)
        pairs = [(items[i], items[i + 1]) for i in range(0, len(items), 2)]
        try:
            for pkg in install_from_index(pairs, target):
                typer.echo(f"installed {pkg.pair[0]} -> {pkg.pair[1]}  {_mb(pkg.size_bytes)}")
        except PackageError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        return
    failed = 0
    for item in items:
        try:
            pkg = install_package(Path(item), target)
        except PackageError as exc:
            typer.echo(f"error: {exc}", err=True)
            failed += 1
            continue
        typer.echo(
            f"installed {pkg.pair[0]} -> {pkg.pair[1]}  ({pkg.info.name}, "
            f"version {pkg.info.version or '?'}, {_mb(pkg.size_bytes)})"
        )
    if failed:
        raise typer.Exit(1)


@app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    models_dir: Path | None = ModelsDir,
) -> None:
    """Show installed pairs and their sizes."""
    target = _models_dir(models_dir)
    packages = list_installed(target)
    if as_json:
        rows = [
            {
                "source": p.pair[0],
                "target": p.pair[1],
                "package": p.info.name,
                "version": p.info.version,
                "size_bytes": p.size_bytes,
                "path": str(p.path),
            }
            for p in packages
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not packages:
        typer.echo(f"no translation models installed in {target}")
        typer.echo(_where_models_come_from())
        return
    typer.echo(f"models in {target}:")
    for p in packages:
        typer.echo(
            f"  {p.pair[0]:>7} -> {p.pair[1]:<7}  {_mb(p.size_bytes):>9}  "
            f"{p.info.name} ({p.info.version or '?'})"
        )


def _where_models_come_from() -> str:
    """Where .argosmodel files come from, and which pairs this centre's languages need."""
    from madoguchi.doctor import resident_languages

    langs = resident_languages()
    pairs = ["ja -> en", "en -> ja"] + [f"{x} -> en, en -> {x}" for x in langs if x != "en"]
    return (
        "Models are Argos Translate packages (.argosmodel files, about 100 MB each). Download them\n"
        "on a machine with internet from the Argos package index\n"
        "(https://www.argosopentech.com/argospm/index/, listed in\n"
        "https://github.com/argosopentech/argospm-index/blob/main/index.json), copy them here and run\n"
        "  madoguchi translate install FILE.argosmodel ...\n"
        "or, where the index is reachable: madoguchi translate install --from-index ja en en ja ...\n"
        "Pairs without a direct model go through English. The residents' languages need:\n  "
        + "\n  ".join(pairs)
        + "\nSee docs/operations.md (Translation models); `madoguchi doctor` lists what is missing."
    )


@app.command("try")
def try_(
    text: str,
    source: str = typer.Option(..., "--source", "-s"),
    target: str = typer.Option(..., "--target", "-t"),
    models_dir: Path | None = ModelsDir,
) -> None:
    """Translate one text with the installed models (to check an installation)."""
    from i18n.translation.translator import build_translator

    async def run() -> None:
        translator = build_translator(_models_dir(models_dir), timeout=60)
        try:
            r = await translator.translate(text, source, target)
        finally:
            await translator.aclose()
        typer.echo(r.text)
        conf = "-" if r.confidence is None else f"{r.confidence:.2f}"
        typer.echo(
            f"[{r.status}; confidence {conf}; model {r.model or '-'}; {r.note or ''}]", err=True
        )

    asyncio.run(run())
