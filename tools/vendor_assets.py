"""Fetches the browser assets of GraphiQL, Swagger UI and the web UI from the npm registry into the package, once.

The service serves them from its own origin (catalog_api/web/assets.py), so /graphql and /docs work on a network
without internet. Each package is pinned by version and by the SHA-256 of its registry tarball: running this again
reproduces catalog_api/web/static/vendor/ byte for byte, or stops at the first tarball that differs.

    python tools/vendor_assets.py            # fetch and unpack what is missing
    python tools/vendor_assets.py --check    # only verify that every pinned file is present

Raising a version: change `version`, set `sha256` to "", run, and pin the digest it prints.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
TARGET = Path(__file__).resolve().parent.parent / "catalog_api" / "web" / "static" / "vendor"


@dataclass(frozen=True)
class VendoredPackage:
    name: str
    version: str
    sha256: str
    files: tuple[str, ...]
    """Paths inside the package (below `package/`) to keep; its license comes first (package.json, which names
    the license, where the tarball ships no license file)."""

    @property
    def folder(self) -> str:
        return f"{self.name.replace('@', '').replace('/', '-')}-{self.version}"

    @property
    def tarball(self) -> str:
        return f"{REGISTRY}/{self.name}/-/{self.name.rsplit('/', 1)[-1]}-{self.version}.tgz"


# The versions strawberry's GraphiQL page names (strawberry/static/graphiql.html), and FastAPI's Swagger UI major.
PACKAGES = (
    VendoredPackage("react", "18.2.0",
                    "a151f7caec911760e42b7a6f6f1dfcaba141fd11ff49e2af901a2eee0366297c",
                    ("LICENSE", "umd/react.production.min.js")),
    VendoredPackage("react-dom", "18.2.0",
                    "20a71e86b691f860c781f3732a85c7b3c63c4d3d9a803dca9dfe6ed0eb30e2ef",
                    ("LICENSE", "umd/react-dom.production.min.js")),
    VendoredPackage("js-cookie", "3.0.5",
                    "37aae984c1efdb0f91a20036dc44100a220386f38133fd188dc05ccd72063075",
                    ("LICENSE", "dist/js.cookie.min.js")),
    VendoredPackage("graphiql", "3.8.3",
                    "1cadb1c2ca0dc51ea71fb4bb2680e6185e83fe400c9a62ca5fb9dfb922472bbd",
                    ("LICENSE", "graphiql.min.js", "graphiql.min.css")),
    VendoredPackage("@graphiql/plugin-explorer", "1.0.2",
                    "0eb37145bdaebc72050f76339c5cdacb89b8846f65259dfb78debfefc8ae3ff1",
                    ("package.json", "dist/index.umd.js", "dist/style.css")),
    VendoredPackage("swagger-ui-dist", "5.35.0",
                    "1b8e891893404ea4c3558b6a87e2a3e494e7eedba41168c2ece5800a391a6ea6",
                    ("LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt", "swagger-ui-bundle.js",
                     "swagger-ui.css", "favicon-32x32.png")),
    # The web UI (catalog_api/ui): Preact renders its pages, htm gives it JSX-like templates without a build step.
    VendoredPackage("preact", "11.2.0",
                    "3c4456766bd32b6b534d52bf4e9c2a29b33e7eedf6e96ed479300ba1a7888ebf",
                    ("LICENSE", "dist/preact.mjs", "hooks/dist/hooks.mjs")),
    VendoredPackage("htm", "3.1.1",
                    "2425b9bee11409177bcabc7f32e319926fc6690c1701c0b257c88bdff2d5ba90",
                    ("LICENSE", "dist/htm.mjs")),
    # The lineage viewer's layered layout; its ES module build bundles graphlib and imports nothing.
    VendoredPackage("@dagrejs/dagre", "3.1.4",
                    "098e78da09e6ad81593617a07265b167c4a89feb73d991e6ffd7bd2755893191",
                    ("LICENSE", "dist/dagre.esm.js")),
)


def fetch(package: VendoredPackage) -> bytes:
    with urllib.request.urlopen(package.tarball, timeout=60) as response:  # noqa: S310 - a fixed https URL
        data = response.read()
    digest = hashlib.sha256(data).hexdigest()
    if package.sha256 and digest != package.sha256:
        raise SystemExit(f"{package.tarball}: sha256 {digest}, pinned {package.sha256}; refusing to unpack it")
    if not package.sha256:
        print(f"{package.name}@{package.version}: unpinned, sha256 {digest}", file=sys.stderr)
    return data


def unpack(package: VendoredPackage, data: bytes) -> None:
    folder = TARGET / package.folder
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        members = {member.name.split("/", 1)[1]: member for member in archive.getmembers() if "/" in member.name}
        for path in package.files:
            member = members.get(path)
            if member is None or not member.isfile():
                raise SystemExit(f"{package.name}@{package.version} has no file {path}")
            destination = folder / path
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(archive.extractfile(member).read())  # type: ignore[union-attr]


def missing(package: VendoredPackage) -> list[str]:
    return [path for path in package.files if not (TARGET / package.folder / path).is_file()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify that every pinned file is present")
    arguments = parser.parse_args()
    absent = {package: missing(package) for package in PACKAGES}
    if arguments.check:
        for package, paths in absent.items():
            for path in paths:
                print(f"missing: {package.folder}/{path}", file=sys.stderr)
        return 1 if any(absent.values()) else 0
    for package in PACKAGES:
        unpack(package, fetch(package))
        print(f"{package.name}@{package.version} -> {TARGET / package.folder}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
