"""A local Neo4j Community server, obtained from Maven Central and run as a background process.

Why not a tarball: Maven Central is the one place every user's machine (and CI) can reach, so the
server's jars come from there; `mvn dependency:copy-dependencies` resolves them into a cache folder
outside the repository, once per version.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from graph import upgrade
from graph.driver import bolt_ready
from graph.jdk import VECTOR_MODULE, Jdk, calendar_version, find_jdk, simd_off_note
from mindkb.errors import MindError
from mindkb.output import note
from mindkb.processes import alive
from mindkb.settings import Settings

SERVER_CLASSES = "org.neo4j.server."  # the entry point's package, in every version's command line
ENTRY_POINT_SERVICE = "META-INF/services/org.neo4j.server.startup.EntryPoint"
ADMIN_TOOL = "org.neo4j.cli.AdminTool"
COMPLETE_MARKER = ".complete"
# The home holds the store, auth.ini (the password's hash), logs with queries and the password
# file: owner only. The server and the admin tool run under this umask; `start` also takes
# group and other bits off whatever an older home holds.
PRIVATE_UMASK = 0o077
# The admin tool's arguments read from standard input: picocli, the tool's parser, expands an
# `@file` argument into the arguments in that file (in 5.26 and the calendar versions alike), so
# the password never appears on a command line, where every user of the machine could read it.
STDIN_ARGUMENTS = "@/dev/stdin"

JVM_OPTIONS = [
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dlog4j2.disable.jmx=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
]

# Lucene's SIMD vector code for calendar versions, when the chosen JDK has the module (graph/jdk.py).
CALENDAR_JVM_OPTIONS = [f"--add-modules={VECTOR_MODULE}"]


POM_TEMPLATE = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.mindkb</groupId>
  <artifactId>neo4j-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.neo4j.app</groupId><artifactId>neo4j-server</artifactId>
      <version>{version}</version>
    </dependency>
    <dependency>
      <groupId>org.neo4j</groupId><artifactId>neo4j</artifactId>
      <version>{version}</version>
    </dependency>
    <dependency>
      <groupId>org.neo4j.client</groupId><artifactId>neo4j-browser</artifactId>
      <version>{browser_version}</version>
    </dependency>
  </dependencies>
</project>
"""


@dataclass
class ServerStatus:
    running: bool
    pid: int | None
    bolt: str
    browser: str
    home: str
    version: str
    managed: bool  # started by `mind db start` (pid file points at a live Neo4j process)
    reused: bool = False
    log_file: str | None = None
    java: str | None = None  # the JDK a start chose (graph/jdk.py)
    simd: bool | None = None  # Lucene's SIMD vector code on (a calendar version on a JDK with the module)

    def as_dict(self) -> dict:
        return asdict(self)


_SIMD_NOTED: set[str] = set()


def java_error(output: str) -> str:
    """The line that says what went wrong in a Java tool's output (its last exception's message, not
    the stack trace's tail)."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    causes = [line for line in lines if "Exception" in line.split(":")[0] or line.startswith("Caused by:")]
    return (causes[-1] if causes else lines[-1] if lines else "?")[:500]


class LocalNeo4j:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.home = settings.neo4j_home
        self.conf_dir = self.home / "conf"
        self.pid_file = self.home / "run" / "mind-neo4j.pid"
        self.log_file = self.home / "logs" / "console.log"
        self._jdk: Jdk | None = None

    # --- prerequisites ----------------------------------------------------------------------
    def jdk(self) -> Jdk:
        """The JDK for this version (graph/jdk.py), chosen once per launcher."""
        if self._jdk is None:
            self._jdk = find_jdk(self.settings)
        return self._jdk

    def java(self) -> str:
        return self.jdk().java

    @staticmethod
    def maven() -> str:
        mvn = shutil.which("mvn")
        if not mvn:
            raise MindError(
                "Maven (mvn) is required to fetch Neo4j from Maven Central and was not found "
                "(install maven, or use `docker compose up`, or set NEO4J_URI to an existing server)"
            )
        return mvn

    # --- jars -------------------------------------------------------------------------------
    def ensure_jars(self) -> Path:
        lib = self.settings.neo4j_lib_dir
        if (lib / COMPLETE_MARKER).exists():
            return lib
        mvn = self.maven()
        work = lib.parent
        work.mkdir(parents=True, exist_ok=True)
        (work / "pom.xml").write_text(
            POM_TEMPLATE.format(
                version=self.settings.neo4j_version,
                browser_version=self.settings.neo4j_browser_version,
            )
        )
        staging = work / "lib.partial"
        shutil.rmtree(staging, ignore_errors=True)
        proc = subprocess.run(
            [mvn, "-B", "-q", "-f", str(work / "pom.xml"), "dependency:copy-dependencies",
             f"-DoutputDirectory={staging}", "-DincludeScope=runtime"],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
            raise MindError(f"Maven could not fetch Neo4j {self.settings.neo4j_version}: {tail[0]}")
        shutil.rmtree(lib, ignore_errors=True)
        staging.rename(lib)
        (lib / COMPLETE_MARKER).write_text(self.settings.neo4j_version)
        return lib

    def jvm_options(self) -> list[str]:
        """For the server and the admin tool alike."""
        return JVM_OPTIONS + self.temp_options() + (CALENDAR_JVM_OPTIONS if self.simd() else [])

    def temp_options(self) -> list[str]:
        """The JVM's scratch files (Jetty's unpacked Browser, log4j's configs) in the home, not /tmp, and
        no perf-data file: a server and its tools leave nothing outside their home."""
        tmp = self.home / "tmp"
        tmp.mkdir(mode=0o700, parents=True, exist_ok=True)
        return [f"-Djava.io.tmpdir={tmp}", "-XX:-UsePerfData"]

    def simd(self) -> bool:
        """Lucene's SIMD vector code: a calendar version on a JDK that has the vector module."""
        return calendar_version(self.settings.neo4j_version) and self.jdk().vector

    def _note_simd_off(self) -> None:
        """Said once per process and JDK: a server on a JDK without the vector module."""
        jdk = self.jdk()
        if calendar_version(self.settings.neo4j_version) and not jdk.vector and jdk.java not in _SIMD_NOTED:
            _SIMD_NOTED.add(jdk.java)
            note(simd_off_note(jdk))

    def entry_point(self, lib: Path) -> str:
        """The server's main class, as the version's own jar names it (it changed in 2025.x)."""
        jar = lib / f"neo4j-{self.settings.neo4j_version}.jar"
        try:
            with zipfile.ZipFile(jar) as zf:
                names = zf.read(ENTRY_POINT_SERVICE).decode().split()
        except (OSError, KeyError, zipfile.BadZipFile) as exc:
            raise MindError(f"cannot find the Neo4j entry point in {jar}: {exc}") from None
        community = [n for n in names if "Community" in n] or names
        if not community:
            raise MindError(f"{jar} names no Neo4j entry point")
        return community[0]

    # --- configuration ---------------------------------------------------------------------
    def prepare_home(self) -> None:
        """The home and its folders, owner only; an existing home's files lose group and other bits."""
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        for sub in ("conf", "data", "logs", "run", "plugins", "import"):
            (self.home / sub).mkdir(exist_ok=True, mode=0o700)
        make_private(self.home)

    def write_conf(self) -> Path:
        s = self.settings
        self.prepare_home()
        conf = "\n".join(
            [
                "# Written by `mind db start`; edits are overwritten on the next start.",
                f"server.directories.data={self.home / 'data'}",
                f"server.directories.logs={self.home / 'logs'}",
                f"server.directories.run={self.home / 'run'}",
                f"server.directories.plugins={self.home / 'plugins'}",
                f"server.directories.import={self.home / 'import'}",
                "server.default_listen_address=127.0.0.1",
                f"server.bolt.listen_address=127.0.0.1:{s.neo4j_bolt_port}",
                f"server.bolt.advertised_address=localhost:{s.neo4j_bolt_port}",
                f"server.http.listen_address=127.0.0.1:{s.neo4j_http_port}",
                f"server.http.advertised_address=localhost:{s.neo4j_http_port}",
                "server.https.enabled=false",
                f"server.memory.heap.initial_size={s.neo4j_heap}",
                f"server.memory.heap.max_size={s.neo4j_heap}",
                f"server.memory.pagecache.size={s.neo4j_pagecache}",
                "dbms.security.auth_enabled=true",
                "dbms.usage_report.enabled=false",
                "dbms.transaction.timeout=0",
                "db.tx_log.rotation.retention_policy=2 days",
                # Vector indexes: fewer, larger Lucene segments (see Settings.neo4j_vector_merge_factor).
                f"internal.dbms.index.vector.standard_merge_factor={s.neo4j_vector_merge_factor}",
                *([f"internal.dbms.index.vector.population_ram_buffer_size={s.neo4j_vector_population_buffer_mb:g}"]
                  if s.neo4j_vector_population_buffer_mb else []),
                "",
            ]
        )
        path = self.conf_dir / "neo4j.conf"
        write_private(path, conf)
        return path

    def _ensure_password(self, java: str, lib: Path) -> None:
        """Set the initial password before the first start; remembered in a 0600 file."""
        pw_file = self.settings.local_password_file
        if (self.home / "data" / "dbms" / "auth.ini").exists() and pw_file.exists():
            return
        if self.settings.neo4j_password is not None:
            password = self.settings.neo4j_password.get_secret_value()
        elif pw_file.exists():
            password = pw_file.read_text().strip()
        else:
            password = secrets.token_urlsafe(18)
        if len(password) < 8:
            raise MindError("NEO4J_PASSWORD must have at least 8 characters for a new local server")
        if not Path(STDIN_ARGUMENTS[1:]).exists():
            raise MindError(f"cannot pass the initial password to neo4j-admin: {STDIN_ARGUMENTS[1:]} is missing")
        env = dict(os.environ, NEO4J_HOME=str(self.home), NEO4J_CONF=str(self.conf_dir))
        proc = subprocess.run(
            # file.encoding: picocli reads the arguments in the JVM's charset, which the C locale makes ASCII.
            [java, "-Dfile.encoding=UTF-8", *self.temp_options(), "-cp", f"{lib}/*", ADMIN_TOOL, "dbms", "set-initial-password",
             STDIN_ARGUMENTS],
            input=password_arguments(password).encode("utf-8"), capture_output=True, env=env, umask=PRIVATE_UMASK,
        )
        if proc.returncode != 0:
            out = (proc.stderr or proc.stdout).decode("utf-8", "replace")
            raise MindError("could not set the initial Neo4j password: " + java_error(out))
        write_private(pw_file, password + "\n")

    # --- process ----------------------------------------------------------------------------
    def _read_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _is_our_neo4j(pid, self.home) else None

    def _port_open(self, port: int) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    def status(self) -> ServerStatus:
        pid = self._read_pid()
        bolt_up = self._port_open(self.settings.neo4j_bolt_port)
        return ServerStatus(
            running=bool(pid) and bolt_up,
            pid=pid,
            bolt=f"bolt://localhost:{self.settings.neo4j_bolt_port}",
            browser=f"http://localhost:{self.settings.neo4j_http_port}/browser/",
            home=str(self.home),
            # a running server: the version that started it (an older home's may differ until upgraded)
            version=(pid and upgrade.recorded_version(self.home)) or self.settings.neo4j_version,
            managed=bool(pid),
            log_file=str(self.log_file),
        )

    def start(self) -> ServerStatus:
        current = self.status()
        if current.pid:
            self._wait_until_ready(current.pid)
            current = self.status()
            current.reused = True
            return current
        for port in (self.settings.neo4j_bolt_port, self.settings.neo4j_http_port):
            if self._port_open(port):
                raise MindError(
                    f"port {port} is already in use by a process `mind db start` did not start "
                    "(stop it, or choose MIND_NEO4J_BOLT_PORT / MIND_NEO4J_HTTP_PORT)"
                )
        java = self.java()
        lib = self.ensure_jars()
        self.write_conf()
        upgrade.prepare_home(self)  # a store of an older version: dumped beside the home first
        self._ensure_password(java, lib)
        self._note_simd_off()
        heap = self.settings.neo4j_heap
        cmd = [
            java, f"-Xms{heap}", f"-Xmx{heap}", *self.jvm_options(),
            "-cp", f"{lib}/*", self.entry_point(lib),
            f"--home-dir={self.home}", f"--config-dir={self.conf_dir}",
        ]
        with os.fdopen(os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=self.home, umask=PRIVATE_UMASK,
                env=dict(os.environ, NEO4J_HOME=str(self.home), NEO4J_CONF=str(self.conf_dir)),
            )
        write_private(self.pid_file, str(proc.pid))
        self._wait_until_ready(proc.pid)
        upgrade.record_version(self.home, self.settings.neo4j_version)
        status = self.status()
        status.java, status.simd = self.jdk().describe(), self.simd()
        return status

    def _wait_until_ready(self, pid: int) -> None:
        deadline = time.monotonic() + self.settings.neo4j_start_timeout
        while time.monotonic() < deadline:
            if not alive(pid):
                raise MindError(f"Neo4j exited during start-up; see {self._last_log_line()}")
            if self._port_open(self.settings.neo4j_bolt_port) and bolt_ready(self.settings):
                return
            time.sleep(0.5)
        raise MindError(
            f"Neo4j did not answer on Bolt within {self.settings.neo4j_start_timeout:.0f}s; "
            f"see {self.log_file}"
        )

    def _last_log_line(self) -> str:
        try:
            lines = [line for line in self.log_file.read_text(errors="replace").splitlines() if line.strip()]
        except FileNotFoundError:
            return str(self.log_file)
        last = next((line for line in reversed(lines) if "ERROR" in line or "Exception" in line), lines[-1] if lines else "")
        return f"{self.log_file}: {last.strip()[:300]}"

    def stop(self, timeout: float = 60.0) -> ServerStatus:
        pid = self._read_pid()
        if pid:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
                while alive(pid):
                    time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)
        status = self.status()
        status.pid = pid
        return status


def _is_our_neo4j(pid: int, home: Path) -> bool:
    """Only a live Neo4j of this home folder counts, so a recycled pid is never killed."""
    if not alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        return False
    return SERVER_CLASSES in cmdline and f"--home-dir={home}" in cmdline


def password_arguments(password: str) -> str:
    """The admin tool's argument file for `password`: after `--` (a password may start with a dash),
    one quoted argument, with the escapes picocli's tokenizer reads (backslash, quote, line ends)."""
    quoted = (password.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r"))
    return f'-- "{quoted}"\n'


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text`, readable by its owner only (also when it existed with more)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def make_private(root: Path) -> int:
    """Takes group and other permission bits off `root` and everything under it that this user owns
    (links are left alone); returns how many entries changed."""
    changed = 0
    uid = os.getuid()
    for folder, dirs, files in os.walk(root):
        for path in [folder, *(os.path.join(folder, name) for name in dirs + files)]:
            try:
                st = os.lstat(path)
            except FileNotFoundError:  # the running server removed it meanwhile
                continue
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode) or st.st_uid != uid or not mode & 0o077:
                continue
            os.chmod(path, mode & ~0o077)
            changed += 1
    return changed
