"""docker-compose.yml cannot run here (no Docker engine), so it is checked statically: against the
Compose specification's JSON schema (vendored by the check-jsonschema package), and against the
variables coachhub/settings.py reads."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

BASE_DIR = Path(__file__).resolve().parent.parent
APP_SERVICES = ("web", "worker", "beat", "migrate")
# Without these a deployment would run on development defaults (local database and Redis, the
# insecure key, DEBUG from nothing, console e-mail, dev hosts): every app service must set them.
REQUIRED = {
    "DATABASE_URL",
    "DATABASE_OWNER_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "SITE_URL",
    "EMAIL_URL",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


def settings_variables() -> set[str]:
    """Every variable settings.py reads: env("X"…), env.bool("X"…), env.db("X"…) and so on."""
    source = (BASE_DIR / "coachhub" / "settings.py").read_text()
    return set(re.findall(r"\benv(?:\.\w+)?\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", source))


def test_compose_file_is_valid_against_the_compose_specification(compose):
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    assert schema["title"] == "Compose Specification"
    errors = sorted(Draft202012Validator(schema).iter_errors(compose), key=lambda e: e.json_path)
    assert not errors, "\n".join(f"{e.json_path}: {e.message}" for e in errors)


def test_the_schema_check_bites():
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    validator = Draft202012Validator(json.loads(schema_file.read_text()))
    bad = {"services": {"web": {"image": "x", "healthcheck": {"interval": 5}, "restartt": "no"}}}
    assert len(list(validator.iter_errors(bad))) >= 2


def test_compose_has_the_services_with_healthchecks_and_a_one_off_migrate(compose):
    services = compose["services"]
    assert {"web", "worker", "beat", "postgres", "redis", "migrate"} <= set(services)
    assert "/healthz" in json.dumps(services["web"]["healthcheck"]["test"])
    assert "/readyz" in json.dumps(services["worker"]["healthcheck"]["test"])
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
    assert services["migrate"]["restart"] == "no"
    assert "migrate" in services["migrate"]["command"]
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
    assert services["web"]["command"][0] == "gunicorn"
    assert services["worker"]["command"][:4] == ["celery", "-A", "coachhub", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "coachhub", "beat"]


def test_every_variable_compose_sets_is_read_by_settings(compose):
    read = settings_variables()
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"} <= read  # the parser itself works
    for name in APP_SERVICES:
        unknown = set(compose["services"][name]["environment"]) - read
        assert not unknown, f"{name} sets variables settings.py never reads: {sorted(unknown)}"


def test_every_required_variable_is_read_by_settings_and_set_in_every_app_service(compose):
    assert settings_variables() >= REQUIRED
    for name in APP_SERVICES:
        missing = REQUIRED - set(compose["services"][name]["environment"])
        assert not missing, f"{name} does not set {sorted(missing)}"
    env = compose["services"]["web"]["environment"]
    assert env["DEBUG"] == "0"
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?"), "no default secret in the file"
    assert "web" in env["ALLOWED_HOSTS"], "the worker's healthcheck calls http://web:8000/readyz"


def test_compose_roles_match_the_runtime_and_owner_split(compose):
    env = compose["services"]["web"]["environment"]
    assert env["DATABASE_URL"].startswith("postgres://coachhub_app:")
    assert env["DATABASE_OWNER_URL"].startswith("postgres://coachhub_owner:")
    init = compose["configs"]["postgres-roles"]["content"]
    assert re.search(r"CREATE ROLE coachhub_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB", init)
    assert re.search(r"CREATE ROLE coachhub_owner LOGIN NOSUPERUSER NOBYPASSRLS CREATEDB", init)
    assert "GRANT coachhub_app TO coachhub_owner" in init
    assert "CREATE DATABASE coachhub OWNER coachhub_owner" in init
    postgres = compose["services"]["postgres"]
    assert postgres["configs"][0]["target"].startswith("/docker-entrypoint-initdb.d/")


def test_readme_documents_every_variable_settings_read():
    readme = (BASE_DIR / "README.md").read_text()
    documented = set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`", readme, re.M))
    missing = settings_variables() - documented
    assert not missing, f"add to the README's environment table: {sorted(missing)}"
