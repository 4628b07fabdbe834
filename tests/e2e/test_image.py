"""The container image, checked statically (no container engine here): Dockerfile targets,
non-root users, the HEALTHCHECK, the build context, and a production install without the demo."""
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from fnmatch import fnmatch
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from support.common import require_binary
from polo.web import healthcheck

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "exporter" / "Dockerfile"


def stages():
    """stage name -> its instructions as (KEYWORD, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result, current = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword.upper() == "FROM":
            current = rest.split(" AS ")[-1].strip()
            result[current] = [("FROM", rest)]
        else:
            result[current].append((keyword.upper(), rest.strip()))
    return result


def test_targets_and_the_default_is_production():
    assert list(stages()) == ["base", "build", "demo", "slack", "production"]  # the last is the default


def test_the_base_is_pinned_by_digest_and_every_install_is_hash_locked():
    froms = [a for instructions in stages().values() for k, a in instructions if k == "FROM"]
    external = [a.split()[0] for a in froms if a.split()[0] not in stages()]
    assert external and all(re.fullmatch(r"[\w.:/-]+@sha256:[0-9a-f]{64}", image) for image in external), external
    for target in ("demo", "slack", "production"):
        run = " ".join(a for k, a in stages()[target] if k == "RUN")
        assert f"exporter/requirements/{target}.txt" in " ".join(a for k, a in stages()[target] if k == "COPY")
        assert "pip install --require-hashes --no-deps -r /tmp/requirements.txt" in run
        assert re.sub(r"pip install --(require-hashes --)?no-deps \S+", "", run).count("pip install") == 0, run


LOCKS = REPO / "exporter" / "requirements"


def locked(name: str) -> dict[str, str]:
    """package -> pinned version of a lock file, each pin with at least one sha256 hash."""
    text = (LOCKS / f"{name}.txt").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", text, re.M))
    assert pins and text.count("--hash=sha256:") >= len(pins), name
    return {re.sub(r"[-_.]+", "-", k).lower(): v for k, v in pins.items()}


def test_the_locks_hold_what_pyproject_asks_and_agree_with_each_other():
    """Each lock pins every dependency pyproject.toml declares for its image, within the declared
    bounds, and the three locks pin shared packages alike (else regenerate them, Dockerfile)."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.version import Version

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {"production": project["dependencies"],
              "demo": project["dependencies"] + project["optional-dependencies"]["demo"],
              "slack": project["dependencies"] + project["optional-dependencies"]["digest"]}
    locks = {name: locked(name) for name in wanted}
    for name, requirements in wanted.items():
        for text in requirements:
            requirement = Requirement(text)
            version = locks[name].get(re.sub(r"[-_.]+", "-", requirement.name).lower())
            assert version and requirement.specifier.contains(Version(version)), (name, text, version)
    for name, pins in locks.items():
        for package, version in pins.items():
            for other, other_pins in locks.items():
                assert other_pins.get(package, version) == version, (package, name, other)
    assert "matplotlib" not in locks["production"] and "moto" not in locks["production"]
    assert "matplotlib" in locks["slack"] and "moto" not in locks["slack"] and "moto" in locks["demo"]


def test_hadolint_finds_nothing_in_the_dockerfile():
    result = subprocess.run([require_binary("hadolint"), str(DOCKERFILE)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("target", ["demo", "slack", "production"])
def test_final_stages_run_as_a_non_root_user_after_installing(target):
    instructions = stages()[target]
    keywords = [k for k, _ in instructions]
    user = max(i for i, k in enumerate(keywords) if k == "USER")
    assert instructions[user][1] not in ("root", "0") and "RUN" not in keywords[user:]
    assert "useradd --system --uid 10001" in " ".join(a for k, a in stages()["base"] if k == "RUN")


def test_healthcheck_uses_python_not_curl():
    [check] = [a for k, a in stages()["base"] if k == "HEALTHCHECK"]
    assert check.endswith('CMD ["python", "-m", "polo.web.healthcheck"]')
    assert not re.search(r"\b(curl|wget)\b", re.sub(r"#.*", "", DOCKERFILE.read_text()))


def test_production_has_neither_moto_nor_the_demo_and_the_demo_has_both():
    production = " ".join(a for k, a in stages()["production"] if k == "RUN")
    demo = " ".join(a for k, a in stages()["demo"] if k == "RUN")
    assert "shutil.rmtree(p / 'demo')" in production
    assert '! python -c "import moto"' in production and '! python -c "import matplotlib"' in production
    assert "demo.txt" in " ".join(a for k, a in stages()["demo"] if k == "COPY") and "rmtree" not in demo
    assert stages()["demo"][-1] == ("CMD", '["polo-exporter", "--demo", "--web.listen-address", "0.0.0.0:19881"]')


def test_nothing_outside_polo_demo_imports_moto():
    for path in (REPO / "exporter" / "polo").rglob("*.py"):
        if "demo" not in path.relative_to(REPO / "exporter" / "polo").parts:
            assert not re.search(r"^\s*(import|from) moto\b", path.read_text(), re.M), path


def test_build_context_keeps_what_the_dockerfile_copies():
    ignored = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    copied = [arg.split()[0] for instructions in stages().values() for k, a in instructions
              if k == "COPY" and not a.startswith("--from") for arg in [a] for arg in a.split()[:-1]]
    assert copied == ["pyproject.toml", "README.md", "exporter", "docs/alerts.md", "exporter/requirements/demo.txt",
                      "exporter/requirements/slack.txt", "exporter/requirements/production.txt"]
    for source in copied:
        assert (REPO / source).exists()
        # the last matching pattern decides, as in Docker; `!` re-includes
        verdicts = [not p.startswith("!") for p in ignored if fnmatch(source, p.lstrip("!"))]
        assert not (verdicts and verdicts[-1]), source
    assert {".git", "tests", "**/__pycache__"} <= set(ignored)


def test_production_install_refuses_demo_with_a_clear_message(tmp_path):
    """The production stage's steps, outside a container: build the wheel, install it, delete
    polo/demo; then `python -m polo --demo` must say why, not print a traceback."""
    context = tmp_path / "context"  # what the build stage COPYs, so the build writes nothing in the repo
    context.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, context / name)
    shutil.copytree(REPO / "exporter", context / "exporter",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(tmp_path / "wheels"),
                    str(context)], check=True, capture_output=True, timeout=300)
    [wheel] = (tmp_path / "wheels").glob("polo-*.whl")
    assert any(name.startswith("polo/demo/") for name in zipfile.ZipFile(wheel).namelist())
    runbooks = zipfile.ZipFile(wheel).read("polo/slack/runbooks.md").decode()  # the relay serves them
    assert runbooks == (REPO / "docs" / "alerts.md").read_text()
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    shutil.rmtree(site / "polo" / "demo")  # as the production stage does after installing
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "polo", "--demo", "--once"], capture_output=True,
                            text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    assert "--demo is not available in this build" in result.stderr and "Traceback" not in result.stderr
    version = subprocess.run([sys.executable, "-m", "polo", "--version"], capture_output=True, text=True,
                             env=env, cwd=tmp_path, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("polo-exporter ")


@pytest.fixture
def health_server():
    status = {"code": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status["code"])
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/healthz", status
    server.shutdown()
    server.server_close()


def test_healthcheck_exit_codes(health_server, monkeypatch):
    url, status = health_server
    assert healthcheck.main([url]) == 0
    status["code"] = 503
    assert healthcheck.main([url]) == 1
    monkeypatch.setenv("POLO_HEALTHCHECK_URL", url)
    status["code"] = 200
    assert healthcheck.main([]) == 0
    from support.common import free_port
    assert healthcheck.main([f"http://127.0.0.1:{free_port()}/healthz"]) == 1
