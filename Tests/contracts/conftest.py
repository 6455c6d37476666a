import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def binaries():
    """The built executables; the test command builds them first."""
    folder = ROOT / os.environ.get("GRADELINE_BIN", ".build/debug")
    worker, producer = folder / "gradeline-worker", folder / "gradeline-producer"
    for exe in (worker, producer):
        assert exe.exists(), f"{exe} is missing: run swift build first"
    return worker, producer


@pytest.fixture(scope="session")
def schemas():
    folder = ROOT / "docs" / "schema"
    return {name: json.loads((folder / f"{name}.schema.json").read_text()) for name in ("job", "result")}


def run(*args, check=True):
    """Runs a command from the repository root and returns the completed process."""
    done = subprocess.run([str(a) for a in args], cwd=ROOT, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"{args} exited {done.returncode}: {done.stderr}")
    return done
