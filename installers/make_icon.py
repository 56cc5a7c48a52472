"""Draw KidneyTalk's icon (a kidney bean in a speech bubble) as SVG, PNG, ICO and ICNS.

    python installers/make_icon.py     # writes installers/kidneytalk.{svg,png,ico,icns}

The PNG/ICO/ICNS are drawn with Pillow from the same shapes as the SVG; the
outputs are committed, so building a bundle does not need this script.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
BACKGROUND = "#1f6f8b"
BUBBLE = "#ffffff"
KIDNEY = "#b5474b"

# Shapes on a 256 x 256 canvas: (kind, box, fill); "notch" is cut out of the kidney in the bubble colour.
SHAPES = [
    ("rounded", (8, 8, 248, 248), BACKGROUND),
    ("rounded", (40, 44, 216, 180), BUBBLE),
    ("polygon", ((80, 176), (72, 220), (124, 178)), BUBBLE),
    ("ellipse", (78, 62, 178, 164), KIDNEY),
    ("ellipse", (148, 94, 188, 132), BUBBLE),
]


def svg() -> str:
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">'
    ]
    for kind, box, fill in SHAPES:
        if kind == "rounded":
            x0, y0, x1, y1 = box
            parts.append(
                f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" rx="36" fill="{fill}"/>'
            )
        elif kind == "ellipse":
            x0, y0, x1, y1 = box
            parts.append(
                f'<ellipse cx="{(x0 + x1) / 2}" cy="{(y0 + y1) / 2}" rx="{(x1 - x0) / 2}" '
                f'ry="{(y1 - y0) / 2}" fill="{fill}"/>'
            )
        else:
            points = " ".join(f"{x},{y}" for x, y in box)
            parts.append(f'<polygon points="{points}" fill="{fill}"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def png(size: int = 512) -> Image.Image:
    scale = size / 256
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for kind, box, fill in SHAPES:
        if kind == "polygon":
            draw.polygon([(x * scale, y * scale) for x, y in box], fill=fill)
            continue
        scaled = tuple(v * scale for v in box)
        if kind == "rounded":
            draw.rounded_rectangle(scaled, radius=36 * scale, fill=fill)
        else:
            draw.ellipse(scaled, fill=fill)
    return image


def main() -> None:
    (HERE / "kidneytalk.svg").write_text(svg(), encoding="utf-8")
    big = png(512)
    big.resize((256, 256), Image.LANCZOS).save(HERE / "kidneytalk.png")
    big.save(
        HERE / "kidneytalk.ico",
        sizes=[(16, 16), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)],
    )
    big.save(HERE / "kidneytalk.icns")


if __name__ == "__main__":
    main()
