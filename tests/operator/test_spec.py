from messaging_operator.spec import SERVICE_NAMES, SERVICE_PORTS, parse_spec


def test_every_service_exists_with_defaults_when_left_out():
    spec = parse_spec({"version": "1.0.0"})
    assert tuple(spec.services) == SERVICE_NAMES
    auth = spec.services["auth"]
    assert (auth.version, auth.replicas, auth.port, auth.migration_weight) == (
        "1.0.0",
        2,
        8001,
        100,
    )
    assert spec.postgres.managed
    assert spec.postgres.storage == "10Gi"
    assert spec.deletion_policy == "Retain"
    assert spec.gateway is None


def test_ports_are_the_platform_design():
    assert SERVICE_PORTS == {
        "auth": 8001, "users": 8002, "messages": 8003, "groups": 8004,
        "media": 8005, "relay": 8006, "notifications": 8007, "websocket": 8008,
    }  # fmt: skip


def test_per_service_overrides():
    spec = parse_spec(
        {
            "version": "1.0.0",
            "services": {
                "messages": {"replicas": 3, "version": "1.2.0", "migration": {"weight": 40}},
                "relay": {"enabled": False},
            },
        }
    )
    assert spec.services["messages"].replicas == 3
    assert spec.services["messages"].version == "1.2.0"
    assert spec.services["messages"].migration_weight == 40
    assert "relay" not in [s.name for s in spec.enabled_services]


def test_sample_parses_with_gateway(make_platform):
    platform = make_platform()
    assert platform.spec.gateway is not None
    assert platform.spec.gateway.gateway_ref.name == "public"
    assert platform.owner_reference()["controller"] is True


def test_external_backends_and_canary():
    spec = parse_spec(
        {
            "version": "1",
            "postgres": {"mode": "external", "secretRef": {"name": "pg"}},
            "services": {"messages": {"canary": {"version": "2", "steps": [10, 50]}}},
        }
    )
    assert not spec.postgres.managed
    assert spec.postgres.secret_ref == "pg"
    assert spec.services["messages"].canary.declared
    assert spec.services["messages"].canary.steps == (10, 50)
    assert not spec.services["auth"].canary.declared


def test_walk_settings_are_parsed_once_with_the_plan_filling_gaps():
    spec = parse_spec(
        {
            "version": "1",
            "analysis": {"prometheus": {"url": "http://prometheus:9090"}},
            "rollout": {"paused": True},
            "migrationPlan": {"order": ["media", "auth"], "steps": [20, 100], "interval": "5m"},
            "services": {
                "auth": {"migration": {"interval": "1m"}},
                "users": {"migration": {"steps": [50, 100]}},
                "media": {"enabled": False},
            },
        }
    )
    assert spec.migration_plan is not None
    assert spec.migration_plan.order == ("auth",)  # media is disabled
    auth, users = spec.services["auth"].migration, spec.services["users"].migration
    assert (auth.steps, auth.interval) == ((20, 100), "1m")  # its own interval, the plan's steps
    assert (users.steps, users.interval) == ((50, 100), "10m")  # not in the plan: no plan gaps
    assert spec.rollout.paused
    assert spec.prometheus_url == "http://prometheus:9090"


def test_operator_instances_split_platforms_by_label():
    from messaging_operator.spec import handled_by

    plain = {"metadata": {"name": "a"}}
    labelled = {"metadata": {"labels": {"messaging.platform.dev/operator-instance": "blue"}}}
    assert handled_by(plain, "")
    assert not handled_by(plain, "blue")
    assert handled_by(labelled, "blue")
    assert not handled_by(labelled, "")


def test_resources_set_by_the_user_get_no_default_beside_them():
    # A default memory limit of 256Mi under a 512Mi request would make every pod invalid.
    spec = parse_spec(
        {"version": "1.0.0", "services": {"auth": {"resources": {"requests": {"memory": "512Mi"}}}}}
    )
    assert spec.services["auth"].resources.requests == {"memory": "512Mi"}
    assert spec.services["auth"].resources.limits == {}
    untouched = spec.services["users"].resources
    assert (untouched.requests, untouched.limits) == (
        {"cpu": "50m", "memory": "128Mi"},
        {"memory": "256Mi"},
    )


def test_canary_match_and_mirror_are_parsed():
    from messaging_operator.walks.settings import HeaderMatch, canary_settings

    settings = canary_settings(
        {
            "version": "2",
            "mirror": {"percent": 30},
            "match": [
                {"headers": [{"name": "X-Canary", "value": "always"}]},
                {"headers": [{"name": "Cookie", "value": "c=1", "type": "RegularExpression"}]},
            ],
        },
        "1",
    )
    assert settings.mirror_percent == 30
    assert settings.match == (
        (HeaderMatch("X-Canary", "always", "Exact"),),
        (HeaderMatch("Cookie", "c=1", "RegularExpression"),),
    )
    plain = canary_settings({"version": "2"}, "1")
    assert (plain.mirror_percent, plain.match) == (None, ())
