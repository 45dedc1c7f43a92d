"""Files and NetSuite sources through the whole application: register with secrets, crawl, extract, re-crawl."""

from __future__ import annotations

from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq

from catalog_api.services.extraction import lake
from catalog_api.urns import column_urn, dataset_urn
from tests.support.jobs import rest_crawl, rest_job
from tests.support.netsuite_accounts import TBA, account


def test_files_source_crawl_schema_change_and_extract(api_client, catalog_ctx, tmp_path):
    root = tmp_path / "drop"
    (root / "sales").mkdir(parents=True)
    pq.write_table(pa.table({"id": [1, 2, 3], "amount": [1.5, 2.5, 3.5]}), root / "sales" / "orders.parquet")
    (root / "sales" / "customers.csv").write_text("id,email\n1,a@example.com\n2,b@example.com\n")
    source = api_client.post("/api/v1/sources", json={"name": "drop", "kind": "files",
                                                      "config": {"url": str(root)}}).json()
    assert rest_crawl(api_client, source["id"])["tables_created"] == 2
    orders = dataset_urn("drop", "sales", "orders")
    table = api_client.get("/api/v1/tables/" + quote(orders, safe="")).json()
    assert table["kind"] == "file" and [c["name"] for c in table["columns"]] == ["id", "amount"]

    pq.write_table(pa.table({"id": [1, 2, 3], "amount": [1.5, 2.5, 3.5], "currency": ["EUR", "EUR", "USD"]}),
                   root / "sales" / "orders.parquet")
    assert rest_crawl(api_client, source["id"])["tables_changed"] == 1
    changes = api_client.get("/api/v1/tables/" + quote(orders, safe="") + "/changes").json()["items"]
    assert changes[0]["change_type"] == "column_added"
    assert changes[0]["entity_urn"] == column_urn("drop", "sales", "orders", "currency")

    job = rest_job(api_client, api_client.post(f"/api/v1/sources/{source['id']}/extract").json())
    assert job["status"] == "succeeded", job
    extracted = lake(catalog_ctx.settings).read_dataset("drop", "sales", "orders")
    assert sorted(extracted.column("currency").to_pylist()) == ["EUR", "EUR", "USD"]


def test_netsuite_source_with_tba_secrets_crawls_and_extracts(api_client, catalog_ctx):
    with account() as server:
        secrets = {k: v for k, v in TBA.items() if k in ("consumer_secret", "token_secret")}
        config = {"account_id": server.account_id, "base_url": server.url, "auth": "tba",
                  "record_types": ["customer", "subsidiary"], "consumer_key": TBA["consumer_key"],
                  "token_id": TBA["token_id"], "backoff_initial_s": 0.001, "backoff_max_s": 0.01}
        wrong = api_client.post("/api/v1/sources", json={"name": "erp", "kind": "netsuite", "config": config,
                                                         "secrets": {**secrets, "token_secret": "wrong-secret"}})
        assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "authentication_failed"
        assert wrong.json()["error"]["field"] == "secrets.token_secret" and "wrong-secret" not in wrong.text
        response = api_client.post("/api/v1/sources", json={"name": "erp", "kind": "netsuite", "config": config,
                                                            "secrets": secrets})
        assert response.status_code == 201, response.text
        source = response.json()
        assert set(source["secret_refs"]) == {"consumer_secret", "token_secret"}
        assert TBA["token_secret"] not in response.text
        assert rest_crawl(api_client, source["id"])["tables_created"] == 2
        customer = dataset_urn("erp", "record", "customer")
        plan = api_client.get("/api/v1/tables/" + quote(customer, safe="") + "/extraction").json()
        assert plan["strategy"] == "timestamp"
        job = rest_job(api_client, api_client.post(f"/api/v1/sources/{source['id']}/extract",
                                                json={"tables": [customer]}).json())
        assert job["status"] == "succeeded", job
        assert job["result"]["rows"] == len(server.types["customer"].rows) > 0

