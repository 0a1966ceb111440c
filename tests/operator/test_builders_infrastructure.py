from messaging_operator.builders.infrastructure import (
    build_database_provision_job,
    build_infrastructure,
    build_infrastructure_jobs,
)


def _kinds(objs):
    return sorted((o["kind"], o["metadata"]["name"]) for o in objs)


def test_managed_parts_are_statefulsets_with_services(platform):
    objs = build_infrastructure(platform)
    assert _kinds(objs) == [
        ("Service", "chat-minio"), ("Service", "chat-postgres"), ("Service", "chat-rabbitmq"),
        ("Service", "chat-redis"), ("StatefulSet", "chat-minio"), ("StatefulSet", "chat-postgres"),
        ("StatefulSet", "chat-rabbitmq"), ("StatefulSet", "chat-redis"),
    ]  # fmt: skip
    postgres = next(o for o in objs if o["metadata"]["name"] == "chat-postgres")
    claim = postgres["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    pod = postgres["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


def test_storage_class_is_the_clusters_default_unless_named(make_platform):
    def claims(platform):
        return {
            o["metadata"]["name"]: o["spec"]["volumeClaimTemplates"][0]["spec"]
            for o in build_infrastructure(platform)
            if o["kind"] == "StatefulSet"
        }

    assert all("storageClassName" not in c for c in claims(make_platform()).values())
    named = claims(make_platform({"postgres": {"storageClassName": "local-path"}}))
    assert named["chat-postgres"]["storageClassName"] == "local-path"
    assert "storageClassName" not in named["chat-redis"]


def test_deletion_policy_maps_to_pvc_retention(make_platform):
    retain = build_infrastructure(make_platform())
    delete = build_infrastructure(make_platform({"deletionPolicy": "Delete"}))
    for objs, expected in ((retain, "Retain"), (delete, "Delete")):
        for sts in (o for o in objs if o["kind"] == "StatefulSet"):
            assert sts["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == expected


def test_external_parts_build_nothing(make_platform):
    platform = make_platform(
        {
            "postgres": {"mode": "external", "secretRef": {"name": "pg"}},
            "redis": {"mode": "external", "secretRef": {"name": "r"}},
            "rabbitmq": {"mode": "external", "secretRef": {"name": "q"}},
            "objectStorage": {"mode": "external", "secretRef": {"name": "s3"}},
        }
    )
    assert build_infrastructure(platform) == []
    job = build_database_provision_job(platform)
    assert job is not None  # roles and databases are still made on the external server
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["PGHOST"]["valueFrom"]["secretKeyRef"] == {"name": "pg", "key": "host"}


def test_provision_job_is_named_after_what_it_provisions(platform, make_platform):
    job = build_database_provision_job(platform)
    assert job is not None
    assert (
        build_database_provision_job(make_platform())["metadata"]["name"] == job["metadata"]["name"]
    )
    fewer = make_platform({"services": {"media": {"enabled": False}}})
    other = build_database_provision_job(fewer)
    assert other is not None
    assert other["metadata"]["name"] != job["metadata"]["name"]
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SERVICES"]["value"] == "auth groups media messages notifications users"
    assert env["PASSWORD_auth"]["valueFrom"]["secretKeyRef"]["name"] == "chat-db-auth"


def test_managed_images_are_the_ones_make_images_builds(make_platform):
    """Managed mode runs the platform's own images (hack/images/<name>/Dockerfile), under the
    platform's imageRepository, with the tags hack/images.sh builds."""
    objs = build_infrastructure(make_platform({"imageRepository": "registry.local/chat"}))
    images = {
        o["metadata"]["name"]: o["spec"]["template"]["spec"]["containers"][0]["image"]
        for o in objs
        if o["kind"] == "StatefulSet"
    }
    assert images == {
        "chat-postgres": "registry.local/chat/postgres:15",
        "chat-redis": "registry.local/chat/redis:7.0",
        "chat-rabbitmq": "registry.local/chat/rabbitmq:3.10",
        "chat-minio": "registry.local/chat/minio:2026-02-12",
    }


def test_no_bucket_job_media_makes_its_bucket(platform):
    names = [j["metadata"]["name"] for j in build_infrastructure_jobs(platform)]
    assert len(names) == 1
    assert names[0].startswith("chat-postgres-setup-")


def _container(objs, name):
    sts = next(o for o in objs if o["kind"] == "StatefulSet" and o["metadata"]["name"] == name)
    return sts["spec"]["template"]["spec"]["containers"][0]


def _pg_settings(container):
    args = container["args"]
    assert args[::2] == ["-c"] * (len(args) // 2)
    return dict(a.split("=", 1) for a in args[1::2])


def test_managed_stores_are_durable_by_default(platform):
    objs = build_infrastructure(platform)
    assert _pg_settings(_container(objs, "chat-postgres")) == {
        "fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"
    }  # fmt: skip
    redis = " ".join(_container(objs, "chat-redis")["command"])
    assert "--appendonly yes" in redis
    assert "--appendfsync everysec" in redis


def test_relaxed_durability_keeps_fsync_and_the_append_only_file(make_platform):
    objs = build_infrastructure(
        make_platform({"postgres": {"durability": "relaxed"}, "redis": {"durability": "relaxed"}})
    )
    assert _pg_settings(_container(objs, "chat-postgres")) == {
        "fsync": "on", "synchronous_commit": "off", "full_page_writes": "on"
    }  # fmt: skip
    redis = " ".join(_container(objs, "chat-redis")["command"])
    assert "--appendonly yes" in redis
    assert "--appendfsync no" in redis


def test_managed_object_storage_is_served_through_the_gateway_at_its_bucket(make_platform):
    from messaging_operator.builders.configmaps import build_service_config
    from messaging_operator.builders.infrastructure import build_object_storage_route

    platform = make_platform(
        {
            "gateway": {"gatewayRef": {"name": "local"}},
            "objectStorage": {"bucket": "media", "publicUrl": "http://127.0.0.1:8080/"},
        }
    )
    route = build_object_storage_route(platform)
    rule = route["spec"]["rules"][0]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/media"}}]
    assert rule["backendRefs"][0]["name"] == "chat-minio"
    # media signs its URLs for the host clients reach (the trailing slash is not part of it).
    media = build_service_config(platform, platform.spec.services["media"])
    assert media["S3_PUBLIC_ENDPOINT_URL"] == "http://127.0.0.1:8080"
    assert media["S3_ENDPOINT_URL"].startswith("http://chat-minio.")
    # External object storage is the user's to publish; no gateway, no route.
    external = make_platform({"objectStorage": {"mode": "external", "secretRef": {"name": "s3"}}})
    assert build_object_storage_route(external) is None
