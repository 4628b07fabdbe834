"""Secured endpoints: the exporter-toolkit web config file (TLS, bcrypt basic auth) on the
exporter's and the relay's servers, with a self-signed certificate made by openssl: no
credentials 401, right ones 200, plain HTTP to the TLS port fails, bad files exit 2."""
import base64
import http.client
import json
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import bcrypt
import pytest
import yaml

from support.common import ACCOUNT_A, free_port, make_config, require_binary
from polo.exporter import Exporter
from polo.web import healthcheck
from polo.config import ConfigError
from polo.web.exporter_http import serve
from polo.web.web_config import load_web_config

USER, PASSWORD = "prometheus", "s3cret-scrape"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    subprocess.run([require_binary("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(directory / "server.key"), "-out", str(directory / "server.crt"),
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return directory


def web_config_file(directory, tls=True, users=True):
    data = {}
    if tls:  # relative paths: resolved against the web config file's directory
        data["tls_server_config"] = {"cert_file": "server.crt", "key_file": "server.key"}
    if users:
        data["basic_auth_users"] = {USER: bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10)).decode()}
    path = directory / "web.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def request(url, certificate, method="GET", auth=None, headers=None, body=None):
    context = ssl.create_default_context(cafile=str(certificate / "server.crt"))
    headers = dict(headers or {})
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    req = urllib.request.Request(url, method=method, headers=headers, data=body)
    try:
        with urllib.request.urlopen(req, timeout=30, context=context) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def plain_http_fails(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/metrics")
        connection.getresponse()
    except (OSError, http.client.HTTPException):
        return True
    finally:
        connection.close()
    return False


@pytest.fixture
def secured_exporter(moto, certificate):
    exporter = Exporter(make_config(accounts=(ACCOUNT_A,), collectors=["vpcs"], costs={"enabled": False}))
    exporter.sweep_once()
    server = serve(exporter, "127.0.0.1", 0, web_config=load_web_config(str(web_config_file(certificate))))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}", server.server_address[1]
    server.shutdown()
    server.server_close()


def test_exporter_scrape_needs_credentials_over_tls(secured_exporter, certificate):
    url, port = secured_exporter
    status, headers, _ = request(url + "/metrics", certificate)
    assert status == 401 and headers["WWW-Authenticate"] == 'Basic realm="polo"'
    assert request(url + "/metrics", certificate, auth=(USER, "wrong"))[0] == 401
    assert request(url + "/metrics", certificate, auth=("nobody", PASSWORD))[0] == 401
    status, _, body = request(url + "/metrics", certificate, auth=(USER, PASSWORD))
    assert status == 200 and b"polo_resource_info{" in body
    assert request(url + "/", certificate)[0] == 401
    assert request(url + "/-/reload", certificate, method="POST")[0] == 401  # no reload without a password
    assert request(url + "/healthz", certificate)[0] == 200  # probes need no password
    assert request(url + "/healthz", certificate, method="HEAD")[0] == 200
    assert healthcheck.main([url + "/healthz"]) == 0  # the image's HEALTHCHECK works over TLS
    assert plain_http_fails(port)


def test_over_long_users_and_passwords_are_a_401_not_a_dropped_connection(secured_exporter, certificate):
    """bcrypt 5 raises beyond 72 bytes: the connection once dropped with a traceback."""
    url, _ = secured_exporter
    assert request(url + "/metrics", certificate, auth=(USER, "p" * 73))[0] == 401
    assert request(url + "/metrics", certificate, auth=("u" * 100, "p" * 100))[0] == 401
    assert request(url + "/metrics", certificate, auth=(USER, PASSWORD))[0] == 200


def test_unknown_users_cost_a_check_at_the_configured_cost(tmp_path):
    """A dummy hash cheaper than the users' answered unknown users in 157 ms and known users
    with a wrong password in 750 ms: user names could be guessed from the delay."""
    path = tmp_path / "web.yml"
    path.write_text(yaml.safe_dump({"basic_auth_users": {
        "a": bcrypt.hashpw(b"x", bcrypt.gensalt(rounds=11)).decode(),
        "b": bcrypt.hashpw(b"y", bcrypt.gensalt(rounds=12)).decode()}}))
    assert load_web_config(str(path)).dummy_hash.startswith(b"$2b$12$")


def test_one_bcrypt_check_at_a_time_and_good_credentials_are_cached(tmp_path, monkeypatch):
    """50 threads of wrong passwords once slowed a good scrape from 17 ms to 0.8 s."""
    path = tmp_path / "web.yml"
    path.write_text(yaml.safe_dump({"basic_auth_users": {
        USER: bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()}}))
    config = load_web_config(str(path))
    assert config.check(USER, PASSWORD)  # verified once, then cached
    running, most, calls, lock = 0, 0, [], threading.Lock()
    real = bcrypt.checkpw

    def watched(password, hashed):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            calls.append(password)
        time.sleep(0.01)
        try:
            return real(password, hashed)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(bcrypt, "checkpw", watched)
    threads = [threading.Thread(target=config.check, args=(USER, f"wrong{n}")) for n in range(20)]
    for thread in threads:
        thread.start()
    assert config.check(USER, PASSWORD)
    for thread in threads:
        thread.join()
    assert most == 1 and len(calls) == 20 and PASSWORD.encode() not in calls


def test_relay_uses_the_same_web_config(tmp_path, certificate):
    from support.relay import RELAY_TOKEN, SLACK_TOKEN, alert, payload
    from polo.slack.messages import Links
    from polo.slack.relay import Relay, Settings, make_server

    settings = Settings(listen_address="127.0.0.1:0", state_dir=tmp_path, slack_api_url="http://127.0.0.1:9/api/",
                        links=Links("http://grafana", None), dedup_window=600.0,
                        relay_token=RELAY_TOKEN, slack_token=SLACK_TOKEN)
    (tmp_path / "queue").mkdir()
    relay = Relay(settings)
    server = make_server(relay, "127.0.0.1", 0, load_web_config(str(web_config_file(certificate))))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        assert request(url + "/metrics", certificate)[0] == 401
        assert request(url + "/metrics", certificate, auth=(USER, PASSWORD))[0] == 200
        # Alertmanager's webhook authenticates with the relay's bearer token, not basic auth
        body = json.dumps(payload([alert("f1")])).encode()
        status, _, _ = request(url + "/alerts/polo-ops", certificate, method="POST", body=body,
                               headers={"Authorization": f"Bearer {RELAY_TOKEN}", "Content-Type": "application/json"})
        assert status == 200
        assert request(url + "/alerts/polo-ops", certificate, method="POST", body=body,
                       headers={"Content-Type": "application/json"})[0] == 401
        assert plain_http_fails(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_bad_web_config_files_name_file_key_and_problem(tmp_path, certificate):
    cases = {
        "tls_server_config: {cert_file: missing.crt, key_file: missing.key}":
            "tls_server_config.cert_file: cannot load missing.crt",
        "tls_server_config: {key_file: server.key}": "tls_server_config.cert_file: is required",
        "tls_server_config: {cert_file: a, key_file: b, cipher_suites: [TLS_AES_128_GCM_SHA256]}":
            "tls_server_config.cipher_suites: not supported by Polo",
        "basic_auth_users: {admin: plaintext}": "basic_auth_users.admin: must be a bcrypt hash",
        "basic_auth_user: {}": "basic_auth_user: unknown key",
    }
    for text, message in cases.items():
        path = tmp_path / "web.yml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("[", r"\[")):
            load_web_config(str(path))
    with pytest.raises(ConfigError, match="file not found"):
        load_web_config(str(tmp_path / "nope.yml"))


def test_cli_refuses_a_bad_web_config_with_exit_2(tmp_path):
    bad = tmp_path / "web.yml"
    bad.write_text("basic_auth_users: {admin: plaintext}\n")
    result = subprocess.run([sys.executable, "-m", "polo", "--demo", "--web.config.file", str(bad)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert f"config error: {bad}: basic_auth_users.admin: must be a bcrypt hash" in result.stderr
    relay = subprocess.run([sys.executable, "-m", "polo.slack.relay", "--web.config.file", str(bad),
                            "--state-dir", str(tmp_path / "relay")], capture_output=True, text=True, timeout=60,
                           env={"POLO_RELAY_TOKEN": "x", "SLACK_BOT_TOKEN": "xoxb-x", "PATH": "/usr/bin:/bin"})
    assert relay.returncode == 2 and "basic_auth_users.admin: must be a bcrypt hash" in relay.stderr


def test_real_cli_serves_tls_and_basic_auth(tmp_path, certificate):
    from support.stack import REPO, Service

    example = yaml.safe_load((REPO / "polo.example.yml").read_text())
    config = tmp_path / "polo.yml"
    config.write_text(yaml.safe_dump({"accounts": example["accounts"][:1], "regions": ["us-east-1"],
                                      "collectors": ["vpcs"], "costs": {"enabled": False}}))
    port = free_port()
    exporter = Service("exporter", [sys.executable, "-m", "polo", "--demo", "--config", str(config),
                                    "--web.listen-address", f"127.0.0.1:{port}",
                                    "--web.config.file", str(web_config_file(certificate))], tmp_path, port)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if request(f"https://127.0.0.1:{port}/healthz", certificate)[0] == 200:
                    break
            except OSError:
                pass
            assert exporter.process.poll() is None and time.monotonic() < deadline, exporter.tail()
            time.sleep(0.5)
        assert request(f"https://127.0.0.1:{port}/metrics", certificate)[0] == 401
        assert request(f"https://127.0.0.1:{port}/metrics", certificate, auth=(USER, PASSWORD))[0] == 200
        assert plain_http_fails(port)
        assert f"listening on https://127.0.0.1:{port}/" in exporter.log.read_text()
        assert PASSWORD not in exporter.log.read_text()
    finally:
        exporter.stop()
