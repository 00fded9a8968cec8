"""docker-compose.yml runs several replicas on one PostgreSQL behind one port."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _replicas(services: dict[str, Any]) -> dict[str, Any]:
    """The services built from this repository's Dockerfile."""
    return {name: s for name, s in services.items() if "build" in s}


def test_postgres_is_kept_in_a_named_volume_and_reports_its_health() -> None:
    compose = _compose()
    postgres = compose["services"]["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volumes = [v.split(":", 1)[0] for v in postgres["volumes"]]
    assert any(v in compose.get("volumes", {}) for v in volumes), volumes


def test_two_replicas_share_postgresql_and_wait_for_it_to_be_healthy() -> None:
    services = _compose()["services"]
    replicas = _replicas(services)
    count = sum(int(s.get("deploy", {}).get("replicas", 1)) for s in replicas.values())
    assert count == 2
    for replica in replicas.values():
        url = replica["environment"]["DATABASE_URL"]
        assert re.match(r"postgresql\+asyncpg://[^@]+@postgres(:\d+)?/", url), url
        assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
        # Tokens come from the env file, never from the compose file.
        assert "env_file" in replica
        assert not any("TOKEN" in k or "SECRET" in k for k in replica["environment"])


def test_one_port_is_published_and_the_proxy_reaches_every_replica() -> None:
    services = _compose()["services"]
    published = [(name, port) for name, s in services.items() for port in s.get("ports", [])]
    assert len(published) == 1, published
    [(proxy_name, _)] = published
    proxy = services[proxy_name]
    [config] = [v.split(":")[0] for v in proxy["volumes"] if "nginx" in v]
    upstreams = re.findall(r"server\s+([\w-]+):8080", (ROOT / config).read_text(encoding="utf-8"))
    assert sorted(upstreams) == sorted(_replicas(services))
    assert set(proxy["depends_on"]) == set(_replicas(services))


def _docker_with_compose() -> str:
    """The docker executable when its compose plugin works; otherwise skip, saying why."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker is not installed")
    version = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, check=False
    )
    if version.returncode != 0:
        first_line = (version.stderr.strip() or version.stdout.strip()).splitlines()[:1]
        pytest.skip(f"the docker compose plugin is missing ({' '.join(first_line)})")
    return docker


def test_docker_compose_accepts_the_file() -> None:
    docker = _docker_with_compose()
    # `config` needs no daemon; the example env file and a made-up password stand in for .env.
    env = {**os.environ, "RENRAKU_ENV_FILE": ".env.example", "POSTGRES_PASSWORD": "example"}
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
