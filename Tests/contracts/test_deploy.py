"""deploy/ agrees with the code and the config it deploys.

Docker and Kubernetes are not available where the tests run, so these tests check what can be
checked without them: every manifest parses; the ports, paths, environment variables, settings
and queue names the manifests name exist in Sources/ and config/ (and in
deploy/rabbitmq/definitions.json); the grace periods cover the drain deadline; and the image's
packages are the ones scripts/setup.sh installs, build and runtime, one for one.
"""
import json
import pathlib
import re
import shlex
import subprocess

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"

# Each package scripts/setup.sh installs, and what the image's run stage needs for it. A -dev
# package's runtime library is checked against Debian's own dependencies below.
DEV_TO_RUNTIME = {
    "pkg-config": None,  # a build tool: nothing at run time
    "libpng-dev": "libpng16-16",
    "libjpeg62-turbo-dev": "libjpeg62-turbo",
    "libssl-dev": "libssl3",
    "zlib1g-dev": "zlib1g",
    "librabbitmq-dev": "librabbitmq4",
    # The pthread variant: the one libopenblas-dev installs on the development machine, where
    # the canaries were recorded (another variant may sum in another order and fail them).
    "libopenblas-dev": "libopenblas0-pthread",
    "libdnnl-dev": "libdnnl2",
}
# setup.sh packages that are not for building the executables, so in neither stage.
NOT_FOR_THE_IMAGE = {
    "rabbitmq-server": "the local broker of the demo and the tests; the image talks to one elsewhere",
    "openssl": "scripts/rabbitmq.sh makes the test broker's certificates with it",
}
# Runtime packages that no setup.sh package stands for.
EXTRA_RUNTIME = {
    "libgomp1": "Package.swift links gomp directly for oneDNN (libgcc-12-dev brings it at build time)",
    "ca-certificates": "the system CA bundle amqps:// URLs are verified against",
}
# The libraries Package.swift links (linkedLibrary or pkgConfig), and their runtime package.
LIBRARY_PACKAGES = {
    "png16": "libpng16-16",
    "jpeg": "libjpeg62-turbo",
    "rabbitmq": "librabbitmq4",
    "dnnl": "libdnnl2",
    "gomp": "libgomp1",
    "libcrypto": "libssl3",
    "openblas": "libopenblas0-pthread",
}
SETTING_SECTIONS = ("amqp", "worker", "retry", "topology", "metrics")
FILE_SUFFIXES = {"yaml", "yml", "json", "env", "conf", "py", "sh", "service", "swift", "md"}


# ---------- reading the files


def k8s_documents():
    """(file name, document) for every document of every YAML file in deploy/k8s."""
    documents = []
    for path in sorted(K8S.glob("*.yaml")):
        documents += [(path.name, d) for d in yaml.safe_load_all(path.read_text()) if d is not None]
    return documents


def k8s(kind, name=None):
    found = [d for _, d in k8s_documents() if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)]
    assert found, f"deploy/k8s has no {kind} {name or ''}"
    return found


def deployment():
    (document,) = k8s("Deployment", "gradeline-worker")
    return document


def worker_container():
    (container,) = [c for c in deployment()["spec"]["template"]["spec"]["containers"] if c["name"] == "worker"]
    return container


def compose():
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def kustomization():
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


def worker_settings():
    return yaml.safe_load((ROOT / "config" / "worker.yaml").read_text())


def swift_sources():
    return "\n".join(p.read_text() for p in sorted((ROOT / "Sources").rglob("*.swift")))


def swift_default(name):
    """A default of WorkerConfiguration, such as metricsPort, as written in the Swift source."""
    text = (ROOT / "Sources" / "Fleet" / "WorkerConfiguration.swift").read_text()
    match = re.search(rf"public var {name} = ([0-9.]+)\n", text)
    assert match, f"WorkerConfiguration.swift has no numeric default for {name}"
    return float(match.group(1))


def setting(dotted, default_name):
    """A worker setting as config/worker.yaml gives it, else the code's default."""
    section, key = dotted.split(".")
    return worker_settings().get(section, {}).get(key, swift_default(default_name))


def dockerfile_stages():
    """The Dockerfile's stages, each a list of its instructions (continuation lines joined)."""
    text = (DEPLOY / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    instructions = re.sub(r"\\\n", " ", "\n".join(lines)).splitlines()
    stages = []
    for instruction in (i.strip() for i in instructions if i.strip()):
        if instruction.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def apt_installs(stage):
    """The packages a stage's RUN instructions give to apt-get install."""
    packages = set()
    for instruction in stage:
        if not instruction.upper().startswith("RUN "):
            continue
        for command in re.split(r"&&|;", instruction[4:]):
            words = shlex.split(command)
            if "apt-get" in words and "install" in words:
                packages |= {w for w in words[words.index("install") + 1:] if not w.startswith("-")}
    return packages


def setup_sh_packages():
    text = (ROOT / "scripts" / "setup.sh").read_text()
    match = re.search(r"apt_packages=\(([^)]*)\)", text)
    assert match, "scripts/setup.sh has no apt_packages=(...) list"
    return set(match.group(1).split())


def container_environment():
    """(where, name, entry) for every environment variable of every container in deploy/."""
    found = []
    for file, document in k8s_documents():
        spec = document.get("spec", {})
        template = spec.get("template", {}).get("spec", {})
        for container in template.get("containers", []) + template.get("initContainers", []):
            for entry in container.get("env", []):
                found.append((f"{file}: {document['kind']} {container['name']}", entry["name"], entry))
    for service, definition in compose()["services"].items():
        environment = definition.get("environment", {})
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        for name, value in environment.items():
            found.append((f"compose.yaml: {service}", name, {"name": name, "value": value}))
    for stage in dockerfile_stages():
        for instruction in stage:
            if instruction.upper().startswith("ENV "):
                for name in re.findall(r"([A-Z_][A-Z0-9_]*)=", instruction):
                    found.append(("Dockerfile", name, {"name": name}))
    return found


def duration_seconds(text):
    match = re.fullmatch(r"(\d+)s", str(text))
    assert match, f"not a duration in seconds: {text!r}"
    return int(match.group(1))


def cpu_millicores(value):
    value = str(value)
    return int(value[:-1]) if value.endswith("m") else int(float(value) * 1000)


def memory_bytes(value):
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi)", str(value))
    assert match, f"not a memory quantity in Ki, Mi or Gi: {value!r}"
    return int(match.group(1)) * units[match.group(2)]


# ---------- every manifest parses


def test_every_manifest_parses():
    yaml_files = sorted(DEPLOY.rglob("*.yaml"))
    assert {p.relative_to(DEPLOY).as_posix() for p in yaml_files} >= {
        "compose.yaml", "k8s/kustomization.yaml", "k8s/worker-deployment.yaml"}
    for path in yaml_files:
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        assert documents, f"{path} is empty"
        assert all(isinstance(d, dict) for d in documents), f"{path}: a document is not a mapping"
    for file, document in k8s_documents():
        if file == "kustomization.yaml":
            continue
        assert {"apiVersion", "kind", "metadata"} <= document.keys(), f"{file}: {document.get('kind')} lacks apiVersion, kind or metadata"
        assert document["metadata"].get("name"), f"{file}: a {document['kind']} has no name"
    json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text())
    for line in (DEPLOY / "rabbitmq" / "rabbitmq.conf").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[a-z_.0-9]+ = \S.*", line), f"rabbitmq.conf: not 'key = value': {line!r}"
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S+", line), f".env.example: not NAME=value: {line!r}"
    compile((K8S / "rabbitmq-setup.py").read_text(), "rabbitmq-setup.py", "exec")


def test_the_kustomization_lists_every_manifest_and_every_config_file():
    document = kustomization()
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(document["resources"]) == manifests, "kustomization.yaml's resources must be deploy/k8s's manifests"
    generators = {g["name"]: dict(f.split("=", 1) for f in g["files"]) if all("=" in f for f in g["files"])
                  else {pathlib.Path(f).name: f for f in g["files"]} for g in document["configMapGenerator"]}
    for files in generators.values():
        for source in files.values():
            assert (K8S / source).resolve().is_file(), f"kustomization.yaml names {source}, which does not exist"
    config = generators["gradeline-config"]
    assert set(config) == {p.name for p in (ROOT / "config").iterdir()}, \
        "the ConfigMap gradeline-config must hold every file of config/, under its own name"
    assert all((K8S / source).resolve() == ROOT / "config" / key for key, source in config.items())
    assert (K8S / generators["gradeline-rabbitmq-definitions"]["definitions.json"]).resolve() == \
        DEPLOY / "rabbitmq" / "definitions.json"
    # What the workload uses is generated.
    names = {volume.get("configMap", {}).get("name") for _, d in k8s_documents()
             for volume in d.get("spec", {}).get("template", {}).get("spec", {}).get("volumes", [])}
    assert names - {None} <= set(generators), f"a volume names a ConfigMap kustomization.yaml does not make: {names}"
    (image,) = document["images"]
    assert worker_container()["image"].split(":")[0] == image["name"]


# ---------- ports, paths, environment variables, settings and names exist in the code


def test_the_metrics_port_is_the_workers():
    port = int(setting("metrics.port", "metricsPort"))
    assert port == 9464
    container = worker_container()
    (named,) = [p for p in container["ports"] if p["name"] == "metrics"]
    assert named["containerPort"] == port
    environment = {e["name"]: e.get("value") for e in container["env"]}
    assert environment.get("GRADELINE_METRICS_PORT", str(port)) == str(port)
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] in ("metrics", port), f"{probe} is not on the metrics port"
    annotations = deployment()["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == str(port)
    assert f"EXPOSE {port}" in [i for stage in dockerfile_stages()[-1:] for i in stage]
    worker = compose()["services"]["worker"]
    assert str(port) in worker["expose"]
    assert f"/dev/tcp/127.0.0.1/{port}" in " ".join(worker["healthcheck"]["test"])


def test_the_health_and_metrics_paths_exist_in_the_code():
    sources = swift_sources()
    container = worker_container()
    paths = {
        container["livenessProbe"]["httpGet"]["path"]: "/health/live",
        container["readinessProbe"]["httpGet"]["path"]: "/health/ready",
        deployment()["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"]: "/metrics",
    }
    healthcheck = " ".join(compose()["services"]["worker"]["healthcheck"]["test"])
    paths[re.search(r"GET (\S+) HTTP", healthcheck).group(1)] = "/health/ready"
    for path, expected in paths.items():
        assert path == expected, f"{path} where {expected} was expected"
        assert re.search(rf'"GET {re.escape(path)}"', sources), f"no route for {path} in Sources/"


def test_environment_variables_exist_in_the_code():
    sources = swift_sources()
    names = {name for _, name, _ in container_environment() if name.startswith("GRADELINE_")}
    assert {"GRADELINE_AMQP_URL", "GRADELINE_LOG_FORMAT", "GRADELINE_WORKER_ID"} <= names
    for name in sorted(names):
        assert f'"{name}"' in sources, f"deploy/ sets {name}, which no Swift source reads"


def test_the_worker_settings_the_manifests_name_exist():
    pattern = re.compile(rf"\b({'|'.join(SETTING_SECTIONS)})\.([a-z_]+)\b")
    settings_source = (ROOT / "Sources" / "Fleet" / "WorkerConfiguration.swift").read_text()
    files = [DEPLOY / "Dockerfile", DEPLOY / "compose.yaml", DEPLOY / ".env.example", DEPLOY / "rabbitmq" / "rabbitmq.conf",
             *K8S.glob("*.yaml")]
    named = {(path.name, ".".join(m.groups())) for path in files for m in pattern.finditer(path.read_text())
             if m.group(2) not in FILE_SUFFIXES}
    assert ("worker-deployment.yaml", "worker.concurrency") in named
    for file, key in sorted(named):
        assert f'"{key}"' in settings_source, f"{file} names the setting {key}, which WorkerConfiguration does not read"


def test_the_image_paths_fit_the_config():
    final = dockerfile_stages()[-1]
    entrypoint = json.loads(next(i for i in final if i.upper().startswith("ENTRYPOINT "))[len("ENTRYPOINT "):])
    assert entrypoint[:2] == ["/opt/gradeline/bin/gradeline-worker", "run"]
    config_file = pathlib.PurePosixPath(entrypoint[entrypoint.index("--config") + 1])
    workdir = pathlib.PurePosixPath(next(i for i in final if i.upper().startswith("WORKDIR ")).split()[1])
    copies = {pathlib.PurePosixPath(i.split()[-1].rstrip("/")): i.split()[-2] for i in final if i.upper().startswith("COPY ")}
    # The ConfigMap replaces the folder the image's config/ was copied to.
    assert copies.get(config_file.parent) == "config/"
    (mount,) = [m for m in worker_container()["volumeMounts"] if m["name"] == "config"]
    assert pathlib.PurePosixPath(mount["mountPath"]) == config_file.parent
    # worker.pipeline is relative to the working directory; the model relative to the pipeline.
    pipeline = workdir / worker_settings()["worker"]["pipeline"]
    assert pipeline.parent == config_file.parent
    pipeline_config = yaml.safe_load((ROOT / "config" / "pipeline.yaml").read_text())
    model = pathlib.PurePosixPath(pipeline_config["models"]["damage"]["file"])
    canaries = pathlib.PurePosixPath(pipeline_config["canaries"]["dir"])
    for relative in (model, canaries):
        assert relative.parts[0] == ".." and relative.parts[1] == "models"
        assert copies.get(pipeline.parent.parent / "models") == "models/", "the image lacks the models/ the config names"
        assert (ROOT / "config" / relative).exists()


def test_queue_and_user_names_exist_in_the_config_and_the_definitions():
    definitions = json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text())
    queues = {q["name"] for q in definitions["queues"]}
    users = {u["name"] for u in definitions["users"]}
    topology = worker_settings()["topology"]
    (scaled,) = k8s("ScaledObject")
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "rabbitmq" and trigger["metadata"]["mode"] == "QueueLength"
    assert trigger["metadata"]["queueName"] == topology["jobs_queue"]
    assert trigger["metadata"]["queueName"] in queues
    assert f'"{topology["jobs_queue"]}"' in swift_sources()
    assert int(trigger["metadata"]["value"]) > 0
    assert scaled["spec"]["scaleTargetRef"]["name"] == deployment()["metadata"]["name"]
    (authentication,) = k8s("TriggerAuthentication", trigger["authenticationRef"]["name"])
    assert {r["parameter"] for r in authentication["spec"]["secretTargetRef"]} == {"host"}
    # The users whose passwords the compose init service and the Kubernetes Job set.
    init = compose()["services"]["rabbitmq-init"]["command"][0]
    assert set(re.findall(r"change_password (gradeline-\w+) ", init)) - {"gradeline-admin"} == users
    setup = {"__name__": "rabbitmq_setup"}
    exec(compile((K8S / "rabbitmq-setup.py").read_text(), "rabbitmq-setup.py", "exec"), setup)
    assert set(setup["PASSWORDS"]) == users
    (job,) = k8s("Job", "gradeline-rabbitmq-setup")
    job_env = {e["name"] for c in job["spec"]["template"]["spec"]["containers"] for e in c["env"]}
    assert set(setup["PASSWORDS"].values()) <= job_env


def test_the_compose_cluster_shares_one_cookie_and_loads_the_definitions():
    services = compose()["services"]
    nodes = sorted(name for name in services if re.fullmatch(r"rabbitmq-\d", name))
    assert nodes == ["rabbitmq-1", "rabbitmq-2", "rabbitmq-3"]
    assert len({services[n]["image"] for n in nodes}) == 1
    assert {services[n]["environment"]["RABBITMQ_ERLANG_COOKIE"].split(":")[0] for n in nodes} == {"${RABBITMQ_ERLANG_COOKIE"}
    conf = dict(line.split(" = ", 1) for line in (DEPLOY / "rabbitmq" / "rabbitmq.conf").read_text().splitlines()
                if line.strip() and not line.startswith("#"))
    assert conf["cluster_formation.peer_discovery_backend"] == "classic_config"
    assert {v for k, v in conf.items() if k.startswith("cluster_formation.classic_config.nodes.")} == \
        {f"rabbit@{services[n]['hostname']}" for n in nodes}
    for node in nodes:
        mounts = dict(m.split(":")[:2] for m in services[node]["volumes"] if m.startswith("./"))
        assert mounts["./rabbitmq/definitions.json"] == conf["load_definitions"]
        assert mounts["./rabbitmq/rabbitmq.conf"].startswith("/etc/rabbitmq/conf.d/")
    assert "replicas" in services["worker"]["deploy"]


def test_no_password_is_written_into_the_manifests():
    example = dict(line.split("=", 1) for line in (DEPLOY / ".env.example").read_text().splitlines()
                   if line.strip() and not line.startswith("#"))
    text = (DEPLOY / "compose.yaml").read_text()
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    assert used <= set(example), f"compose.yaml uses variables .env.example lacks: {used - set(example)}"
    secret_names = {name for name in used if "PASSWORD" in name or "COOKIE" in name}
    assert secret_names and all(example[name].startswith("DEMO") for name in secret_names), \
        ".env.example's passwords must be visibly demo values (DEMO...)"
    for name, rest in re.findall(r"\$\{([A-Z_][A-Z0-9_]*)([^}]*)\}", text):
        assert name not in secret_names or rest.startswith(":?"), \
            f"compose.yaml must refuse to start without {name} (${{{name}:?...}}), never fall back to a default"
    # Credentials in URLs come from a variable, never a literal.
    for url in re.findall(r"amqps?://[^\s\"']+", text):
        assert re.match(r"amqps?://[\w-]+:\$\{", url), f"a URL with a literal password in compose.yaml: {url}"
    for where, name, entry in container_environment():
        if not where.startswith("compose.yaml"):
            assert "amqp://" not in str(entry.get("value", "")), \
                f"{where}: {name} holds a broker URL in the manifest; take it from a Secret"
    (url,) = [e for e in worker_container()["env"] if e["name"] == "GRADELINE_AMQP_URL"]
    assert "secretKeyRef" in url["valueFrom"]
    assert "Secret" not in {d.get("kind") for _, d in k8s_documents()}, \
        "Secrets are made by hand (docs/operations.md), never committed"
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/.env"], cwd=ROOT)
    assert ignored.returncode == 0, "deploy/.env (the real passwords) must be ignored by git"


# ---------- shutdown: the grace periods cover the drain deadline


def test_the_grace_periods_cover_the_drain_deadline():
    deadline = setting("worker.shutdown_deadline_seconds", "shutdownDeadlineSeconds")
    # The worker exits within the deadline plus 2 s (docs/operations.md, "Shutdown and drain").
    needed = deadline + 2
    grace = deployment()["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > needed, f"terminationGracePeriodSeconds {grace} must exceed the drain deadline {deadline} + 2 s"
    stop = duration_seconds(compose()["services"]["worker"]["stop_grace_period"])
    assert stop > needed, f"compose's stop_grace_period {stop} s must exceed the drain deadline {deadline} + 2 s"
    assert any(i == "STOPSIGNAL SIGTERM" for i in dockerfile_stages()[-1])


def test_resources_fit_the_concurrency():
    container = worker_container()
    environment = {e["name"]: e.get("value") for e in container["env"]}
    concurrency = int(environment.get("GRADELINE_CONCURRENCY") or setting("worker.concurrency", "concurrency"))
    requests, limits = container["resources"]["requests"], container["resources"]["limits"]
    # Each pipeline process runs one job on one thread: a core each, and the supervisor beside.
    assert cpu_millicores(requests["cpu"]) >= 1000 * concurrency
    assert cpu_millicores(limits["cpu"]) >= cpu_millicores(requests["cpu"])
    assert memory_bytes(limits["memory"]) >= memory_bytes(requests["memory"])
    # A runaway job must meet the worker's own cap (a `memory_limit` answer for that job alone)
    # before the pod's limit (the kernel's OOM killer, which takes every job in the pod): the
    # caps of all pipeline processes and the idle supervisor (about 230 MiB) fit under it.
    cap = int(environment.get("GRADELINE_MAX_JOB_RSS_BYTES") or setting("worker.max_job_rss_bytes", "maxJobRSSBytes"))
    assert concurrency * cap + (256 << 20) <= memory_bytes(limits["memory"]), \
        f"{concurrency} jobs of max_job_rss_bytes {cap >> 20} MiB and the supervisor exceed the pod's memory limit"
    (budget,) = [d for d in k8s("PodDisruptionBudget") if d["metadata"]["name"] == "gradeline-worker"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= deployment()["spec"]["template"]["metadata"]["labels"].items()
    assert "replicas" not in deployment()["spec"], "KEDA sets the replicas; an applied count would fight it"
    (cluster,) = k8s("RabbitmqCluster")
    assert cluster["apiVersion"] == "rabbitmq.com/v1beta1" and cluster["spec"]["replicas"] == 3


# ---------- the image's packages are scripts/setup.sh's


def test_setup_sh_packages_are_all_accounted_for():
    packages = setup_sh_packages()
    unknown = packages - set(DEV_TO_RUNTIME) - set(NOT_FOR_THE_IMAGE)
    assert not unknown, (f"scripts/setup.sh installs {sorted(unknown)}, which deploy/Dockerfile does not account "
                         "for: add each to the build stage and its runtime package to the run stage, then to "
                         "DEV_TO_RUNTIME in this test")
    stale = (set(DEV_TO_RUNTIME) | set(NOT_FOR_THE_IMAGE)) - packages
    assert not stale, f"this test lists {sorted(stale)}, which scripts/setup.sh no longer installs"


def test_the_build_stage_installs_the_dev_packages_setup_sh_installs():
    build = apt_installs(dockerfile_stages()[0])
    wanted = setup_sh_packages() - set(NOT_FOR_THE_IMAGE)
    assert build == wanted, f"build stage: missing {sorted(wanted - build)}, extra {sorted(build - wanted)}"


def test_the_run_stage_installs_the_runtime_package_of_each():
    stages = dockerfile_stages()
    assert stages[-1][0].split()[1] == "debian:12-slim"
    run = apt_installs(stages[-1])
    wanted = {DEV_TO_RUNTIME[p] for p in setup_sh_packages() if DEV_TO_RUNTIME.get(p)} | set(EXTRA_RUNTIME)
    assert run == wanted, f"run stage: missing {sorted(wanted - run)}, extra {sorted(run - wanted)}"
    assert not {p for p in run if p.endswith("-dev")}, "no -dev package at run time"


def test_every_library_package_swift_links_is_in_the_run_stage():
    manifest = (ROOT / "Package.swift").read_text()
    libraries = set(re.findall(r'linkedLibrary\("([^"]+)"\)', manifest)) | set(re.findall(r'pkgConfig: "([^"]+)"', manifest))
    unknown = libraries - set(LIBRARY_PACKAGES)
    assert not unknown, f"Package.swift links {sorted(unknown)}; add its Debian runtime package to LIBRARY_PACKAGES and the Dockerfile"
    run = apt_installs(dockerfile_stages()[-1])
    assert {LIBRARY_PACKAGES[library] for library in libraries} <= run


def debian_dependencies(packages):
    """Each installed package's Depends and Pre-Depends, alternatives included, from dpkg.

    scripts/setup.sh installs the -dev packages, and with them their runtime packages.
    """
    done = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Depends}, ${Pre-Depends}\n", *sorted(packages)],
                          capture_output=True, text=True)
    assert done.returncode == 0, f"dpkg-query (are scripts/setup.sh's packages installed?): {done.stderr.strip()}"
    dependencies = {}
    for line in done.stdout.splitlines():
        package, depends = line.split("\t")
        names = (re.sub(r"\(.*?\)|:\w+", "", d).strip() for d in re.split(r"[,|]", depends))
        dependencies[package] = {name for name in names if name}
    return dependencies


def test_debian_says_each_runtime_package_is_its_dev_packages():
    # Debian 12 itself: the runtime package is a dependency of the -dev one, directly or through
    # a metapackage (libopenblas-dev -> libopenblas0 -> libopenblas0-pthread).
    pairs = {dev: runtime for dev, runtime in DEV_TO_RUNTIME.items() if runtime}
    direct = debian_dependencies(pairs)
    assert set(direct) == set(pairs), f"dpkg knows only {sorted(direct)} of {sorted(pairs)}"
    second = debian_dependencies({d for deps in direct.values() for d in deps if not d.endswith("-dev")})
    for dev, runtime in sorted(pairs.items()):
        reachable = direct[dev] | {d for first in direct[dev] for d in second.get(first, set())}
        assert runtime in reachable, f"Debian does not list {runtime} among {dev}'s dependencies ({sorted(direct[dev])})"
