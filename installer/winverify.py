"""``installer/verify``: install, run, upgrade and uninstall what ``installer/build`` made.

    installer/verify [--windows-only | --linux-only]

Windows (under Wine, a fresh prefix in ``build/wine-prefix``, no display):

1. ``setup.exe /S``; the program files, the launchers, the Start-menu shortcuts,
   the configuration in ProgramData and the Add/Remove Programs entry are there.
2. The installed ``dispatcher-hmi.exe -platform offscreen --smoke-test`` against a
   ``dispatcher-sim`` running on the Linux side over loopback: exit 0 and its line.
3. The configuration is edited, ``setup.exe /S`` again (an upgrade in place): the
   edit is kept and the smoke test passes again.
4. ``uninstall.exe /S``: the program folder, the shortcuts and the registry entry
   are gone; the site's configuration is kept.

Wine's own exit status proves little (a 32-bit stub that fails still exits 0),
so every step is judged by the files, the registry and the program's output.

Linux: the bundle is unpacked and its ``dispatcher-hmi --smoke-test`` runs
against the bundle's own ``dispatcher-sim``.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common import (
    BUILD,
    PRODUCT,
    PRODUCT_ID,
    ROOT,
    ensure_debs,
    installer_path,
    linux_bundle_path,
    report_times,
    run,
    say,
    timed,
    tools_python,
    version,
)

PREFIX = BUILD / "wine-prefix"
DRIVE_C = PREFIX / "drive_c"
INSTDIR = DRIVE_C / "Program Files" / PRODUCT
WIN_INSTDIR = f"C:\\Program Files\\{PRODUCT}"
CONFIG_DIR = DRIVE_C / "ProgramData" / PRODUCT_ID
START_MENU = DRIVE_C / "ProgramData" / "Microsoft" / "Windows" / "Start Menu" / "Programs" / PRODUCT
UNINSTALL_KEY = f"[Software\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Uninstall\\\\{PRODUCT_ID}]"
EDIT_MARK = "# edited on site (installer/verify)"

#: What an installed copy must hold (relative to the install folder).
INSTALLED_FILES = [
    "uninstall.exe",
    "Dispatcher_HMI.launch.pyw",
    "Dispatcher_HMI_demo.launch.pyw",
    "Python/python.exe",
    "Python/pythonw.exe",
    "Python/python311.dll",
    "bin/dispatcher-hmi.exe",
    "bin/dispatcher-sim.exe",
    "bin/dispatcher-cli.exe",
    "pkgs/ui/main.py",
    "pkgs/app/paths.py",
    "pkgs/PySide6/Qt6Core.dll",
    "pkgs/PySide6/plugins/platforms/qwindows.dll",
    "pkgs/PySide6/plugins/platforms/qoffscreen.dll",
    "pkgs/PySide6/translations/qtbase_zh_CN.qm",
    "pkgs/resources/lines/demo-line.yaml",
    "pkgs/resources/config/workstation.yaml",
]
SHORTCUTS = [
    f"{PRODUCT}.lnk",
    f"{PRODUCT} demo.lnk",
    "Configuration folder.lnk",
    f"Uninstall {PRODUCT}.lnk",
]


def shipped_resources() -> list[str]:
    """Every file of ``resources/`` the installer carries (all but scripts): line files,
    configuration, and the bundled fonts and translations when the project has them."""
    base = ROOT / "resources"
    return sorted(
        f"pkgs/resources/{p.relative_to(base).as_posix()}"
        for p in base.rglob("*")
        if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts
    )


def wine_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QT_", "DISPLAY", "WAYLAND"))}
    env.update(
        WINEPREFIX=str(PREFIX),
        WINEARCH="win64",
        WINEDEBUG="-all",
        # No Mono or Gecko install prompts (there is no display, nor the internet).
        WINEDLLOVERRIDES="mscoree=;mshtml=",
    )
    return env


def wine(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """One Windows program under Wine, then wait for every process of the prefix."""
    # Wine hands a Windows program invalid standard handles for a closed stdin or a
    # regular file (CPython then dies in init_sys_streams); /dev/null and pipes work.
    res = run(
        ["wine", *args],
        env=wine_env(),
        quiet=True,
        check=False,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    run(["wineserver", "-w"], env=wine_env(), timeout=timeout)
    return res


def fail(text: str, res: subprocess.CompletedProcess[str] | None = None) -> None:
    if res is not None:
        sys.stderr.write(f"--- stdout\n{res.stdout}\n--- stderr\n{res.stderr}\n")
    raise SystemExit(f"[verify] FAILED: {text}")


def missing(base: Path, names: list[str]) -> list[str]:
    return [n for n in names if not (base / n).is_file()]


def uninstall_entry() -> str | None:
    """The Add/Remove Programs key's text in Wine's HKLM hive, or None."""
    hive = (PREFIX / "system.reg").read_text(encoding="utf-8", errors="replace")
    start = hive.find(UNINSTALL_KEY)
    if start < 0:
        return None
    end = hive.find("\n[", start + 1)
    return hive[start : end if end > 0 else len(hive)]


@contextmanager
def simulator(command: list[str], env: dict[str, str] | None = None) -> Iterator[str]:
    """A simulator child on loopback; yields its ``HOST:PORT``."""
    log = BUILD / "verify-simulator.log"
    log_file = log.open("w", encoding="utf-8")
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log_file, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    out = proc.stdout

    def drain() -> None:
        for ln in out:
            lines.put(ln)

    threading.Thread(target=drain, daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                log_file.flush()
                sys.stderr.write(log.read_text(encoding="utf-8", errors="replace")[-3000:])
                fail(f"simulator not ready: {' '.join(command)}")
            if line.startswith("READY "):
                host, port = json.loads(line[6:])["tcp"][0]
                say(f"simulator ready on {host}:{port}")
                yield f"{host}:{port}"
                return
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log_file.close()


def linux_simulator() -> list[str]:
    line = ROOT / "resources" / "lines" / "demo-line.yaml"
    return [
        str(tools_python()),
        "-m",
        "app.counterparts.sim",
        "--line",
        str(line),
        "--listen",
        "127.0.0.1:0",
    ]


def smoke_windows(server: str) -> str:
    res = wine(
        f"{WIN_INSTDIR}\\bin\\dispatcher-hmi.exe",
        "-platform",
        "offscreen",
        "--smoke-test",
        "--server",
        server,
        timeout=240,
    )
    if res.returncode != 0 or "smoke test ok" not in res.stdout:
        fail(f"the installed HMI's smoke test (status {res.returncode})", res)
    line = next(ln for ln in res.stdout.splitlines() if "smoke test ok" in ln)
    say(line)
    if f"dispatcher-hmi {version()}:" not in line:
        fail(f"the installed program is not version {version()}", res)
    if "C:\\ProgramData\\DispatcherHMI\\config\\workstation.yaml" not in line:
        fail("the installed program did not read the configuration in ProgramData", res)
    return line


def demo_windows() -> None:
    """The demo shortcut's own command (pythonw.exe and its launcher), offscreen, with a
    screenshot: the embedded simulator pair runs as Windows child processes."""
    shot = DRIVE_C / "demo.png"
    shot.unlink(missing_ok=True)
    res = wine(
        f"{WIN_INSTDIR}\\Python\\pythonw.exe",
        f"{WIN_INSTDIR}\\Dispatcher_HMI_demo.launch.pyw",
        "-platform",
        "offscreen",
        "--quit-after",
        "8",
        "--screenshot",
        "C:\\demo.png",
        timeout=240,
    )
    logs = list((DRIVE_C / "users").glob("*/AppData/Roaming/Dispatcher_HMI_demo.launch.pyw.log"))
    log = logs[0].read_text(encoding="utf-8", errors="replace") if logs else ""
    if "simulator ready" not in log or not shot.is_file():
        sys.stderr.write(log[-3000:])
        fail("the demo shortcut's command did not start its simulator or save a screenshot", res)
    say(f"demo: simulator pair started, screenshot {shot.stat().st_size} bytes")


def verify_windows(times: dict[str, float]) -> None:
    setup = installer_path()
    if not setup.is_file():
        fail(f"{setup} not found: run installer/build first")
    ensure_debs(["wine", "wine64"])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with timed("fresh Wine prefix", times):
        shutil.rmtree(PREFIX, ignore_errors=True)
        wine("wineboot", "--init")
        if not (DRIVE_C / "windows" / "system32").is_dir():
            fail("wineboot made no prefix")
        # No Z: drive (Wine maps it to /): nothing Windows-side sees the Linux files,
        # and no tool that walks build/ (setuptools' package search...) wanders into /.
        (PREFIX / "dosdevices" / "z:").unlink(missing_ok=True)
        shutil.copy2(setup, DRIVE_C / setup.name)
    with timed("silent install", times):
        wine(f"C:\\{setup.name}", "/S")
        if lost := missing(INSTDIR, INSTALLED_FILES + shipped_resources()):
            fail(f"not installed: {', '.join(lost)}")
        if lost := missing(START_MENU, SHORTCUTS):
            fail(f"no shortcut: {', '.join(lost)}")
        kept = ["config/workstation.yaml", "lines/demo-line.yaml", "timetables/demo-weekday.yaml"]
        if lost := missing(CONFIG_DIR, kept):
            fail(f"no configuration in ProgramData: {', '.join(lost)}")
        entry = uninstall_entry()
        if entry is None or f'"DisplayVersion"="{version()}"' not in entry:
            fail(f"no Add/Remove Programs entry for version {version()}: {entry}")
        checked = len(INSTALLED_FILES) + len(shipped_resources())
        say(f"installed: {checked} files checked, {len(SHORTCUTS)} shortcuts")
    with timed("demo shortcut (simulator pair as Windows children)", times):
        demo_windows()
    with simulator(linux_simulator(), env) as server:
        with timed("smoke test (installed)", times):
            smoke_windows(server)
        config = CONFIG_DIR / "config" / "workstation.yaml"
        config.write_text(config.read_text(encoding="utf-8") + EDIT_MARK + "\n", encoding="utf-8")
        with timed("silent install over it", times):
            wine(f"C:\\{setup.name}", "/S")
            if EDIT_MARK not in config.read_text(encoding="utf-8"):
                fail("the upgrade overwrote the edited configuration")
            if lost := missing(INSTDIR, INSTALLED_FILES):
                fail(f"after the upgrade, missing: {', '.join(lost)}")
        with timed("smoke test (upgraded)", times):
            smoke_windows(server)
    with timed("silent uninstall", times):
        wine(f"{WIN_INSTDIR}\\uninstall.exe", "/S")
        if INSTDIR.exists():
            left = sorted(str(p.relative_to(INSTDIR)) for p in INSTDIR.rglob("*"))[:10]
            fail(f"the install folder is still there: {left}")
        if START_MENU.exists():
            fail("the Start-menu folder is still there")
        if uninstall_entry() is not None:
            fail("the Add/Remove Programs entry is still there")
        if EDIT_MARK not in config.read_text(encoding="utf-8"):
            fail("the uninstaller removed the site's configuration")
    say("Windows installer verified")


def verify_linux(times: dict[str, float]) -> None:
    bundle = linux_bundle_path()
    if not bundle.is_file():
        fail(f"{bundle} not found: run installer/build first")
    target = BUILD / "linux-verify"
    with timed("unpack the Linux bundle", times):
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        with tarfile.open(bundle) as tar:
            if hasattr(tarfile, "tar_filter"):  # CPython 3.11.4 and later
                tar.extractall(target, filter="tar")
            else:  # Debian 12's 3.11.2; our own archive, just built
                tar.extractall(target)
    home = target / f"dispatcher-hmi-{version()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QT_", "PYTHON"))}
    env["DISPATCHER_DATA"] = str(target / "data")
    line = home / "_internal" / "resources" / "lines" / "demo-line.yaml"
    sim = [str(home / "dispatcher-sim"), "--line", str(line), "--listen", "127.0.0.1:0"]
    with simulator(sim, env) as server, timed("smoke test (Linux bundle)", times):
        res = run(
            [home / "dispatcher-hmi", "-platform", "offscreen", "--smoke-test", "--server", server],
            env=env,
            quiet=True,
            check=False,
            timeout=120,
        )
        if res.returncode != 0 or "smoke test ok" not in res.stdout:
            fail(f"the Linux bundle's smoke test (status {res.returncode})", res)
        say(res.stdout.strip())
    say("Linux bundle verified")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="installer/verify", description=__doc__.split("\n")[0])
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--windows-only", action="store_true")
    only.add_argument("--linux-only", action="store_true")
    args = parser.parse_args(argv)
    times: dict[str, float] = {}
    start = time.monotonic()
    if not args.linux_only:
        verify_windows(times)
    if not args.windows_only:
        verify_linux(times)
    times["total"] = time.monotonic() - start
    report_times(times)
    return 0
