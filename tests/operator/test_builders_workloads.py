"""Deployments, Services, ConfigMaps, PodDisruptionBudgets, HPAs and migration Jobs."""

from messaging_operator.builders.autoscalers import build_autoscaler
from messaging_operator.builders.budgets import build_pod_disruption_budget
from messaging_operator.builders.configmaps import build_configmap, build_service_config
from messaging_operator.builders.deployments import build_deployment, build_service_env
from messaging_operator.builders.jobs import build_migration_job, migration_job_name
from messaging_operator.builders.services import build_service


def test_deployment_runs_the_service_command_safely(platform):
    auth = platform.spec.services["auth"]
    deployment = build_deployment(platform, auth, "1.0.0")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "ghcr.io/acme/messaging/auth:1.0.0"
    assert container["command"] == ["messaging-auth"]
    assert container["ports"][0]["containerPort"] == 8001
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["resources"]["requests"] == {"cpu": "50m", "memory": "128Mi"}
    assert deployment["spec"]["replicas"] == 2
    assert deployment["metadata"]["labels"]["app.kubernetes.io/version"] == "1.0.0"
    assert deployment["metadata"]["ownerReferences"][0]["kind"] == "MessagingPlatform"


def test_env_points_each_service_at_what_it_uses(platform):
    def names(service):
        return {
            e["name"] for e in build_service_env(platform, platform.spec.services[service], "1")
        }

    assert {"DATABASE_URL", "AMQP_URL", "REDIS_URL", "SIGNING_KEYS_DIR"} <= names("auth")
    assert "DATABASE_URL" not in names("relay")
    assert "REDIS_URL" in names("relay")
    assert {"S3_ACCESS_KEY", "S3_SECRET_KEY"} <= names("media")
    # Those that judge blocks know where users' snapshot is.
    blocks = build_service_config(platform, platform.spec.services["groups"])["BLOCKS_URL"]
    assert blocks.endswith(".svc:8002/internal/v1/blocks")
    # users asks media who uploaded an avatar's media.
    users = build_service_config(platform, platform.spec.services["users"])
    assert users["MEDIA_URL"] == "http://chat-media.team.svc:8005"
    groups = build_service_config(platform, platform.spec.services["groups"])
    assert groups["CONTACTS_URL"].endswith(".svc:8002/internal/v1/contacts/accepting")
    # websocket asks users whose presence a viewer may see.
    websocket = build_service_config(platform, platform.spec.services["websocket"])
    assert websocket["PRESENCE_AUDIENCE_URL"].endswith(".svc:8002/internal/v1/presence-audience")
    # Every service holds the service credential: internal endpoints refuse anyone without it.
    for service in platform.spec.services:
        assert "INTERNAL_TOKEN" in names(service), service


def test_autoscaled_service_leaves_replicas_to_the_hpa(make_platform):
    platform = make_platform(
        {"services": {"messages": {"autoscaling": {"enabled": True, "minReplicas": 3}}}}
    )
    messages = platform.spec.services["messages"]
    assert "replicas" not in build_deployment(platform, messages, "1.0.0")["spec"]
    hpa = build_autoscaler(platform, messages)
    assert hpa is not None
    assert hpa["spec"]["minReplicas"] == 3
    assert hpa["spec"]["scaleTargetRef"]["name"] == "chat-messages"
    assert build_autoscaler(platform, platform.spec.services["auth"]) is None


def test_pod_annotations_reach_pods_and_migration_jobs(make_platform):
    platform = make_platform({"services": {"auth": {"podAnnotations": {"a": "b"}}}})
    auth = platform.spec.services["auth"]
    deployment = build_deployment(platform, auth, "1.0.0")
    assert deployment["spec"]["template"]["metadata"]["annotations"]["a"] == "b"
    job = build_migration_job(platform, auth, [], "img")
    assert job is not None
    assert job["spec"]["template"]["metadata"]["annotations"] == {"a": "b"}


def test_config_change_rolls_pods_through_a_hash(platform, make_platform):
    auth = platform.spec.services["auth"]
    before = build_deployment(platform, auth, "1.0.0")["spec"]["template"]["metadata"]
    noisy = make_platform({"logLevel": "DEBUG"})
    after = build_deployment(noisy, noisy.spec.services["auth"], "1.0.0")["spec"]["template"]
    assert before["annotations"] != after["metadata"]["annotations"]
    assert build_configmap(noisy, noisy.spec.services["auth"])["data"]["LOG_LEVEL"] == "DEBUG"


def test_service_and_configmap(platform):
    websocket = platform.spec.services["websocket"]
    service = build_service(platform, websocket)
    assert service["spec"]["ports"][0]["port"] == 8008
    assert service["spec"]["selector"]["app.kubernetes.io/name"] == "websocket"
    data = build_configmap(platform, websocket)["data"]
    assert data["PORT"] == "8008"
    assert data["JWKS_URL"] == "http://chat-auth.team.svc:8001/.well-known/jwks.json"


def test_budget_only_where_a_pod_can_be_spared(make_platform):
    platform = make_platform({"services": {"relay": {"replicas": 1}}})
    assert build_pod_disruption_budget(platform, platform.spec.services["relay"]) is None
    budget = build_pod_disruption_budget(platform, platform.spec.services["auth"])
    assert budget is not None
    assert budget["spec"]["maxUnavailable"] == 1


def test_migration_job_per_service_and_version(platform):
    users = platform.spec.services["users"]
    job = build_migration_job(platform, users, [{"name": "X", "value": "1"}], "repo/users:1.0.0")
    assert job is not None
    assert job["metadata"]["name"] == "chat-users-migrate-1-0-0"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["messaging-users", "migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert "ttlSecondsAfterFinished" not in job["spec"]
    assert build_migration_job(platform, platform.spec.services["relay"], [], "x") is None
    assert migration_job_name(platform, users, "2.0.0-rc.1") == "chat-users-migrate-2-0-0-rc-1"


def test_auth_mails_links_to_the_public_hostname(platform, make_platform):
    auth = build_service_config(platform, platform.spec.services["auth"])
    assert auth["PUBLIC_BASE_URL"] == "https://chat.example.com"
    assert "PUBLIC_BASE_URL" not in build_service_config(platform, platform.spec.services["users"])
    bare = make_platform({"gateway": None})
    assert "PUBLIC_BASE_URL" not in build_service_config(bare, bare.spec.services["auth"])


def test_relaxed_redis_lets_relay_and_websocket_accept_one_without_an_append_only_file(
    make_platform,
):
    durable = make_platform()
    relaxed = make_platform({"redis": {"mode": "external", "secretRef": {"name": "r"},
                                       "durability": "relaxed"}})  # fmt: skip
    for name in ("relay", "websocket"):
        assert "REDIS_REQUIRE_AOF" not in build_service_config(durable, durable.spec.services[name])
        config = build_service_config(relaxed, relaxed.spec.services[name])
        assert config["REDIS_REQUIRE_AOF"] == "false"
    assert "REDIS_REQUIRE_AOF" not in build_service_config(relaxed, relaxed.spec.services["auth"])
