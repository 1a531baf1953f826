"""The dbt docs site: complete, and readable in a real browser.

``dbt docs generate`` runs on a copy of the built demo warehouse. Then:

* completeness: every source, declared source column, model, model column (every
  column the catalog finds in the relation), seed, seed column and project macro
  (generic test macros included) has a non-empty description, and every macro
  argument is documented;
* browser: the generated site (index.html, manifest.json, catalog.json) is served
  on 127.0.0.1 and opened in headless Chromium (Debian's /usr/bin/chromium, driven
  by playwright): the overview renders, a mart's page shows its description and
  columns, and its full-screen lineage graph holds the source folders it is built
  from, and the overview's seven figures (drawn by `butter figures` from the same
  warehouse) load. Screenshots go to test-artifacts/docs/ (git-ignored). Without Chromium
  the browser test is skipped, except under CI (env CI set), where it fails.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from butter_warehouse.settings import decode_store_beside

from conftest import PROJECT_ROOT, DbtResult, run_dbt

pytestmark = pytest.mark.slow

PACKAGE = "butter"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
SITE_FILES = ("index.html", "manifest.json", "catalog.json")
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "docs"
#: the mart whose page and lineage the browser opens, and source tables its lineage must reach
MART = "experiment_summary"
CURVES_MART = "experiment_learning_curves"
LINEAGE_SOURCES = ("complete_summary", "all_runs")
#: the figures of `butter figures` that the overview shows
FIGURES = ("learning_curves", "loss_vs_parameters", "double_descent",
           "learning_rate_sweep", "label_noise", "regularization", "optimizer_sweep")
#: browser waits (the docs bundle is ~2 MB of JS; the machine may be busy)
WAIT_MS = 60_000


@dataclass
class Docs:
    target: Path
    manifest: dict
    catalog: dict


@pytest.fixture(scope="module")
def docs(
    demo_root: Callable[..., Path],
    built_warehouse: Callable[[str], DbtResult],
    tmp_path_factory: pytest.TempPathFactory,
) -> Docs:
    """``dbt docs generate`` on a copy of the built demo warehouse and its decode store (its own DuckDB
    files and target)."""
    built = built_warehouse("published")
    workdir = tmp_path_factory.mktemp("docs")
    shutil.copyfile(built.db_path, workdir / "butter.duckdb")
    shutil.copyfile(decode_store_beside(built.db_path), decode_store_beside(workdir / "butter.duckdb"))
    result = run_dbt(["docs", "generate"], data_root=demo_root("published"), workdir=workdir)
    assert result.ok, result
    target = result.target_path
    return Docs(target, json.loads((target / "manifest.json").read_text()),
                json.loads((target / "catalog.json").read_text()))


# --- completeness -------------------------------------------------------------------------


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def undocumented(manifest: dict, catalog: dict) -> list[str]:
    """Every project resource (and column) of the docs without a description."""
    missing: list[str] = []
    for uid, source in sorted(manifest["sources"].items()):
        if source["package_name"] != PACKAGE:
            continue
        if _blank(source["description"]):
            missing.append(f"source {uid}")
        for name, column in source["columns"].items():
            if _blank(column["description"]):
                missing.append(f"source column {uid}.{name}")
    for uid, node in sorted(manifest["nodes"].items()):
        if node["package_name"] != PACKAGE or node["resource_type"] not in ("model", "seed"):
            continue
        kind = node["resource_type"]
        if _blank(node["description"]):
            missing.append(f"{kind} {uid}")
        described = {name.lower() for name, column in node["columns"].items() if not _blank(column["description"])}
        for name, column in node["columns"].items():
            if _blank(column["description"]):
                missing.append(f"{kind} column {uid}.{name} (declared, no description)")
        if node["config"].get("materialized") == "ephemeral":
            continue
        relation = catalog["nodes"].get(uid)
        if relation is None:
            missing.append(f"{kind} {uid}: not in catalog.json (relation not built?)")
            continue
        for name in relation["columns"]:
            if name.lower() not in described and name.lower() not in {n.lower() for n in node["columns"]}:
                missing.append(f"{kind} column {uid}.{name} (in the relation, not declared in yml)")
    for uid, macro in sorted(manifest["macros"].items()):
        if _dispatcher_of(manifest, macro) is not None:
            continue  # an engine variant: documented by its dispatcher (checked below)
        if macro["package_name"] == PACKAGE and _blank(macro["description"]):
            kind = "generic test macro" if macro["name"].startswith("test_") else "macro"
            missing.append(f"{kind} {uid} ({macro['original_file_path']})")
    return missing


ENGINE_PREFIXES = ("default__", "duckdb__", "spark__")


def _dispatcher_of(manifest: dict, macro: dict) -> dict | None:
    """The project's dispatching macro of an engine variant (``default__x`` / ``duckdb__x`` /
    ``spark__x`` of a project macro ``x``), or None: variants are documented once, on ``x``."""
    if macro["package_name"] != PACKAGE:
        return None
    for prefix in ENGINE_PREFIXES:
        if macro["name"].startswith(prefix):
            return manifest["macros"].get(f"macro.{PACKAGE}.{macro['name'][len(prefix):]}")
    return None


def _signature_arguments(macro_sql: str) -> list[str] | None:
    """Argument names of the first ``{% macro name(...) %}`` / ``{% test name(...) %}`` in the SQL."""
    match = re.search(r"\{%-?\s*(?:macro|test)\s+\w+\s*\((.*?)\)\s*-?%\}", macro_sql, re.S)
    if match is None:
        return None
    arguments, depth, current = [], 0, ""
    for char in match.group(1):
        depth += char in "([{"
        depth -= char in ")]}"
        if char == "," and depth == 0:
            arguments.append(current)
            current = ""
        else:
            current += char
    arguments.append(current)
    return [a.split("=")[0].strip() for a in arguments if a.strip()]


def undocumented_arguments(manifest: dict) -> list[str]:
    """Project macro arguments missing from (or documented without being in) the macro's yml entry."""
    missing: list[str] = []
    for uid, macro in sorted(manifest["macros"].items()):
        if macro["package_name"] != PACKAGE:
            continue
        declared = _signature_arguments(macro["macro_sql"]) or []
        dispatcher = _dispatcher_of(manifest, macro)
        if dispatcher is not None:  # a variant takes exactly its dispatcher's (documented) arguments
            expected = _signature_arguments(dispatcher["macro_sql"]) or []
            if declared != expected:
                missing.append(f"macro argument {uid}{tuple(declared)} differ from its dispatcher's "
                               f"{tuple(expected)} ({macro['original_file_path']})")
            continue
        documented = {a["name"]: a.get("description") for a in macro["arguments"]}
        where = macro.get("patch_path") or macro["original_file_path"]
        for name in declared:
            if _blank(documented.get(name)):
                missing.append(f"macro argument {uid}({name}) not documented ({where})")
        for name in documented:
            if name not in declared:
                missing.append(f"macro argument {uid}({name}) documented but not in the signature ({where})")
    return missing


def test_every_resource_and_column_is_documented(docs: Docs) -> None:
    missing = undocumented(docs.manifest, docs.catalog)
    counts = {
        "sources": sum(s["package_name"] == PACKAGE for s in docs.manifest["sources"].values()),
        "models": sum(n["package_name"] == PACKAGE and n["resource_type"] == "model"
                      for n in docs.manifest["nodes"].values()),
        "seeds": sum(n["package_name"] == PACKAGE and n["resource_type"] == "seed"
                     for n in docs.manifest["nodes"].values()),
        "macros": sum(m["package_name"] == PACKAGE for m in docs.manifest["macros"].values()),
    }
    print(f"\ndocs checked: {counts}; undocumented: {len(missing)}")
    for item in missing:
        print(f"  UNDOCUMENTED {item}")
    assert counts["models"] and counts["sources"] and counts["seeds"] and counts["macros"], counts
    assert not missing, f"{len(missing)} undocumented:\n" + "\n".join(missing)


def test_every_macro_argument_is_documented(docs: Docs) -> None:
    missing = undocumented_arguments(docs.manifest)
    for item in missing:
        print(f"  UNDOCUMENTED {item}")
    assert not missing, f"{len(missing)} macro arguments:\n" + "\n".join(missing)


def test_generic_test_macros_are_documented(docs: Docs) -> None:
    tests = {uid: m for uid, m in docs.manifest["macros"].items()
             if m["package_name"] == PACKAGE and m["name"].startswith("test_")}
    assert tests, "the project defines generic tests"
    assert all(not _blank(m["description"]) for m in tests.values()), sorted(
        uid for uid, m in tests.items() if _blank(m["description"]))


# --- browser ------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture
def site(docs: Docs, tmp_path: Path) -> Iterator[str]:
    """The docs site (its three files only) served on a free 127.0.0.1 port; the base URL."""
    root = tmp_path / "site"
    root.mkdir()
    for name in SITE_FILES:
        shutil.copyfile(docs.target / name, root / name)
    # the figures the overview shows, drawn from this warehouse as `make build` does (asset-paths)
    from butter_warehouse import figures

    figures.render(docs.target.parent / "butter.duckdb", root / figures.DEFAULT_OUT, log=lambda line: None,
                   project_root=PROJECT_ROOT)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, name="docs-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _need_browser():
    """The playwright module, or skip (locally) / fail (CI) when it or Chromium is missing."""
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    try:
        from playwright import sync_api
    except ImportError as error:  # pragma: no cover - dev dependency
        problem = f"playwright is not installed ({error})"
    if problem:  # skip or fail, never return: without a problem sync_api was imported
        if _in_ci():
            pytest.fail(f"docs browser test under CI: {problem}")
        pytest.skip(problem)
    return sync_api


def _first_words(description: str, count: int = 4) -> str:
    """The description's first words that markdown renders unchanged."""
    words = []
    for word in description.split():
        if re.search(r"[`*\[\]<>#{}]", word):
            break
        words.append(word)
        if len(words) == count:
            break
    return " ".join(words)


def test_docs_site_renders_in_chromium(docs: Docs, site: str) -> None:
    sync_api = _need_browser()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    mart = docs.manifest["nodes"][f"model.{PACKAGE}.{MART}"]
    sources = {s["name"]: uid for uid, s in docs.manifest["sources"].items() if s["package_name"] == PACKAGE}
    wanted_sources = [sources[name] for name in LINEAGE_SOURCES]
    shots: list[Path] = []
    page_errors: list[str] = []
    blocked: list[str] = []

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(WAIT_MS)

            def only_local(route) -> None:  # the site must work offline
                if route.request.url.startswith(site):
                    route.continue_()
                else:
                    blocked.append(route.request.url)
                    route.abort()

            page.route("**/*", only_local)
            page.on("pageerror", lambda error: page_errors.append(str(error)))

            # 1. overview: the __overview__ docs block of models/_docs.md
            page.goto(f"{site}/index.html#!/overview", wait_until="domcontentloaded")
            page.get_by_role("heading", name="The BUTTER warehouse").wait_for()
            assert "Empirical Deep Learning Dataset" in page.locator("body").inner_text()
            shots.append(ARTIFACTS / "overview.png")
            page.screenshot(path=str(shots[-1]))

            # 1b. the overview's figures (butter figures, via asset-paths): each one loaded
            figure_images = "[...document.querySelectorAll('img[src*=\"assets/figures/\"]')]"
            page.locator('img[src*="assets/figures/"]').first.wait_for(state="attached")
            page.wait_for_function(f"() => {figure_images}.every(img => img.complete)")
            loaded = page.evaluate(f"() => {figure_images}.map(img => [img.getAttribute('src'), img.naturalWidth])")
            assert sorted(src.rsplit("/", 1)[-1] for src, _ in loaded) == sorted(f"{n}.png" for n in FIGURES), loaded
            assert all(width > 0 for _, width in loaded), f"figures that did not load: {loaded}"
            page.locator('img[src*="assets/figures/"]').first.scroll_into_view_if_needed()
            shots.append(ARTIFACTS / "overview_figures.png")
            page.screenshot(path=str(shots[-1]))

            # 2. the mart's page: description and every documented column
            page.goto(f"{site}/index.html#!/model/model.{PACKAGE}.{MART}", wait_until="domcontentloaded")
            page.get_by_text(_first_words(mart["description"])).first.wait_for()
            page.get_by_text("median_curve_best_test_loss_epoch", exact=True).first.wait_for()
            text = page.locator("body").inner_text()
            absent = [name for name in mart["columns"] if name not in text]
            assert not absent, f"columns not shown on the {MART} page: {absent}"
            shots.append(ARTIFACTS / f"{MART}.png")
            page.screenshot(path=str(shots[-1]), full_page=True)

            # 2b. the learning-curves mart and every analysis: their pages show their descriptions
            curves = docs.manifest["nodes"][f"model.{PACKAGE}.{CURVES_MART}"]
            page.goto(f"{site}/index.html#!/model/model.{PACKAGE}.{CURVES_MART}", wait_until="domcontentloaded")
            page.get_by_text(_first_words(curves["description"])).first.wait_for()
            page.get_by_text("test_loss_median", exact=True).first.wait_for()
            shots.append(ARTIFACTS / f"{CURVES_MART}.png")
            page.screenshot(path=str(shots[-1]), full_page=True)
            analyses = {uid: n for uid, n in docs.manifest["nodes"].items()
                        if n["resource_type"] == "analysis" and n["package_name"] == PACKAGE}
            assert analyses, "no analyses in the manifest"
            for uid, node in sorted(analyses.items()):
                assert node["description"].strip(), f"{uid} has no description"
                page.goto(f"{site}/index.html#!/analysis/{uid}", wait_until="domcontentloaded")
                page.get_by_text(_first_words(node["description"])).first.wait_for()
            shots.append(ARTIFACTS / "analysis.png")
            page.screenshot(path=str(shots[-1]), full_page=True)
            page.goto(f"{site}/index.html#!/model/model.{PACKAGE}.{MART}", wait_until="domcontentloaded")
            page.get_by_text(_first_words(mart["description"])).first.wait_for()

            # 3. lineage: the launcher button, then full screen (the whole +model+ selection)
            page.locator(".launcher-btn a").first.click()
            page.locator('a[ng-click="showExpanded()"]').click()
            selection = page.locator('input[ng-model="selectorService.selection.dirty.include"]')
            selection.wait_for()
            assert MART in selection.input_value()
            page.wait_for_function(
                """wanted => {
                    const hosts = [...document.querySelectorAll('*')].filter(e => e._cyreg && e._cyreg.cy);
                    const ids = new Set(hosts.flatMap(h => h._cyreg.cy.nodes().filter(n => n.visible()).map(n => n.id())));
                    return wanted.every(id => ids.has(id));
                }""",
                arg=[*wanted_sources, mart["unique_id"]],
            )
            labels = page.evaluate(
                """() => [...document.querySelectorAll('*')].filter(e => e._cyreg && e._cyreg.cy)
                    .flatMap(h => h._cyreg.cy.nodes().filter(n => n.visible()).map(n => n.data('label') || n.id()))"""
            )
            page.mouse.move(5, 5)  # no tooltip over the graph
            page.wait_for_timeout(1500)  # let the layout animation settle before the screenshot
            shots.append(ARTIFACTS / f"{MART}_lineage.png")
            page.screenshot(path=str(shots[-1]))
        finally:
            browser.close()

    print(f"\nlineage graph of {MART}: {len(labels)} nodes, e.g. {sorted(labels)[:6]}")
    print("screenshots:\n" + "\n".join(f"  {path}" for path in shots))
    for name in LINEAGE_SOURCES:
        assert any(label.endswith(name) for label in labels), (name, labels)
    assert not page_errors, page_errors
    assert all(path.stat().st_size > 10_000 for path in shots)
    if blocked:
        print(f"blocked external requests: {sorted(set(blocked))}")
