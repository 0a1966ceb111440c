"""The operator gives every service each setting the service requires: a setting the service's
Settings class has no default for, that the Deployment's env and ConfigMap leave out, stops the
pod at start ("bad settings: DATABASE_URL is required"). It went unnoticed while no pod ran."""

from __future__ import annotations

import importlib

import pytest
from messaging_operator.builders.configmaps import build_service_config
from messaging_operator.builders.deployments import build_deployment, build_service_env, image_for
from messaging_operator.builders.jobs import build_migration_job
from messaging_operator.spec import DATABASE_SERVICES, SERVICE_NAMES


def required_settings(service: str) -> set[str]:
    module = importlib.import_module(f"{service}_service.core.config")
    fields = module.Settings.model_fields
    return {name.upper() for name, field in fields.items() if field.is_required()}


def provided(container: dict, config: dict[str, str]) -> set[str]:
    return {e["name"] for e in container.get("env", [])} | set(config)


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_the_deployment_provides_every_required_setting(platform, service):
    spec = platform.spec.services[service]
    container = build_deployment(platform, spec, "1.0.0")["spec"]["template"]["spec"]["containers"][
        0
    ]
    missing = required_settings(service) - provided(container, build_service_config(platform, spec))
    assert not missing, f"{service} would not start: {sorted(missing)} missing"


@pytest.mark.parametrize("service", sorted(DATABASE_SERVICES))
def test_the_migration_job_provides_every_required_setting(platform, service):
    spec = platform.spec.services[service]
    env = build_service_env(platform, spec, "1.0.0")
    job = build_migration_job(platform, spec, env, image_for(platform, spec, "1.0.0"))
    assert job is not None, f"{service} owns a database: it migrates"
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    missing = required_settings(service) - provided(container, build_service_config(platform, spec))
    assert not missing, f"{service}'s migration would not start: {sorted(missing)} missing"
    # Whatever the container mounts, the pod has.
    volumes = {v["name"] for v in pod["volumes"]}
    assert {m["name"] for m in container["volumeMounts"]} <= volumes


def test_auth_reads_its_signing_keys_from_the_mounted_secret(platform):
    spec = platform.spec.services["auth"]
    pod = build_deployment(platform, spec, "1.0.0")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    directory = next(e["value"] for e in container["env"] if e["name"] == "SIGNING_KEYS_DIR")
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == directory)
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["secretName"] == "chat-jwt"
    assert mount["readOnly"] is True


def test_notifications_sends_mail_through_the_platforms_smtp_server(make_platform):
    platform = make_platform(
        {"notifications": {"smtp": {"host": "smtp.example.com", "secretRef": {"name": "smtp"}}}}
    )
    spec = platform.spec.services["notifications"]
    config = build_service_config(platform, spec)
    assert (config["SMTP_HOST"], config["SMTP_PORT"]) == ("smtp.example.com", "587")
    env = {e["name"]: e for e in build_service_env(platform, spec, "1.0.0")}
    assert env["SMTP_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "smtp", "key": "password"}
    assert "SMTP_HOST" not in build_service_config(platform, platform.spec.services["auth"])


def test_workers_reach_the_service_as_its_workers_setting(make_platform, monkeypatch):
    platform = make_platform({"services": {"users": {"workers": 3}}})
    env = {e["name"]: e for e in build_service_env(platform, platform.spec.services["users"], "1")}
    assert env["WORKERS"] == {"name": "WORKERS", "value": "3"}
    default = build_service_env(platform, platform.spec.services["auth"], "1")
    assert "WORKERS" not in {e["name"] for e in default}
    # The service takes what the operator sends; websocket refuses more than one, as the CRD.
    monkeypatch.setenv("WORKERS", "3")
    users = importlib.import_module("users_service.core.config").Settings
    assert (
        users(database_url="postgresql://x/y", jwks_url="http://a", amqp_url="amqp://b").workers
        == 3
    )
    websocket = importlib.import_module("websocket_service.core.config").Settings
    with pytest.raises(ValueError, match="workers"):
        websocket(jwks_url="http://a", amqp_url="amqp://b", redis_url="redis://c")
