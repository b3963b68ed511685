"""Lay out the Kafka, Connect and Debezium jars with Maven, once, into the stack's cache.

The jars go to ``<cache>/jars-<hash>``, named by the hash of the Maven project: its poms and the
sources of scv's own Connect plugin (``scv-smt``, built and unit-tested in the same ``mvn
package``). While that folder is complete, ``up`` never calls Maven, so a warm start works
offline. A changed pom (a version bump) or transform resolves into a new folder, so a running
process never sees its jars replaced under it and no jar of an older version lingers on a new
class path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from stack.errors import JarResolutionFailed, PrerequisiteMissing
from stack.settings import StackSettings
from stack.versions import MAVEN_DIR

#: The folders the launcher reads, relative to the cache.
KAFKA_LIB = Path("kafka/lib")
PLUGINS = Path("plugins")
PLUGIN_DIRS = (
    PLUGINS / "debezium-postgres",
    PLUGINS / "debezium-mariadb",
    PLUGINS / "scv-smt",  # scv's own transforms (HashPii), built from stack/maven/scv-smt
)
#: Maven's own heap: resolving and one small compile fit easily, and the stack shares 2 cores.
MAVEN_OPTS = "-Xmx384m -XX:TieredStopAtLevel=1"


def _project_files() -> list[Path]:
    """Every file of the Maven project (poms, Java sources, resources), build output excluded."""
    return sorted(
        path
        for path in MAVEN_DIR.rglob("*")
        if path.is_file() and "target" not in path.relative_to(MAVEN_DIR).parts
    )


def _project_hash() -> str:
    digest = hashlib.sha256()
    for path in _project_files():
        digest.update(path.relative_to(MAVEN_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def jars_dir(settings: StackSettings) -> Path:
    """Where the jars of the current Maven project live (complete once ``jars.done`` exists)."""
    return settings.cache_dir / f"jars-{_project_hash()[:12]}"


def jars_ready(settings: StackSettings) -> bool:
    root = jars_dir(settings)
    return (root / "jars.done").exists() and all(
        any((root / d).glob("*.jar")) for d in (KAFKA_LIB, *PLUGIN_DIRS)
    )


def prune_stale(settings: StackSettings) -> None:
    """Delete jar folders of older Maven projects (call only while nothing of the stack runs)."""
    current = jars_dir(settings)
    for old in settings.cache_dir.glob("jars-*"):
        if old != current:
            shutil.rmtree(old, ignore_errors=True)


def ensure_jars(settings: StackSettings, on_artifact: Callable[[str], None]) -> bool:
    """Resolve the jars unless the cache is current. Returns True if Maven ran.

    ``on_artifact`` is called with the name of each artifact Maven downloads, for progress.
    """
    if jars_ready(settings):
        return False
    mvn = shutil.which("mvn")
    if mvn is None:
        raise PrerequisiteMissing("maven: `mvn` not found; install it (apt-get install maven)")
    root = jars_dir(settings)
    shutil.rmtree(root, ignore_errors=True)  # an interrupted earlier attempt
    log = settings.logs_dir / "maven.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = [mvn, "-B", "-f", str(MAVEN_DIR / "pom.xml"), "package", f"-Dscv.cache={root}"]
    env = {**os.environ, "MAVEN_OPTS": os.environ.get("MAVEN_OPTS") or MAVEN_OPTS}
    with (
        log.open("w") as out,
        subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        ) as proc,
    ):
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if "Downloaded from" in line:
                on_artifact(line.rsplit("/", 1)[-1].split(" ")[0])
        rc = proc.wait()
    if rc != 0:
        raise JarResolutionFailed(f"mvn exited with {rc}", log)
    (root / "jars.done").write_text(_project_hash() + "\n")
    return True
