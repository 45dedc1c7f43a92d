"""infra/bicep, read with pycep: every file parses; the apps pass only real settings of the service (the oracle is
catalog_api.settings.Settings itself) and secrets only as Key Vault references; every app and the migration job run
as the one user-assigned identity, which holds only the four roles the issue names; each role runs a real command.
checkov runs on the same files in .ci/run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from azure.identity._constants import EnvironmentVariables
from pycep import BicepParser
from typer.main import get_command

from catalog_api.cli import app as cli_app
from catalog_api.observability.tracing import AZURE_MONITOR_ENV
from catalog_api.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
BICEP = ROOT / "infra" / "bicep"
FILES = sorted(BICEP.rglob("*.bicep"))
APP_TYPES = {"Microsoft.App/containerApps", "Microsoft.App/jobs"}
# Azure's built-in role definition ids (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
ALLOWED_ROLES = {
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "2b629674-e913-4c01-ae53-ef4638d8f975": "Azure Event Hubs Data Sender",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "7f951dda-4ed3-4680-a7ca-43fe172d538d": "AcrPull",
}
# Read by azure-identity, not by the catalog: which user-assigned identity DefaultAzureCredential signs in as, and
# which of its credentials it may try. And the standard variable of Application Insights, which the catalog's
# tracing reads to turn its Azure Monitor exporter on and that exporter reads as its connection string.
LIBRARY_VARIABLES = {EnvironmentVariables.AZURE_CLIENT_ID, EnvironmentVariables.AZURE_TOKEN_CREDENTIALS,
                     AZURE_MONITOR_ENV}


@cache
def parsed(path: Path) -> dict:
    return BicepParser().parse(file_path=path)


def resolve(document: dict, value: Any) -> Any:
    """A value with a reference to one of the file's variables replaced by the variable's value."""
    if isinstance(value, str) and value in document.get("variables", {}):
        return document["variables"][value]["value"]
    return value


def apps() -> Iterator[tuple[str, dict, dict]]:
    """(name, document, config) of every container app and job."""
    for path in FILES:
        document = parsed(path)
        for name, resource in document.get("resources", {}).items():
            if resource["type"] in APP_TYPES:
                yield f"{path.name}:{name}", document, resource["config"]


def containers() -> Iterator[tuple[str, dict, dict]]:
    for name, document, config in apps():
        for container in resolve(document, config["properties"]["template"]["containers"]):
            yield f"{name}/{container['name']}", document, container


def setting_variables() -> dict[str, str]:
    """Environment variable → setting, as pydantic-settings reads them (prefix + field name, or its alias)."""
    prefix = Settings.model_config["env_prefix"]
    found = {}
    for field, info in Settings.model_fields.items():
        for alias in (info.validation_alias, info.alias):
            if isinstance(alias, str):
                found[alias.upper()] = field
        found[f"{prefix}{field}".upper()] = field
    return found


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(BICEP)) for p in FILES])
def test_every_bicep_file_parses(path):
    assert parsed(path).get("resources") or parsed(path).get("modules"), f"{path} declares nothing"


def test_there_are_an_api_a_worker_a_scheduler_and_a_migration_job():
    commands = {name.split(":")[1].split("/")[0]: resolve(document, container["args"])
                for name, document, container in containers()}
    assert commands == {"api": ["serve"], "worker": ["worker"], "scheduler": ["scheduler"], "migrate": ["db", "upgrade"]}
    cli = get_command(cli_app)
    for args in commands.values():  # each is a command of the image's entrypoint, `catalog`
        group = cli
        for word in args:
            assert word in group.commands, f"`catalog {' '.join(args)}` is not a command"
            group = group.commands[word]


def test_every_environment_variable_of_the_apps_is_a_setting_of_the_service():
    settings = setting_variables()
    for name, document, container in containers():
        env = resolve(document, container["env"])
        unknown = {e["name"] for e in env} - settings.keys() - LIBRARY_VARIABLES
        assert not unknown, f"{name} sets variables the service never reads: {sorted(unknown)}"
        # Literal values must be valid values of their setting (references to parameters are checked by Azure).
        literal = {settings[e["name"]]: e["value"] for e in env if e["name"] in settings and "value" in e
                   and not _is_reference(document, e["value"])}
        Settings.model_validate({field: _json_or_text(value) for field, value in literal.items()})


def _is_reference(document: dict, value: Any) -> bool:
    if not isinstance(value, str):
        return True
    return value in document.get("parameters", {}) or value in document.get("variables", {}) or "${" in value


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def test_secrets_reach_the_apps_only_as_key_vault_references():
    for name, document, config in apps():
        secrets = resolve(document, config["properties"]["configuration"]["secrets"])
        for secret in secrets:
            assert "value" not in secret and secret["keyVaultUrl"] and secret["identity"] == "identityId", (name, secret)
        secure = {p for p, spec in document["parameters"].items() if {"type": "secure"} in spec["decorators"]}
        assert not secure, f"{name}: secure parameters {secure} could end up in the app's settings"
    for name, document, container in containers():
        for variable in resolve(document, container["env"]):
            assert ("value" in variable) != ("secretRef" in variable), (name, variable)


def test_every_app_and_job_runs_as_the_managed_identity():
    for name, document, config in apps():
        identity = resolve(document, config["identity"])
        # pycep keeps the quotes of a quoted key: `{ '${identityId}': {} }`.
        assert identity == {"type": "UserAssigned", "userAssignedIdentities": {"'${identityId}'": {}}}, name
        registries = resolve(document, config["properties"]["configuration"]["registries"])
        assert all(r["identity"] == "identityId" for r in registries), name
    # ...and identityId is the identity module's resource id.
    main = parsed(BICEP / "main.bicep")
    modules = main["modules"]
    identity_modules = {n for n, m in modules.items() if m["detail"]["path"] == "modules/identity.bicep"}
    for module in modules.values():
        if module["detail"]["path"] == "modules/containerapps.bicep":
            assert _output_of(module["config"]["params"]["identityId"]) in {(m, "id") for m in identity_modules}


def _output_of(expression: Any) -> tuple[str, str] | None:
    """`module.outputs.name` as (module, name), from pycep's nested property accessors."""
    try:
        outer = expression["operator"]["operands"]
        inner = outer["operand_2"]["operator"]["operands"]
    except (KeyError, TypeError):
        return None
    return (outer["operand_1"], inner["operand_2"]) if inner["operand_1"] == "outputs" else None


def test_the_identity_holds_only_the_roles_it_needs():
    granted = {}
    for path in FILES:
        document = parsed(path)
        for name, resource in document.get("resources", {}).items():
            if resource["type"] != "Microsoft.Authorization/roleAssignments":
                continue
            properties = resource["config"]["properties"]
            role = resolve(document, properties["roleDefinitionId"])["function"]["parameters"]["resource_name_1"]
            granted[role] = f"{path.name}:{name}"
            assert properties["principalId"] == "principalId"
    assert set(granted) == set(ALLOWED_ROLES), {ALLOWED_ROLES.get(role, role): where for role, where in granted.items()}
    main = parsed(BICEP / "main.bicep")
    for module in main["modules"].values():
        principal = module["config"].get("params", {}).get("principalId")
        if principal is not None:
            assert _output_of(principal) == ("identity", "principalId"), module["detail"]["path"]


def test_the_api_is_probed_on_the_service_health_endpoints():
    routes = set(json.loads((ROOT / "docs" / "openapi.json").read_text())["paths"])  # generated from the app
    for name, document, container in containers():
        probes = container.get("probes", [])
        if name.endswith("/api"):
            assert {p["type"]: p["httpGet"]["path"] for p in probes} == {
                "Startup": "/healthz", "Liveness": "/healthz", "Readiness": "/readyz"}
            assert {"/healthz", "/readyz"} <= routes


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_parameter_files_set_real_parameters_and_every_required_one(environment):
    params = parsed(BICEP / "main.bicep")["parameters"]
    given = json.loads((BICEP / f"main.{environment}.parameters.json").read_text())["parameters"]
    assert set(given) <= set(params), set(given) - set(params)
    secure = {n for n, spec in params.items() if {"type": "secure"} in spec["decorators"]}
    required = {n for n, spec in params.items() if spec["default"] is None} - secure
    assert required <= set(given), f"{environment} lacks {required - set(given)}"
    assert not secure & set(given), "secure parameters are passed at deployment time, never stored in a file"


def test_the_worker_scales_on_the_lists_where_the_redis_broker_keeps_waiting_jobs(catalog_settings):
    """KEDA counts each rule's Redis list; the oracle is the broker itself: a job sent to each queue while no worker
    runs must make each watched list one longer."""
    import redis

    from catalog_api.bootstrap import JOB_QUEUES
    from catalog_api.services.jobs.broker import DEFAULT_QUEUE, build_actors, create_broker
    from tests.support.postgres import service_missing

    document = parsed(BICEP / "modules" / "containerapps.bicep")
    rules = document["resources"]["worker"]["config"]["properties"]["template"]["scale"]["rules"]
    queues = resolve(document, rules["loop_type"]["detail"]["array_name"])
    item = "${" + rules["loop_type"]["detail"]["item_name"] + "}"
    assert rules["config"]["custom"]["type"] == "redis"
    assert set(queues) == {*JOB_QUEUES.values(), DEFAULT_QUEUE}, "every queue a job can wait on has a scale rule"

    url = "redis://127.0.0.1:6379/14"  # a database of its own: nothing consumes from it
    settings = catalog_settings.model_copy(update={"broker_url": url})
    try:
        client = redis.Redis.from_url(url)
        client.flushdb()
    except redis.RedisError as error:
        service_missing("Redis", error)
    broker = create_broker(settings)
    try:
        actors = build_actors(broker, settings, JOB_QUEUES, lambda job_id: None)
        for queue in queues:
            actors[queue].send(f"job-on-{queue}")
        for queue in queues:
            assert client.llen(rules["config"]["custom"]["metadata"]["listName"].replace(item, queue)) == 1, queue
    finally:
        broker.close()
        client.flushdb()
