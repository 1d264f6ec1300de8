"""scripts/system-deps.sh, the one list of Debian packages (Makefile and .ci/run call it), run against
stand-ins for dpkg-query, id and apt-get: as a user it prints the exact sudo command and stops; as root
it installs exactly what is missing; `demo` needs fewer packages than `test`."""

from __future__ import annotations

import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]
TEST_PACKAGES = ["chromium", "fonts-wqy-zenhei", "fonts-noto-cjk", "fonts-noto-color-emoji", "poppler-utils", "poppler-data"]


def _fake_bin(tmp: pathlib.Path, installed: list[str], uid: int) -> pathlib.Path:
    b = tmp / "bin"
    b.mkdir()
    scripts = {
        "dpkg-query": "#!/bin/sh\nfor p in " + " ".join(installed or ["none"]) + "; do [ \"$p\" = \"$3\" ] && printf 'install ok installed' && exit 0; done\nexit 1\n",
        "id": f"#!/bin/sh\necho {uid}\n",
        "apt-get": f"#!/bin/sh\necho \"$@\" >> {tmp / 'apt.log'}\n",
    }
    for name, body in scripts.items():
        (b / name).write_text(body)
        (b / name).chmod(0o755)
    return b


def _run(tmp: pathlib.Path, mode: str, installed: list[str], uid: int, cwd: pathlib.Path = ROOT, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{_fake_bin(tmp, installed, uid)}:{os.environ['PATH']}", **extra}
    env.pop("SKIP_SYSTEM_DEPS", None)
    return subprocess.run(["bash", str(ROOT / "scripts/system-deps.sh"), mode], cwd=cwd, env=env, capture_output=True, text=True)


def test_user_gets_the_exact_sudo_command(tmp_path: pathlib.Path) -> None:
    r = _run(tmp_path, "test", ["chromium", "fonts-noto-cjk"], uid=1000)
    assert r.returncode == 1
    want = [p for p in TEST_PACKAGES if p not in ("chromium", "fonts-noto-cjk")]
    assert f"sudo apt-get install -y --no-install-recommends {' '.join(want)}" in r.stderr
    assert "缺少系统软件包" in r.stderr and "missing system packages" in r.stderr
    assert not (tmp_path / "apt.log").exists()


def test_root_installs_only_what_is_missing(tmp_path: pathlib.Path) -> None:
    r = _run(tmp_path, "test", ["chromium", "poppler-utils", "poppler-data"], uid=0)
    assert r.returncode == 0, r.stderr
    log = (tmp_path / "apt.log").read_text().splitlines()
    assert log == ["update -qq", "install -y -qq --no-install-recommends fonts-wqy-zenhei fonts-noto-cjk fonts-noto-color-emoji"]


def test_nothing_missing_changes_nothing(tmp_path: pathlib.Path) -> None:
    r = _run(tmp_path, "test", TEST_PACKAGES, uid=1000)
    assert (r.returncode, r.stderr) == (0, "")


def test_demo_needs_no_font_and_only_hints_at_one(tmp_path: pathlib.Path) -> None:
    r = _run(tmp_path, "demo", [], uid=1000)
    assert r.returncode == 0, r.stderr  # PDFs work with the built-in font; .venv exists here, so python3-venv is not needed
    assert "fonts-wqy-zenhei" in r.stderr and "sudo" not in r.stderr


def test_python_without_venv_support_needs_python3_venv(tmp_path: pathlib.Path) -> None:
    fresh = tmp_path / "checkout"  # no .venv yet
    fresh.mkdir()
    no_ensurepip = tmp_path / "python3"
    no_ensurepip.write_text("#!/bin/sh\nexit 1\n")  # like Debian's python3 without python3-venv: `import ensurepip` fails
    no_ensurepip.chmod(0o755)
    r = _run(tmp_path, "demo", ["fonts-wqy-zenhei"], uid=1000, cwd=fresh, PY=str(no_ensurepip))
    assert r.returncode == 1 and "sudo apt-get install -y --no-install-recommends python3-venv\n" in r.stderr


def test_makefile_and_ci_use_the_script() -> None:
    make = (ROOT / "Makefile").read_text()
    ci = (ROOT / ".ci/run").read_text()
    assert "scripts/system-deps.sh" in make and "bash scripts/system-deps.sh test" in ci
    assert ci.rstrip().splitlines()[-1] == "make test"
    assert "apt-get" not in ci  # one list of packages, in the script
