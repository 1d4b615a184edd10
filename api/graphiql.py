"""GraphiQL from the project's own files: the IDE page works offline and behind strict firewalls.

strawberry's page loads React and GraphiQL from a public CDN, so without that network it is blank.
`make install` fetches the same bundles from npm into api/static/graphiql/ (scripts/fetch_graphiql.py,
pinned in graphiql_assets.json); this module serves them under /graphql/static/ and renders a page
that points only there. Without the files, the page says so in one line; the API itself is unaffected.
Its Content-Security-Policy (api/headers.py) allows no other origin and only its own inline script.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from strawberry.fastapi import GraphQLRouter

from api.headers import page_policy

MANIFEST = Path(__file__).with_name("graphiql_assets.json")
# Module-level so a test can point it at an empty folder before `create_app`.
STATIC_DIR = Path(__file__).with_name("static") / "graphiql"
STATIC_SUFFIX = "/static"

MISSING = ("GraphiQL's files are not installed: run `make install` (or `python3 scripts/fetch_graphiql.py`) "
           "to fetch them from npm; the API at POST {path} works without them.")

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>MIND-KB GraphiQL</title>
  <link rel="icon" href="data:,">
  <style>body { margin: 0; } #graphiql { height: 100vh; }</style>
  <link rel="stylesheet" href="{static}/graphiql.min.css">
  <link rel="stylesheet" href="{static}/plugin-explorer.css">
  <script src="{static}/react.production.min.js"></script>
  <script src="{static}/react-dom.production.min.js"></script>
  <script src="{static}/graphiql.min.js"></script>
  <script src="{static}/plugin-explorer.umd.js"></script>
</head>
<body>
  <div id="graphiql">Loading GraphiQL...</div>
  <script>
    // The query travels in `q` (strawberry's convention): a GET with `query` runs the operation.
    const params = new URLSearchParams(window.location.search);
    const fetchURL = window.location.origin + window.location.pathname;
    const fetcher = GraphiQL.createFetcher({ url: fetchURL });
    const explorer = GraphiQLPluginExplorer.explorerPlugin();
    function keep(name, value) {
      if (value) { params.set(name, value); } else { params.delete(name); }
      history.replaceState(null, "", "?" + params.toString());
    }
    function App() {
      return React.createElement(GraphiQL, {
        fetcher: fetcher,
        plugins: [explorer],
        defaultEditorToolsVisibility: true,
        defaultQuery: "{ relations { name template total accepted preserveRate } }\\n",
        query: params.get("q") || undefined,
        variables: params.get("variables") || undefined,
        onEditQuery: (value) => keep("q", value),
        onEditVariables: (value) => keep("variables", value),
        inputValueDeprecation: true,
      });
    }
    ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(App));
  </script>
</body>
</html>
"""


def asset_names() -> list[str]:
    """The file names the page loads, as the fetch script writes them."""
    packages = json.loads(MANIFEST.read_text())["packages"]
    return [name for package in packages for name in package["files"].values()]


def assets_present(static_dir: Path | None = None) -> bool:
    folder = static_dir or STATIC_DIR
    return all((folder / name).is_file() for name in asset_names())


ContextT = TypeVar("ContextT")
RootValueT = TypeVar("RootValueT")


class LocalGraphiQLRouter(GraphQLRouter[ContextT, RootValueT]):
    """strawberry's router with its CDN page replaced by one that loads only local files."""

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        path = request.url.path.rstrip("/") or "/"
        if not assets_present():
            return HTMLResponse(f"<!doctype html><title>MIND-KB GraphiQL</title><p>{MISSING.format(path=path)}</p>",
                                status_code=503)
        static = path.rstrip("/") + STATIC_SUFFIX
        page = PAGE.replace("{static}", static)
        return HTMLResponse(page, headers={"Content-Security-Policy": page_policy(page)})


class _Assets(StaticFiles):
    async def check_config(self) -> None:
        """Starlette raises (a 500) when the folder is missing; here each file is a 404 and the page says why."""


def mount_graphiql_assets(app: FastAPI, prefix: str) -> None:
    """Serve the fetched files at `prefix`/static."""
    app.mount(prefix + STATIC_SUFFIX, _Assets(directory=STATIC_DIR, check_dir=False), name="graphiql-static")
