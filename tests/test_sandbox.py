"""gnnrec_lite.grading.sandbox: what a submission's kernel sees, its limits, and a clear stop where none can start.

One real sandboxed kernel (through SafeExecute, as nbgrader runs it) probes
its surroundings from the inside and then runs into each limit; the other
tests look at the bubblewrap command and the messages without starting one.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import nbformat
import pytest

import gnnrec_lite as gl
from gnnrec_lite import grading
from gnnrec_lite.grading import results, sandbox
from gnnrec_lite.grading.execute import SafeExecute
from gnnrec_lite.grading.sandbox import Limits, Sandbox, SandboxUnavailable

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(gl.__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tools"))
import homework  # noqa: E402

sys.path.pop(0)


def _binds(cmd, kind):
    return {cmd[i + 2]: cmd[i + 1] for i, arg in enumerate(cmd) if arg == kind}


def test_the_command_binds_the_environment_read_only_and_nothing_of_the_course(tmp_path):
    submitted = tmp_path / "submitted" / "ada" / "hw1"
    submitted.mkdir(parents=True)
    (submitted / "hw1.ipynb").write_text("{}")
    (submitted / "notes.txt").write_text("mine")
    box = Sandbox(Limits(memory_mb=1000), submitted, name="hw1")
    try:
        cmd = box.command([sys.executable, "-m", "ipykernel_launcher", "-f", str(box.sockets / "kernel.json")])
        readonly, writable = _binds(cmd, "--ro-bind"), _binds(cmd, "--bind")
        assert {"--unshare-net", "--unshare-pid", "--die-with-parent", "--clearenv"} <= set(cmd)
        assert str(PACKAGE) in readonly and sys.prefix in readonly and readonly.get("/data/gnnrec")
        assert str(ROOT) not in readonly and not any(p.startswith(str(ROOT / "solutions")) for p in readonly)
        assert writable == {str(box.sockets): str(box.sockets), "/home/student/hw1": str(box.work)}
        assert sorted(p.name for p in box.work.iterdir()) == ["hw1.ipynb", "notes.txt"]  # the student's own folder
        spec = json.loads(cmd[cmd.index(sandbox.LAUNCHER) + 1])
        assert spec["limits"]["RLIMIT_AS"] == [1000 << 20, 1000 << 20] and spec["limits"]["RLIMIT_CORE"] == [0, 0]
        assert (spec["uid"] >= sandbox.UID_BASE) == (os.geteuid() == 0)
        env = {cmd[i + 1]: cmd[i + 2] for i, arg in enumerate(cmd) if arg == "--setenv"}
        assert env["GNNREC_DATA_DIR"] == "/data/gnnrec" and env["HOME"] == "/home/student"
        assert "SSH_AUTH_SOCK" not in env and "PYTHONPATH" not in env
    finally:
        box.cleanup()
    assert not box.root.exists()


def test_where_no_sandbox_can_start_grading_stops_and_says_what_to_do(monkeypatch):
    monkeypatch.setattr(sandbox, "BWRAP", "/nonexistent/bwrap")
    with pytest.raises(SandboxUnavailable, match=r"no bubblewrap.*make setup.*--no-sandbox"):
        sandbox.check()
    assert "CPU-time limit (900 s)" in sandbox.describe_exit(128 + 24)
    assert "exited with status 3" in sandbox.describe_exit(3)
    assert sandbox.limit_hit("MemoryError: ") == "memory" and sandbox.limit_hit("OSError: [Errno 27] File too large")


def test_make_autograde_stops_without_a_sandbox_unless_told(monkeypatch, tmp_path, capsys):
    course = grading.make_course(tmp_path, ["hw1"])
    monkeypatch.setattr(sandbox, "BWRAP", "/nonexistent/bwrap")
    assert homework.main(["autograde", "--course", str(course)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("autograde stopped: grading runs each submission in a sandbox") and "--no-sandbox" in err
    assert homework.main(["autograde", "--course", str(course), "--no-sandbox"]) == 0  # nothing submitted yet
    assert "nothing to grade" in capsys.readouterr().out


PROBE = '''
import json, os, socket
found = {"uid": os.getuid(), "cwd": os.getcwd(), "home": os.environ["HOME"], "top": sorted(os.listdir("/")),
         "repo": sorted(os.listdir(REPO)) if os.path.isdir(REPO) else None, "data": os.environ["GNNREC_DATA_DIR"],
         "own": sorted(os.listdir(".")), "pids": len([p for p in os.listdir("/proc") if p.isdigit()])}
for name, path in {"cwd": "x.txt", "home": os.path.expanduser("~/x"), "tmp": "/tmp/x", "venv": VENV + "/x",
                   "package": PACKAGE + "/x"}.items():
    try:
        open(path, "w").write("x")
        found["write_" + name] = True
    except OSError:
        found["write_" + name] = False
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=3)
    found["host_port"] = True
except OSError:
    found["host_port"] = False
print(json.dumps(found))
'''


@pytest.mark.slow
@pytest.mark.data
def test_a_sandboxed_kernel_sees_only_its_world_and_each_limit_is_reported(tmp_path):
    """Through SafeExecute: the probe's view, then memory, file size, processes and CPU time, each reported."""
    listener = socket.create_server(("127.0.0.1", 0))
    probe = (PROBE.replace("REPO", repr(str(ROOT))).replace("VENV", repr(sys.prefix))
             .replace("PACKAGE", repr(str(PACKAGE))).replace("PORT", str(listener.getsockname()[1])))
    cells = [probe, "import gnnrec_lite as gl\nprint(gl.load('ml-100k').num_users)",
             "x = bytearray(3_000_000_000)", "open('big.bin', 'wb').write(b'x' * 3_000_000)",
             "import subprocess\nchildren = [subprocess.Popen(['sleep', '30']) for _ in range(200)]",
             "while True:\n    pass", "print('not reached')"]
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    ex = SafeExecute(timeout=120, sandbox=True, memory_mb=2000, cpu_seconds=12, processes=64, file_mb=1)
    nb, _ = ex.preprocess(nb, {})
    listener.close()
    seen = json.loads(nb.cells[0].outputs[0].text)
    ours = {Path(p).parts[1] for p in (sys.prefix, sys.base_prefix, os.path.realpath(sys.base_prefix), PACKAGE)}
    assert set(seen["top"]) <= {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "proc", "dev", "tmp",
                                "home", "data", *ours}, seen["top"]
    assert set(seen["repo"] or []) <= {"gnnrec_lite", Path(sys.prefix).name}, seen["repo"]  # no solutions/, course/
    assert seen["cwd"] == "/home/student/work" and seen["home"] == "/home/student" and seen["data"] == "/data/gnnrec"
    assert seen["write_cwd"] and seen["write_home"] and seen["write_tmp"]
    assert not seen["write_venv"] and not seen["write_package"] and not seen["host_port"]
    assert seen["pids"] <= 3 and (seen["uid"] != 0 or os.geteuid() != 0)
    assert nb.cells[1].outputs[0].text.strip() == "943"
    notes = results.how_graded(nb)
    for limit in ("memory", "file size", "processes", "CPU time"):
        assert any(f"the sandbox's {limit} limit" in n for n in notes), (limit, notes)
    assert "CPU-time limit (12 s)" in nb.cells[5].outputs[-1].evalue
    assert nb.cells[6].outputs[0].ename == "KernelDied"
