"""Render assets/icons/engram.svg to the PNG sizes desktops ask for, with Qt (no other tools).

Usage: python packaging/render_icons.py [--check]
Writes assets/icons/hicolor/<N>x<N>/apps/engram.png for N in SIZES and copies the SVG to
hicolor/scalable/apps/. --check only verifies that every PNG exists with the right size.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "assets" / "icons"
SVG = ICONS / "engram.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
NAME = "app.engram.Engram"   # the application id: icon, .desktop and metainfo names


def png_path(size: int) -> Path:
    return ICONS / "hicolor" / f"{size}x{size}" / "apps" / f"{NAME}.png"


def render(size: int):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"not a valid SVG: {SVG}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def main(argv: list[str]) -> int:
    from PySide6.QtGui import QGuiApplication, QImage

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 (fonts, image plugins)
    if "--check" in argv:
        bad = [str(png_path(n)) for n in SIZES
               if QImage(str(png_path(n))).size().width() != n]
        if bad:
            print("missing or wrong size:", *bad, sep="\n  ")
            return 1
        print(f"{len(SIZES)} icon sizes present")
        return 0
    for size in SIZES:
        out = png_path(size)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not render(size).save(str(out), "PNG"):
            raise SystemExit(f"could not write {out}")
    scalable = ICONS / "hicolor" / "scalable" / "apps" / f"{NAME}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SVG, scalable)
    print(f"wrote {len(SIZES)} PNGs and the scalable SVG under {ICONS / 'hicolor'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
