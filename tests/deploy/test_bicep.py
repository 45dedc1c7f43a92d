"""infra/bicep, read with pycep: every file parses; the apps pass only real settings of the service (the oracle is
catalog_api.settings.Settings itself) and secrets only as Key Vault references; every app and the migration job run
as the one user-assigned identity, which holds only the four roles the issue names; each role runs a real command.
checkov runs on the same files in .ci/run."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
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
CATALOG_IMAGE = "image"  # containerapps.bicep's parameter
# Set by Container Apps in every container (learn.microsoft.com/azure/container-apps/environment-variables).
ACA_VARIABLES = {"CONTAINER_APP_NAME", "CONTAINER_APP_REVISION", "CONTAINER_APP_REPLICA_NAME"}
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
    """A value with a reference to one of the file's variables replaced by the variable's value (and `concat` of
    arrays by the joined array)."""
    if isinstance(value, str) and value in document.get("variables", {}):
        return resolve(document, document["variables"][value]["value"])
    function = value.get("function", {}) if isinstance(value, dict) else {}
    if function.get("type") == "concat":
        return [resolve(document, item) for part in function["parameters"].values() for item in resolve(document, part)]
    return value


def apps() -> Iterator[tuple[str, dict, dict]]:
    """(name, document, config) of every container app and job."""
    for path in FILES:
        document = parsed(path)
        for name, resource in document.get("resources", {}).items():
            if resource["type"] in APP_TYPES:
                yield f"{path.name}:{name}", document, resource["config"]


def all_containers() -> Iterator[tuple[str, dict, dict]]:
    for name, document, config in apps():
        for container in resolve(document, config["properties"]["template"]["containers"]):
            container = resolve(document, container)
            yield f"{name}/{container['name']}", document, container


def containers() -> Iterator[tuple[str, dict, dict]]:
    """The containers that run the catalog's image (not the sidecars beside them)."""
    return ((name, document, c) for name, document, c in all_containers() if c["image"] == CATALOG_IMAGE)


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
        # A Key Vault secret's value cannot be read here: a stand-in of its form, so rules across settings (Redis
        # fan-out needs its URL) are checked with it present.
        secret = {settings[e["name"]]: SECRET_STAND_INS[settings[e["name"]]] for e in env
                  if e["name"] in settings and "secretRef" in e}
        Settings.model_validate({**secret, **{field: _json_or_text(value) for field, value in literal.items()}})


SECRET_STAND_INS = {
    "database_url": "postgresql+psycopg://catalog@db.example:5432/catalog",
    "broker_url": "redis://cache.example:6380/0",
    "events_fanout_redis_url": "redis://cache.example:6380/0",
    "rate_limit_redis_url": "redis://cache.example:6380/0",
    "secret_key": "0" * 64,
}


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
            # /readyz asks the broker for up to CATALOG_BROKER_PROBE_TIMEOUT_S: a probe that gave up sooner (the
            # platform's default timeout is 1 s) would count a slow answer as a failure, whatever it said.
            [readiness] = [p for p in probes if p["type"] == "Readiness"]
            assert readiness["timeoutSeconds"] > Settings().broker_probe_timeout_s + 1


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


def evaluate(document: dict, expression: Any, parameters: dict[str, int]) -> int:
    """An integer expression of the file (literals, its parameters as given, variables, `+`, `string()`)."""
    expression = resolve(document, expression)
    if isinstance(expression, int):
        return expression
    if isinstance(expression, str):
        return parameters[expression]
    if "operator" in expression and expression["operator"]["type"] == "add":
        return sum(evaluate(document, operand, parameters) for operand in expression["operator"]["operands"].values())
    function = expression["function"]
    assert function["type"] == "string", function
    return evaluate(document, function["parameters"]["value_to_convert"], parameters)


def _shutdown_timeouts() -> dict[str, int]:
    """CATALOG_SHUTDOWN_TIMEOUT_S as deployed: main.bicep's default and bounds, and what each parameter file sets."""
    spec = parsed(BICEP / "main.bicep")["parameters"]["shutdownTimeoutSeconds"]
    given = {"default": spec["default"]}
    given |= {d["type"]: d["argument"] for d in spec["decorators"] if d["type"] in {"min_value", "max_value"}}
    for environment in ("dev", "prod"):
        values = json.loads((BICEP / f"main.{environment}.parameters.json").read_text())["parameters"]
        if "shutdownTimeoutSeconds" in values:
            given[environment] = values["shutdownTimeoutSeconds"]["value"]
    return given


def test_every_app_gets_a_grace_period_longer_than_its_shutdown_timeout():
    """Container Apps kills a replica `terminationGracePeriodSeconds` after SIGTERM; the catalog stops within
    CATALOG_SHUTDOWN_TIMEOUT_S. Both come from one parameter, and the kill must come later, with room to spare."""
    main = parsed(BICEP / "main.bicep")
    [module] = [m for m in main["modules"].values() if m["detail"]["path"] == "modules/containerapps.bicep"]
    assert module["config"]["params"]["shutdownTimeoutSeconds"] == "shutdownTimeoutSeconds"
    timeouts = _shutdown_timeouts()
    assert {"default", "min_value", "max_value"} <= timeouts.keys(), timeouts
    document = parsed(BICEP / "modules" / "containerapps.bicep")
    for label, timeout in timeouts.items():
        Settings.model_validate({"shutdown_timeout_s": timeout})  # a value the service accepts
        checked = set()
        for name, resource in document["resources"].items():
            template = resource["config"].get("properties", {}).get("template", {})
            if resource["type"] == "Microsoft.App/jobs":
                # Microsoft.App/jobs has no grace period (its template takes containers, init containers and
                # volumes only); `catalog db upgrade` runs in one transaction on PostgreSQL, so a migration killed
                # mid-way rolls back and the next execution redoes it.
                assert "terminationGracePeriodSeconds" not in template, name
                continue
            if resource["type"] != "Microsoft.App/containerApps":
                continue
            parameters = {"shutdownTimeoutSeconds": timeout}
            grace = evaluate(document, template["terminationGracePeriodSeconds"], parameters)
            for container in map(functools.partial(resolve, document), resolve(document, template["containers"])):
                if container["image"] != CATALOG_IMAGE:
                    continue  # a sidecar (the worker's metrics collector) has nothing to hand back
                env = {e["name"]: e for e in resolve(document, container["env"])}
                assert evaluate(document, env["CATALOG_SHUTDOWN_TIMEOUT_S"]["value"], parameters) == timeout
            assert grace >= timeout + 5, f"{name} ({label}): grace {grace} s, shutdown timeout {timeout} s"
            checked.add(name)
        assert checked == {"api", "worker", "scheduler"}


def test_the_workers_metrics_leave_through_the_collector_beside_it():
    """Container Apps scrapes nothing by itself: the OpenTelemetry Collector in each worker replica scrapes the port
    the worker serves its metrics on (the same variable, one expression) and exports them; every variable its
    configuration reads is set on it (or by Container Apps), and its pipeline uses only parts it declares."""
    document = parsed(BICEP / "modules" / "containerapps.bicep")
    template = document["resources"]["worker"]["config"]["properties"]["template"]
    worker, collector = [resolve(document, c) for c in resolve(document, template["containers"])]
    assert (worker["image"], collector["image"]) == (CATALOG_IMAGE, "metricsCollectorImage")
    worker_env = {e["name"]: e.get("value") for e in resolve(document, worker["env"])}
    collector_env = {e["name"]: e.get("value", e.get("secretRef"))
                     for e in map(functools.partial(resolve, document), collector["env"])}
    assert collector_env["CATALOG_WORKER_METRICS_PORT"] == worker_env["CATALOG_WORKER_METRICS_PORT"]
    port = parsed(BICEP / "main.bicep")["parameters"]["workerMetricsPort"]["default"]
    assert Settings.model_validate({"worker_metrics_port": port}).worker_metrics_port == port > 0

    assert collector["args"] == ["--config=env:OTELCOL_CONFIG"]
    loaded = collector_env["OTELCOL_CONFIG"]["function"]
    assert loaded["type"] == "load_text_content"
    text = (BICEP / "modules" / loaded["parameters"]["file_path"]).read_text()
    config = yaml.safe_load(text)
    scrapes = config["receivers"]["prometheus"]["config"]["scrape_configs"]
    assert [t for scrape in scrapes for group in scrape["static_configs"] for t in group["targets"]] == [
        "127.0.0.1:${env:CATALOG_WORKER_METRICS_PORT}"]
    read = set(re.findall(r"\$\{env:(\w+)\}", text))
    assert read <= collector_env.keys() | ACA_VARIABLES, read - collector_env.keys()
    for pipeline in config["service"]["pipelines"].values():
        for part in ("receivers", "processors", "exporters"):
            assert set(pipeline.get(part, [])) <= config[part].keys(), (part, pipeline)


def test_every_app_asks_for_a_size_the_consumption_profile_offers():
    """Consumption replicas come in 0.25-vCPU steps with 2 GiB per vCPU, summed over the replica's containers."""
    for name, document, config in apps():
        cpu = memory = 0.0
        for container in resolve(document, config["properties"]["template"]["containers"]):
            resources = resolve(document, container)["resources"]
            cpu += float(resources["cpu"]["function"]["parameters"]["arg_1"])
            memory += float(resources["memory"].removesuffix("Gi"))
        assert (cpu * 4).is_integer() and memory == 2 * cpu and cpu <= 4, (name, cpu, memory)
