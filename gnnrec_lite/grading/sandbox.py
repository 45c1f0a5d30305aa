"""A submission's kernel inside a bubblewrap sandbox, with limits on memory, CPU time, processes and files.

Introduced with the homework (``course/README.md``, "What a submission sees").
nbgrader starts one kernel per submission; :class:`SandboxedKernelManager`
starts it as ``bwrap ... python -c LAUNCHER ... ipykernel``, and the kernel
sees only this:

* ``/usr``, ``/etc`` and the ``/bin``, ``/lib*`` links, read-only; a new
  ``/proc`` and ``/dev``;
* the Python installation, the virtual environment and the ``gnnrec_lite``
  package folder, read-only, at their own paths (not the repository around
  the package: no ``solutions/``, no ``course/``);
* a copy of the MovieLens-100K cache, read-only, at ``/data/gnnrec``
  (``GNNREC_DATA_DIR``);
* ``/home/student`` (``HOME``) with ``/home/student/hwN``, a throwaway copy of
  the student's own submitted folder and the working directory; a private
  ``/tmp``;
* the folder holding the kernel's connection file and its ``ipc`` sockets,
  at its own path: the only line to nbgrader.

It runs without network (``--unshare-net``), with its own process ids,
IPC and host name, without capabilities and, when grading as root, as a user
id of its own. The launcher sets the limits with ``setrlimit`` before the
kernel starts (:class:`Limits`); :func:`describe_exit` and
:func:`limit_hit` say which one a submission hit.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from ..datasets.cache import data_home

BWRAP = os.environ.get("GNNREC_BWRAP", "bwrap")  # the bubblewrap binary (tests point it elsewhere)
UID_BASE = 1_900_000_000  # as root, a sandbox runs as UID_BASE + (grader's pid mod 10**6): no other process has it
HOME = "/home/student"
DATA = "/data/gnnrec"
DATASETS = ("ml-100k",)  # the cached datasets a homework may load
SETUP_HINT = ("run `make setup` (tools/provision.sh installs Debian's bubblewrap), or grade without a sandbox "
              "with --no-sandbox (every result then says so)")

# Runs inside the sandbox with -I -S (no site-packages): limits, then an unprivileged user, then the kernel.
LAUNCHER = r"""
import ctypes, json, os, resource, sys
spec = json.loads(sys.argv[1])
for name, (soft, hard) in spec["limits"].items():
    resource.setrlimit(getattr(resource, name), (soft, hard))
if os.getuid() == 0 and spec["uid"]:
    os.setgroups([]); os.setgid(spec["uid"]); os.setuid(spec["uid"])
ctypes.CDLL(None).prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS: no setuid programs
os.execv(sys.argv[2], sys.argv[2:])
"""


@dataclass(frozen=True)
class Limits:
    """What one submission's kernel may use. A limit hit is reported, and the notebook is graded as far as it got."""

    memory_mb: int = 4096  # address space (RLIMIT_AS): beyond it an allocation fails with MemoryError
    cpu_seconds: int = 900  # CPU time (RLIMIT_CPU): the kernel is stopped with SIGXCPU
    processes: int = 128  # processes and threads of the sandbox's user (RLIMIT_NPROC)
    file_mb: int = 64  # largest file it may write (RLIMIT_FSIZE): "File too large"

    def rlimits(self) -> dict:
        mb = 1 << 20
        return {"RLIMIT_AS": (self.memory_mb * mb,) * 2, "RLIMIT_CPU": (self.cpu_seconds, self.cpu_seconds + 5),
                "RLIMIT_NPROC": (self.processes,) * 2, "RLIMIT_FSIZE": (self.file_mb * mb,) * 2, "RLIMIT_CORE": (0, 0)}


class SandboxUnavailable(RuntimeError):
    """No sandbox can start on this machine (no bubblewrap, no user namespaces, not Linux)."""


@functools.cache
def _probe(bwrap: str) -> str:
    """'' when a minimal sandbox starts here, else why not."""
    if sys.platform != "linux":
        return f"bubblewrap needs Linux, this is {sys.platform}"
    path = shutil.which(bwrap)
    if path is None:
        return f"no bubblewrap: `{bwrap}` is not on PATH"
    cmd = [path, "--unshare-net", "--unshare-pid", *_system_binds(), "--proc", "/proc", "--dev", "/dev", "true"]
    if os.geteuid() != 0:
        cmd.insert(1, "--unshare-user")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return "" if proc.returncode == 0 else f"`{bwrap}` cannot start a sandbox here: {proc.stderr.strip()[:300]}"


def check() -> None:
    """Raise :class:`SandboxUnavailable`, with what to do, unless a sandbox can start here."""
    why = _probe(BWRAP)
    if why:
        raise SandboxUnavailable(f"grading runs each submission in a sandbox, but {why}; {SETUP_HINT}")


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return args


def _readonly_paths() -> list[str]:
    """The Python installation, the environment and the package folder (never the repository around it)."""
    import gnnrec_lite

    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix,
             os.path.dirname(os.path.realpath(sys.executable)), os.path.dirname(os.path.realpath(gnnrec_lite.__file__))}
    return sorted(p for p in paths if not p.startswith(("/usr/", "/etc/")))


@functools.cache
def _data_copy() -> str | None:
    """A readable copy of the cached datasets the homework loads (the cache itself may be private to its owner)."""
    found = [data_home() / name for name in DATASETS if (data_home() / name / "manifest.json").is_file()]
    if not found:
        return None
    root = Path(tempfile.mkdtemp(prefix="gnnrec-sandbox-data-"))
    atexit.register(shutil.rmtree, root, True)
    for folder in found:
        shutil.copytree(folder, root / folder.name)
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return str(root)


class Sandbox:
    """One kernel's sandbox: its folders on this machine and the bwrap command around the kernel.

    Args:
        limits (Limits): what the kernel may use.
        submission: the student's submitted folder; a copy becomes the working directory (``None``: empty).
        name (str): the working directory's name under ``/home/student``.
    """

    def __init__(self, limits: Limits = Limits(), submission=None, name: str = "work") -> None:
        self.limits, self.name = limits, name
        self.root = Path(tempfile.mkdtemp(prefix="gnnrec-sandbox-"))
        self.sockets, self.work = self.root / "sockets", self.root / "work"
        self.sockets.mkdir()
        if submission is not None and Path(submission).is_dir():
            shutil.copytree(submission, self.work, symlinks=True)  # a link stays a link: never the grader's file
        else:
            self.work.mkdir()
        self.uid = UID_BASE + os.getpid() % 1_000_000 if os.geteuid() == 0 else 0
        self.root.chmod(0o755)
        for path in [self.sockets, self.work, *self.work.rglob("*")]:
            self.give(path)

    def give(self, path) -> None:
        """Hand a file or folder on this machine to the sandbox's user (root only; otherwise it is ours already)."""
        if self.uid:
            os.chown(path, self.uid, self.uid, follow_symlinks=False)

    def command(self, kernel_cmd: list[str]) -> list[str]:
        """``kernel_cmd`` wrapped: bwrap, the launcher (limits, user), then the kernel."""
        cwd = f"{HOME}/{self.name}"
        args = [shutil.which(BWRAP) or BWRAP, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try", "--hostname", "sandbox", "--die-with-parent", *_system_binds(),
                "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp",
                "--perms", "0755", "--dir", "/home", "--perms", "1777", "--tmpfs", HOME]
        if os.geteuid() == 0:  # the launcher needs these two to become the sandbox's user; then it has none
            args[1:1] = ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            args[1:1] = ["--unshare-user", "--disable-userns"]
        made = {"/", "/tmp", "/home", HOME, "/usr", "/etc"}
        for path in _readonly_paths():
            args += _parents(path, made) + ["--ro-bind", path, path]
        data = _data_copy()
        if data:
            args += _parents(DATA, made) + ["--ro-bind", data, DATA]
        args += _parents(str(self.sockets), made) + ["--bind", str(self.sockets), str(self.sockets)]
        args += ["--bind", str(self.work), cwd, "--clearenv", "--chdir", cwd]
        for key, value in self.environment().items():
            args += ["--setenv", key, value]
        spec = json.dumps({"limits": self.limits.rlimits(), "uid": self.uid})
        return args + ["--", sys.executable, "-I", "-S", "-c", LAUNCHER, spec, *kernel_cmd]

    def environment(self) -> dict:
        threads = {k: "1" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
        return {"HOME": HOME, "PATH": f"{sys.prefix}/bin:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
                "TMPDIR": "/tmp", "GNNREC_DATA_DIR": DATA, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1",
                "JUPYTER_PLATFORM_DIRS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1", **threads}

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _parents(path: str, made: set) -> list[str]:
    """bwrap arguments that create the folders above ``path`` (readable by all; bwrap's own would be 0700)."""
    args = []
    parts = Path(path).parts
    for i in range(2, len(parts)):
        folder = str(Path(*parts[:i]))
        if folder not in made:
            made.add(folder)
            args += ["--perms", "0755", "--dir", folder]
    return args


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts its kernel inside ``self.sandbox`` (a :class:`Sandbox`; ``None``: as usual).

    Interrupts travel as messages: a signal would reach bwrap, not the kernel.
    """

    sandbox: Sandbox | None = None

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self.sandbox is not None:
            self.kernel_spec.interrupt_mode = "message"
            self.sandbox.give(self.connection_file)
            kernel_cmd = self.sandbox.command(list(kernel_cmd))
            kw["env"] = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}  # for bwrap itself; the kernel gets its own
            kw["stdout"] = subprocess.DEVNULL  # ipykernel's start-up notes; errors still reach stderr
        return await super()._async_launch_kernel(kernel_cmd, **kw)

    def exit_code(self) -> int | None:
        process = getattr(self.provisioner, "process", None)
        return None if process is None else process.poll()


def describe_exit(code: int | None, limits: Limits | None = None) -> str:
    """Why a sandboxed kernel ended, from its exit status (bwrap reports a signal as 128 + its number)."""
    limits = limits or Limits()
    if code is None:
        return "it stopped answering"
    signum = code - 128 if code > 128 else -code if code < 0 else 0
    if signum == signal.SIGXCPU:
        return f"it hit the CPU-time limit ({limits.cpu_seconds} s)"
    if signum == signal.SIGKILL:
        return "it was killed (the CPU-time limit, or the machine ran out of memory)"
    if signum == signal.SIGSEGV:
        return "it crashed (segmentation fault)"
    if signum:
        return f"it was stopped by signal {signal.Signals(signum).name}" if signum in signal.valid_signals() \
            else f"it ended with status {code}"
    return f"it exited with status {code} (os._exit, or a crash)"


LIMIT_SIGNS = {  # what a cell's error says when a limit was hit -> which one
    "memory": ("MemoryError", "can't allocate memory", "Cannot allocate memory", "DefaultCPUAllocator"),
    "file size": ("File too large", "[Errno 27]"),
    "processes": ("Resource temporarily unavailable", "can't start new thread", "[Errno 11]"),
    "CPU time": ("CPU-time limit",),
}


def limit_hit(text: str) -> str | None:
    """Which limit an error message shows was hit, or None."""
    return next((name for name, signs in LIMIT_SIGNS.items() if any(s in text for s in signs)), None)
