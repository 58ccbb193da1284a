"""The deployment recipes under deploy/: what can be checked without a Docker engine or a cluster.

systemd: `systemd-analyze verify` on the unit. Kubernetes: every manifest against the API schema
(kubernetes-validate, strict), plus the properties the docs promise, plus the ConfigMap's
porteiro.yaml through `porteiro check-config`. Docker: the Dockerfile parsed, multi-stage, a
non-root user, a health check on /ping.
"""
import os
import re
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from conftest import PORTEIRO_BIN, ROOT

DEPLOY = ROOT / "deploy"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))


def test_systemd_unit_verifies(tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: apt-get install systemd"
    unit = (DEPLOY / "systemd" / "porteiro.service").read_text()
    # The unit names the installed binary; point it at the one just built.
    (tmp_path / "porteiro.service").write_text(unit.replace("/usr/local/bin/porteiro", PORTEIRO_BIN))
    result = subprocess.run([analyze, "verify", str(tmp_path / "porteiro.service")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "porteiro.service" not in result.stderr, result.stderr
    for hardening in ["DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=\n"]:
        assert hardening in unit


def unit_settings(unit):
    """`key=value` lines of a unit file, by key (the last one wins, as in systemd)."""
    return dict(line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#"))


def test_systemd_unit_restarts_within_a_second_and_never_gives_up():
    """A crash loses every connection at once: systemd must bring Porteiro back at once (within a
    second) after any exit, and never stop trying (no start limit). The delay is read by systemd's
    own time-span parser."""
    settings = unit_settings((DEPLOY / "systemd" / "porteiro.service").read_text())
    assert settings["Restart"] == "always"
    assert settings["StartLimitIntervalSec"] == "0", "restarts are never rate-limited into giving up"
    span = subprocess.run([shutil.which("systemd-analyze"), "timespan", settings["RestartSec"]],
                          capture_output=True, text=True, check=True).stdout
    microseconds = int(re.search(r"μs: (\d+)", span).group(1))
    assert 0 < microseconds < 1_000_000, f"RestartSec={settings['RestartSec']} is not under a second"


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name)
def test_kubernetes_manifest_matches_the_api_schema(manifest):
    if manifest.name == "kustomization.yaml":
        listed = yaml.safe_load(manifest.read_text())["resources"]
        assert sorted(listed) == sorted(p.name for p in MANIFESTS if p.name != "kustomization.yaml")
        return
    validate = pathlib.Path(sys.executable).parent / "kubernetes-validate"
    assert validate.exists(), "kubernetes-validate is missing: pip install -r tests/e2e/requirements.txt"
    result = subprocess.run([str(validate), "--strict", str(manifest)], capture_output=True, text=True)
    assert result.returncode == 0 and "passed" in result.stdout, result.stdout + result.stderr


def kubernetes_objects():
    return {doc["kind"]: doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc.get("kind")}


def test_kubernetes_deployment_runs_several_hardened_replicas_with_probes():
    objects = kubernetes_objects()
    deployment = objects["Deployment"]
    assert deployment["spec"]["replicas"] >= 2
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/ping"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["terminationGracePeriodSeconds"] > 30, "longer than server.shutdown_grace"
    assert objects["PodDisruptionBudget"]["spec"]["minAvailable"] >= 1
    secret_refs = {env["valueFrom"]["secretKeyRef"]["name"] for env in container["env"]}
    assert secret_refs == {objects["Secret"]["metadata"]["name"]}


def test_kubernetes_configmap_holds_a_valid_porteiro_config(tmp_path):
    objects = kubernetes_objects()
    config = objects["ConfigMap"]["data"]["porteiro.yaml"]
    (tmp_path / "porteiro.yaml").write_text(config)
    assert "store: postgres" in config, "replicas share revocations (docs/scaling.md)"
    secret = subprocess.run([PORTEIRO_BIN, "keygen"], capture_output=True, text=True, check=True).stdout.strip()
    database_url = objects["Secret"]["stringData"]["database-url"]
    env = {**os.environ, "PORTEIRO_COOKIE_SECRET": secret, "PORTEIRO_DATABASE_URL": database_url}
    container_env = {e["name"] for e in objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    referenced = set(re.findall(r"\$\{(\w+)", config))
    assert referenced <= container_env, f"the Deployment does not set {referenced - container_env}"
    result = subprocess.run(
        [PORTEIRO_BIN, "check-config", "--config", str(tmp_path / "porteiro.yaml")], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_non_root_with_a_health_check():
    parser = DockerfileParser(path=str(DEPLOY / "docker" / "Dockerfile"))
    instructions = parser.structure
    stages = [i for i in instructions if i["instruction"] == "FROM"]
    assert len(stages) >= 2, "build and runtime stages"
    final = instructions[instructions.index(stages[-1]):]
    users = [i["value"] for i in final if i["instruction"] == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), users
    health = [i["value"] for i in final if i["instruction"] == "HEALTHCHECK"]
    assert health and "/ping" in health[0]
    assert any(i["instruction"] == "COPY" and "--from=build" in i["value"] for i in final)
    # Every file the build copies exists in the repository.
    for copy in (i["value"].split() for i in instructions if i["instruction"] == "COPY" and "--from" not in i["value"]):
        for source in copy[:-1]:
            assert (ROOT / source).exists(), source
