"""Imports Gradeline's broker definitions and sets its users' passwords, through the management API.

Run by the Job in rabbitmq-setup.yaml, with python3 from the RabbitMQ image and nothing else.
Environment: RABBITMQ_API (http://host:15672/api), RABBITMQ_NODES (how many nodes must run
first), DEFINITIONS (the definitions.json file), ADMIN_USERNAME and ADMIN_PASSWORD (an
administrator), KIOSK_PASSWORD, WORKER_PASSWORD and READER_PASSWORD. Exits 1, naming why, when
the broker is not ready yet (the Job then tries again) or refuses a call.
"""
import base64
import json
import os
import sys
import urllib.error
import urllib.request

# definitions.json's users, and the variable each one's password comes from.
PASSWORDS = {
    "gradeline-kiosk": "KIOSK_PASSWORD",
    "gradeline-worker": "WORKER_PASSWORD",
    "gradeline-reader": "READER_PASSWORD",
}


def call(method, path, body=None):
    api = os.environ["RABBITMQ_API"].rstrip("/")
    credentials = f"{os.environ['ADMIN_USERNAME']}:{os.environ['ADMIN_PASSWORD']}".encode()
    request = urllib.request.Request(
        api + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Basic " + base64.b64encode(credentials).decode(),
                 "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
    except urllib.error.HTTPError as error:
        sys.exit(f"rabbitmq-setup: {method} {path}: HTTP {error.code}: {error.read()[:300]!r}")
    except OSError as error:
        sys.exit(f"rabbitmq-setup: {method} {path}: {error} (is the broker up?)")
    return json.loads(text) if text else None


def main():
    expected = int(os.environ.get("RABBITMQ_NODES", "3"))
    running = [node["name"] for node in call("GET", "/nodes") if node.get("running")]
    # A quorum queue's members are the nodes running when it is declared: wait for all of them.
    if len(running) < expected:
        sys.exit(f"rabbitmq-setup: {len(running)} of {expected} nodes run ({', '.join(running)}); trying again later")
    with open(os.environ["DEFINITIONS"]) as file:
        definitions = json.load(file)
    users = {user["name"] for user in definitions.get("users", [])}
    if users != set(PASSWORDS):
        sys.exit(f"rabbitmq-setup: the definitions' users {sorted(users)} are not {sorted(PASSWORDS)}; update this script")
    missing = [variable for variable in PASSWORDS.values() if not os.environ.get(variable)]
    if missing:
        sys.exit(f"rabbitmq-setup: no password in {', '.join(missing)} (the Secret gradeline-broker-users)")
    # Adds what is missing and updates what differs; it also empties the users' password hashes
    # (the file has none), which the next calls set again at once.
    call("POST", "/definitions", definitions)
    for user, variable in PASSWORDS.items():
        call("PUT", f"/users/{user}", {"password": os.environ[variable], "tags": ""})
    print(f"rabbitmq-setup: definitions imported on {len(running)} nodes; passwords set for {', '.join(PASSWORDS)}")


if __name__ == "__main__":
    main()
