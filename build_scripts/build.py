"""Build Tracepane's one-folder bundle with PyInstaller, then package it for this platform.

    python build_scripts/build.py [--dist DIR] [--no-package]

Runs `sys.executable -m PyInstaller` (any venv with the test extra installed has it) on
`build_scripts/tracepane.spec`. The bundle is DIR/tracepane/ (default DIR: dist/), and its
only file named `tracepane` is the program; on macOS it is DIR/Tracepane.app instead.
Then, unless --no-package:

- Linux: DIR/tracepane-VERSION-linux-ARCH.tar.gz, the bundle with a `.desktop` file and
  icon, and `install.sh` that puts them under ~/.local;
- macOS: the .app is the package (the workflow wraps it in a .dmg with hdiutil);
- Windows: the folder is the package (the workflow runs Inno Setup on build_scripts/tracepane.iss).

The icons (PNG, .ico, .icns) are rendered from resources/icons/tracepane.svg first.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "build_scripts" / "tracepane.spec"
GENERATED = ROOT / "build_scripts" / "generated"
LINUX_FILES = ROOT / "build_scripts" / "linux"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the bundle goes (default dist/)")
    parser.add_argument("--no-package", action="store_true", help="the bundle only")
    args = parser.parse_args()
    dist = args.dist.resolve()
    started = time.perf_counter()
    make_icons()
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
                    "--distpath", str(dist), "--workpath", str(ROOT / "build" / "pyinstaller"), str(SPEC)],
                   check=True, cwd=ROOT)
    bundle = dist / "tracepane"
    if sys.platform == "darwin":  # the .app holds the same files: one program named tracepane under DIR
        shutil.rmtree(bundle)
        bundle = dist / "Tracepane.app"
    programs = [p for p in dist.rglob("tracepane*") if p.is_file() and not p.is_symlink()
                and p.name in ("tracepane", "tracepane.exe")]
    if len(programs) != 1:
        raise SystemExit(f"expected one program named tracepane under {dist}, found {programs}")
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"bundle: {bundle} ({size / 2**20:.0f} MiB) in {time.perf_counter() - started:.0f} s; "
          f"program: {programs[0]}")
    if not args.no_package and sys.platform.startswith("linux"):
        print(f"package: {package_linux(dist, bundle)}")
    return 0


def version() -> str:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def make_icons() -> None:
    """tracepane.png (512 px, for Linux), .ico (Windows) and .icns (macOS) from the SVG, drawn
    by Qt offscreen and converted by Pillow."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    GENERATED.mkdir(exist_ok=True)
    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])  # noqa: F841 - Qt needs one for painting
    image = QImage(512, 512, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(ROOT / "resources" / "icons" / "tracepane.svg")).render(painter)
    painter.end()
    png = GENERATED / "tracepane.png"
    image.save(str(png))
    with Image.open(png) as picture:
        picture.save(GENERATED / "tracepane.ico", sizes=[(16, 16), (32, 32), (48, 48), (64, 64), (128, 128),
                                                          (256, 256)])
        picture.save(GENERATED / "tracepane.icns")


def package_linux(dist: Path, bundle: Path) -> Path:
    """The bundle, `tracepane.desktop`, the icon and `install.sh`, in one .tar.gz."""
    shutil.copy(LINUX_FILES / "tracepane.desktop", bundle / "tracepane.desktop")
    shutil.copy(LINUX_FILES / "install.sh", bundle / "install.sh")
    shutil.copy(GENERATED / "tracepane.png", bundle / "tracepane.png")
    (bundle / "install.sh").chmod(0o755)
    archive = dist / f"tracepane-{version()}-linux-{platform.machine()}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(bundle, arcname=f"tracepane-{version()}")
    return archive


if __name__ == "__main__":
    sys.exit(main())
