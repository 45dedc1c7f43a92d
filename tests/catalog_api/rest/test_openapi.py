"""The documented REST contract is the running one: docs/openapi.json is the application's OpenAPI document.

A change to a response body or a route shows up here, so it is made on purpose (and the document regenerated),
never as a side effect of refactoring the services or their views.
"""

import json
from pathlib import Path

from catalog_api.app import create_app

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


def test_docs_openapi_matches_the_running_application(catalog_ctx):
    running = create_app(ctx=catalog_ctx).openapi()
    assert json.loads(DOCUMENT.read_text()) == running, (
        "docs/openapi.json is stale: regenerate it with python -c 'import json; from catalog_api.app import "
        "create_app; print(json.dumps(create_app().openapi(), indent=2))' > docs/openapi.json"
    )
