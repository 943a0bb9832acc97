"""Procedural demo photos for the seed: skies, plates, cats, desks, bottles, bokeh.

Only Pillow is needed. A scene is drawn at half size, softened, scaled up (which
gives the slightly out-of-focus look of a phone photo) and given film grain from
a noise tile made with a fixed seed, so every image is a pure function of
``(kind, seed, size)``.
"""

from __future__ import annotations

import io
import math
import random
from functools import cache

from PIL import Image, ImageDraw, ImageFilter

RGB = tuple[int, int, int]

# Portrait 3:4 dominates on a RedNote-style feed; squares and landscapes mix in.
SIZES: tuple[tuple[int, int], ...] = ((720, 960), (720, 960), (720, 960), (720, 720), (960, 720))
KINDS = ("sky", "food", "hotpot", "cat", "desk", "bottles", "bokeh", "street")

# What each note topic photographs (first choice most likely).
TOPIC_KINDS: dict[str, tuple[str, ...]] = {
    "food": ("food", "hotpot", "food", "bokeh"),
    "travel": ("sky", "street", "sky", "bokeh"),
    "pets": ("cat", "cat", "cat", "desk"),
    "skincare": ("bottles", "bottles", "bokeh"),
    "study": ("desk", "desk", "bokeh", "sky"),
    "fashion": ("bokeh", "street", "bottles"),
    "refugee": ("cat", "sky", "food", "bokeh", "street"),
}


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (int(a[0] + (b[0] - a[0]) * t), int(a[1] + (b[1] - a[1]) * t), int(a[2] + (b[2] - a[2]) * t))


def _jitter(rng: random.Random, color: RGB, amount: int = 18) -> RGB:
    return tuple(max(0, min(255, c + rng.randint(-amount, amount))) for c in color)  # type: ignore[return-value]


def _vertical_gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    # Resizing a one-pixel-wide column, then widening it, is ~20x cheaper than resizing the square.
    mask = Image.linear_gradient("L").crop((0, 0, 1, 256)).resize((1, size[1])).resize(size, Image.Resampling.NEAREST)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


def _radial_glow(size: tuple[int, int], center: tuple[float, float], radius: float, color: RGB) -> Image.Image:
    """An RGBA layer: ``color`` fading out from ``center``."""
    # radial_gradient reaches 128 at the edge midpoints and 255 only in the corners.
    glow = Image.radial_gradient("L").point(lambda v: int(255 * max(0.0, 1 - v / 128) ** 2))
    alpha = glow.resize((int(radius * 2), int(radius * 2)))
    layer = Image.new("RGBA", size, (*color, 0))
    spot = Image.new("RGBA", alpha.size, (*color, 255))
    spot.putalpha(alpha)
    layer.alpha_composite(spot, (int(center[0] - radius), int(center[1] - radius)))
    return layer


@cache
def _grain() -> Image.Image:
    """Film grain big enough for any size here, built once from a fixed seed."""
    rng = random.Random(20250118)
    side = 256
    tile = Image.frombytes("L", (side, side), rng.randbytes(side * side)).filter(ImageFilter.GaussianBlur(0.6))
    grain = Image.new("L", (1280, 1280))
    for x in range(0, 1280, side):
        for y in range(0, 1280, side):
            grain.paste(tile, (x, y))
    return Image.merge("RGB", (grain, grain, grain))


def _add_grain(img: Image.Image, rng: random.Random, strength: float) -> Image.Image:
    ox, oy = rng.randrange(256), rng.randrange(256)
    grain = _grain().crop((ox, oy, ox + img.width, oy + img.height))
    return Image.blend(img, grain, strength)


def _vignette(img: Image.Image, strength: float) -> Image.Image:
    mask = Image.radial_gradient("L").resize(img.size, Image.Resampling.BILINEAR)
    dark = Image.new("RGB", img.size, (0, 0, 0))
    mask = mask.point(lambda v: int(v * strength))
    return Image.composite(dark, img, mask)


# ---------------------------------------------------------------- scenes (drawn at half size)

SKY_PALETTES: tuple[tuple[RGB, RGB, RGB], ...] = (
    ((255, 146, 84), (255, 214, 165), (92, 61, 110)),  # sunset: top, horizon, land
    ((64, 128, 212), (188, 222, 246), (58, 96, 64)),  # clear day
    ((38, 44, 92), (230, 120, 120), (30, 30, 52)),  # dusk
    ((148, 176, 196), (226, 230, 232), (84, 96, 104)),  # overcast, misty mountains
    ((255, 180, 120), (255, 238, 200), (40, 90, 120)),  # golden hour over the sea
)


def _sky(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    w, h = size
    top, horizon, land = (_jitter(rng, c) for c in rng.choice(SKY_PALETTES))
    horizon_y = int(h * rng.uniform(0.5, 0.72))
    img = _vertical_gradient((w, horizon_y), top, horizon).resize((w, h))
    img = img.convert("RGBA")
    sun = (rng.uniform(0.2, 0.8) * w, horizon_y - rng.uniform(0.05, 0.3) * h)
    img.alpha_composite(_radial_glow(size, sun, w * rng.uniform(0.25, 0.5), _mix(horizon, (255, 255, 230), 0.6)))
    draw = ImageDraw.Draw(img)
    r = w * rng.uniform(0.04, 0.08)
    draw.ellipse((sun[0] - r, sun[1] - r, sun[0] + r, sun[1] + r), fill=(*_mix(horizon, (255, 255, 240), 0.8), 230))
    # Two or three mountain ridges, lighter with distance.
    for layer in range(rng.randint(2, 3), 0, -1):
        base = horizon_y + (3 - layer) * h * 0.04
        color = _mix(land, horizon, 0.18 * layer)
        points = [(0.0, float(h))]
        x, y = 0.0, base - rng.uniform(0.05, 0.2) * h
        while x < w:
            points.append((x, y))
            x += rng.uniform(w * 0.05, w * 0.15)
            y = min(base, max(base - 0.3 * h, y + rng.uniform(-0.08, 0.08) * h))
        points += [(float(w), y), (float(w), float(h))]
        draw.polygon(points, fill=(*color, 255))
    draw.rectangle((0, int(horizon_y + h * 0.1), w, h), fill=(*_mix(land, (0, 0, 0), 0.2), 255))
    return img.convert("RGB").filter(ImageFilter.GaussianBlur(1.2))


TABLE_COLORS: tuple[RGB, ...] = ((150, 104, 70), (196, 160, 120), (230, 226, 218), (70, 60, 56), (214, 206, 192))
FOOD_COLORS: tuple[RGB, ...] = (
    (214, 92, 44), (240, 196, 80), (120, 160, 70), (196, 50, 40), (248, 236, 210), (150, 80, 40), (236, 140, 120),
)  # fmt: skip


def _table(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    w, h = size
    base = _jitter(rng, rng.choice(TABLE_COLORS))
    img = Image.new("RGB", size, base)
    draw = ImageDraw.Draw(img)
    # Wood grain or a linen weave.
    for _ in range(rng.randint(30, 60)):
        y = rng.uniform(0, h)
        shade = _jitter(rng, base, 14)
        draw.line((0, y, w, y + rng.uniform(-20, 20)), fill=shade, width=rng.randint(1, 4))
    return img


def _food(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    w, h = size
    img = _table(rng, size)
    draw = ImageDraw.Draw(img)
    plates = rng.randint(1, 4)
    for _ in range(plates):
        r = min(w, h) * rng.uniform(0.16, 0.32 if plates > 1 else 0.42)
        cx, cy = rng.uniform(r * 0.6, w - r * 0.6), rng.uniform(r * 0.6, h - r * 0.6)
        draw.ellipse((cx - r + 6, cy - r + 10, cx + r + 6, cy + r + 10), fill=(40, 34, 30))  # shadow
        rim = _jitter(rng, rng.choice(((246, 244, 240), (220, 230, 236), (40, 40, 44), (200, 170, 140))), 8)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=rim)
        inner = r * 0.78
        draw.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), fill=_mix(rim, (0, 0, 0), 0.06))
        food = rng.choice(FOOD_COLORS)
        for _ in range(rng.randint(6, 16)):
            fr = inner * rng.uniform(0.12, 0.38)
            angle, dist = rng.uniform(0, math.tau), rng.uniform(0, inner - fr)
            fx, fy = cx + math.cos(angle) * dist, cy + math.sin(angle) * dist
            draw.ellipse((fx - fr, fy - fr * rng.uniform(0.6, 1), fx + fr, fy + fr), fill=_jitter(rng, food, 30))
        for _ in range(rng.randint(0, 8)):  # herbs
            fx, fy = cx + rng.uniform(-inner, inner) * 0.6, cy + rng.uniform(-inner, inner) * 0.6
            draw.ellipse((fx - 4, fy - 3, fx + 4, fy + 3), fill=_jitter(rng, (70, 140, 60), 20))
    if rng.random() < 0.6:  # chopsticks
        x0 = rng.uniform(0.6, 0.9) * w
        for dx in (0, 10):
            draw.line((x0 + dx, h * 0.1, x0 + dx - w * 0.15, h * 0.9), fill=(120, 80, 50), width=6)
    return img.filter(ImageFilter.GaussianBlur(1.0))


def _hotpot(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    w, h = size
    img = _table(rng, size)
    draw = ImageDraw.Draw(img)
    cx, cy, r = w / 2 + rng.uniform(-20, 20), h / 2 + rng.uniform(-30, 30), min(w, h) * 0.42
    draw.ellipse((cx - r - 8, cy - r - 8, cx + r + 8, cy + r + 8), fill=(160, 160, 166))  # the pot
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=_jitter(rng, (190, 40, 24), 12))
    if rng.random() < 0.5:  # yuanyang: half spicy, half mushroom broth
        draw.pieslice((cx - r, cy - r, cx + r, cy + r), 90, 270, fill=_jitter(rng, (226, 200, 150), 10))
        draw.line((cx, cy - r, cx, cy + r), fill=(160, 160, 166), width=8)
    for _ in range(rng.randint(40, 80)):  # chilli, peppercorns, bubbles
        angle, dist = rng.uniform(0, math.tau), rng.uniform(0, r * 0.92)
        fx, fy = cx + math.cos(angle) * dist, cy + math.sin(angle) * dist
        fr = rng.uniform(3, 12)
        color = rng.choice(((120, 20, 10), (240, 120, 40), (250, 220, 180), (90, 40, 20)))
        draw.ellipse((fx - fr, fy - fr, fx + fr, fy + fr), fill=color)
    for _ in range(rng.randint(3, 6)):  # side plates
        pr = min(w, h) * rng.uniform(0.07, 0.11)
        px, py = rng.choice((rng.uniform(0, w), rng.choice((pr, h - pr)))), rng.uniform(0, h)
        if abs(px - cx) < r + pr and abs(py - cy) < r + pr:
            continue
        draw.ellipse((px - pr, py - pr, px + pr, py + pr), fill=(244, 242, 238))
        draw.ellipse((px - pr * 0.7, py - pr * 0.7, px + pr * 0.7, py + pr * 0.7), fill=rng.choice(FOOD_COLORS))
    return img.filter(ImageFilter.GaussianBlur(1.0))


WALLS: tuple[RGB, ...] = ((236, 226, 210), (210, 222, 230), (232, 214, 214), (200, 210, 190), (60, 66, 80))
CAT_COATS: tuple[RGB, ...] = ((232, 150, 70), (40, 38, 40), (200, 200, 204), (250, 246, 240), (140, 110, 90))


def _cat(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    w, h = size
    wall = _jitter(rng, rng.choice(WALLS), 10)
    floor_y = int(h * rng.uniform(0.6, 0.75))
    img = _vertical_gradient(size, _mix(wall, (255, 255, 255), 0.2), wall)
    draw = ImageDraw.Draw(img)
    floor = _jitter(rng, rng.choice(TABLE_COLORS), 10)
    draw.rectangle((0, floor_y, w, h), fill=floor)
    if rng.random() < 0.6:  # window light on the wall
        wx = rng.uniform(0.05, 0.5) * w
        draw.rectangle((wx, h * 0.08, wx + w * 0.35, floor_y * 0.8), fill=_mix(wall, (255, 255, 240), 0.5))
    coat = _jitter(rng, rng.choice(CAT_COATS), 10)
    s = min(w, h) * rng.uniform(0.28, 0.4)
    cx, base = w * rng.uniform(0.35, 0.65), floor_y + (h - floor_y) * 0.5
    draw.ellipse((cx - s * 1.3, base + s * 0.05, cx + s * 1.3, base + s * 0.35), fill=_mix(floor, (0, 0, 0), 0.3))
    draw.ellipse((cx - s, base - s * 1.1, cx + s, base + s * 0.25), fill=coat)  # body
    side = rng.choice((-1, 1))
    tail = [(cx + side * s * 0.8, base), (cx + side * s * 1.5, base - s * 0.2), (cx + side * s * 1.6, base - s * 0.9)]
    draw.line(tail, fill=coat, width=int(s * 0.18), joint="curve")
    hx, hy, hr = cx - side * s * 0.1, base - s * 1.25, s * 0.55
    for ex in (-1, 1):  # ears
        draw.polygon(
            [
                (hx + ex * hr * 0.95, hy - hr * 0.1),
                (hx + ex * hr * 0.75, hy - hr * 1.25),
                (hx + ex * hr * 0.2, hy - hr * 0.7),
            ],
            fill=coat,
        )
    draw.ellipse((hx - hr, hy - hr * 0.85, hx + hr, hy + hr * 0.85), fill=coat)
    eye = rng.choice(((120, 180, 60), (230, 180, 40), (90, 150, 200)))
    for ex in (-1, 1):
        x = hx + ex * hr * 0.38
        draw.ellipse((x - hr * 0.16, hy - hr * 0.2, x + hr * 0.16, hy + hr * 0.1), fill=eye)
        draw.ellipse((x - hr * 0.05, hy - hr * 0.18, x + hr * 0.05, hy + hr * 0.08), fill=(20, 20, 20))
    draw.polygon(
        [(hx - hr * 0.08, hy + hr * 0.2), (hx + hr * 0.08, hy + hr * 0.2), (hx, hy + hr * 0.3)], fill=(230, 140, 150)
    )
    return img.filter(ImageFilter.GaussianBlur(1.4))


def _desk(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    w, h = size
    img = _table(rng, size)
    draw = ImageDraw.Draw(img)
    # An open notebook, with ruled lines and a few scribbled "words".
    nw, nh = w * rng.uniform(0.55, 0.75), h * rng.uniform(0.4, 0.55)
    nx, ny = rng.uniform(0.05, 0.4) * w, rng.uniform(0.15, 0.4) * h
    draw.rectangle((nx + 8, ny + 10, nx + nw + 8, ny + nh + 10), fill=(50, 40, 36))
    paper = _jitter(rng, (250, 248, 240), 5)
    draw.rectangle((nx, ny, nx + nw, ny + nh), fill=paper)
    draw.line((nx + nw / 2, ny, nx + nw / 2, ny + nh), fill=(200, 196, 188), width=3)
    ink = rng.choice(((30, 40, 90), (30, 30, 30), (150, 40, 40)))
    y = ny + 24
    while y < ny + nh - 12:
        draw.line((nx + 8, y, nx + nw - 8, y), fill=(200, 214, 230), width=1)
        for page in (0, 1):
            x = nx + 14 + page * nw / 2
            while x < nx + (page + 1) * nw / 2 - 24 and rng.random() < 0.93:
                word = rng.uniform(8, 34)
                draw.line((x, y - 5, x + word, y - 5), fill=ink, width=3)
                x += word + rng.uniform(5, 10)
        y += 20
    # A coffee cup seen from above, and a pencil.
    cr = min(w, h) * rng.uniform(0.09, 0.13)
    cx, cy = rng.uniform(cr, w - cr), rng.uniform(ny + nh + cr, h - cr) if ny + nh + 2 * cr < h else cr * 1.2
    draw.ellipse((cx - cr, cy - cr, cx + cr, cy + cr), fill=(246, 246, 246))
    draw.ellipse(
        (cx - cr * 0.78, cy - cr * 0.78, cx + cr * 0.78, cy + cr * 0.78),
        fill=rng.choice(((110, 70, 40), (196, 150, 110))),
    )
    px = rng.uniform(0.1, 0.9) * w
    draw.line((px, h * 0.05, px + w * 0.2, h * 0.3), fill=(240, 190, 40), width=10)
    return img.filter(ImageFilter.GaussianBlur(1.0))


PASTELS: tuple[RGB, ...] = ((246, 222, 226), (222, 236, 240), (236, 232, 222), (226, 240, 226), (240, 228, 246))


def _bottles(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    w, h = size
    bg = _jitter(rng, rng.choice(PASTELS), 8)
    img = _vertical_gradient(size, _mix(bg, (255, 255, 255), 0.4), bg)
    draw = ImageDraw.Draw(img)
    shelf = int(h * rng.uniform(0.68, 0.8))
    draw.rectangle((0, shelf, w, h), fill=_mix(bg, (120, 110, 100), 0.25))
    x = rng.uniform(0.05, 0.15) * w
    while x < w * 0.85:
        bw = rng.uniform(0.1, 0.2) * w
        bh = rng.uniform(0.25, 0.5) * h
        color = _jitter(
            rng, rng.choice(((255, 255, 255), (236, 200, 180), (180, 210, 230), (60, 60, 70), (240, 220, 120))), 10
        )
        top = shelf - bh
        draw.rounded_rectangle((x, top, x + bw, shelf), radius=bw * 0.2, fill=color)
        draw.rectangle(
            (x + bw * 0.12, top + bh * 0.35, x + bw * 0.88, top + bh * 0.6), fill=_mix(color, bg, 0.5)
        )  # label
        cap_w = bw * rng.uniform(0.4, 0.7)
        draw.rounded_rectangle(
            (x + (bw - cap_w) / 2, top - bh * 0.15, x + (bw + cap_w) / 2, top + 2),
            radius=4,
            fill=_mix(color, (30, 30, 30), 0.6),
        )
        draw.line(
            (x + bw * 0.15, top + bh * 0.1, x + bw * 0.15, shelf - bh * 0.1), fill=(255, 255, 255), width=3
        )  # shine
        x += bw + rng.uniform(0.02, 0.06) * w
    return img.filter(ImageFilter.GaussianBlur(1.1))


BOKEH_BASES: tuple[tuple[RGB, RGB], ...] = (
    ((20, 16, 40), (90, 40, 80)),
    ((10, 24, 34), (30, 90, 110)),
    ((40, 22, 12), (130, 70, 30)),
    ((236, 226, 230), (250, 240, 232)),
)


def _bokeh(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    w, h = size
    top, bottom = rng.choice(BOKEH_BASES)
    img = _vertical_gradient(size, _jitter(rng, top, 8), _jitter(rng, bottom, 8)).convert("RGBA")
    lights = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(lights)
    hue = rng.choice(((255, 200, 120), (255, 140, 180), (140, 200, 255), (255, 230, 200)))
    for _ in range(rng.randint(25, 60)):
        r = rng.uniform(0.02, 0.09) * w
        x, y = rng.uniform(-r, w + r), rng.uniform(-r, h + r)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(*_jitter(rng, hue, 40), rng.randint(40, 130)))
    img.alpha_composite(lights.filter(ImageFilter.GaussianBlur(3)))
    return img.convert("RGB")


def _street(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    w, h = size
    sky_top, sky_low = rng.choice(
        (((120, 170, 220), (220, 230, 240)), ((40, 40, 80), (200, 110, 90)), ((150, 160, 170), (210, 210, 210)))
    )
    img = _vertical_gradient(size, sky_top, sky_low)
    draw = ImageDraw.Draw(img)
    ground = int(h * rng.uniform(0.7, 0.82))
    x = -rng.uniform(0, 40)
    night = sky_top[2] < 100
    while x < w:
        bw, bh = rng.uniform(0.12, 0.3) * w, rng.uniform(0.25, 0.65) * h
        color = _jitter(rng, (70, 70, 80) if night else (170, 150, 140), 30)
        draw.rectangle((x, ground - bh, x + bw, ground), fill=color)
        for wy in range(int(ground - bh + 12), ground - 10, 22):  # windows
            for wx in range(int(x + 8), int(x + bw - 12), 18):
                if rng.random() < 0.55:
                    lit = (250, 210, 120) if night else _mix(color, (220, 230, 240), 0.5)
                    draw.rectangle((wx, wy, wx + 9, wy + 12), fill=lit)
        if rng.random() < 0.5:  # a shop sign
            draw.rectangle(
                (x + 6, ground - 46, x + bw - 6, ground - 26),
                fill=rng.choice(((200, 40, 40), (40, 120, 80), (240, 200, 60))),
            )
        x += bw + rng.uniform(0, 8)
    draw.rectangle((0, ground, w, h), fill=(60, 60, 64) if night else (130, 130, 128))
    if rng.random() < 0.7:  # lanterns / fairy lights on a string
        y0 = rng.uniform(0.15, 0.4) * h
        for i in range(12):
            lx = w * i / 11
            ly = y0 + math.sin(i / 11 * math.pi) * 40
            draw.ellipse(
                (lx - 10, ly - 12, lx + 10, ly + 12), fill=(220, 40, 30) if rng.random() < 0.7 else (250, 200, 80)
            )
    return img.filter(ImageFilter.GaussianBlur(1.0))


_SCENES = {
    "sky": _sky,
    "food": _food,
    "hotpot": _hotpot,
    "cat": _cat,
    "desk": _desk,
    "bottles": _bottles,
    "bokeh": _bokeh,
    "street": _street,
}


def render(kind: str, seed: int, size: tuple[int, int] = (720, 960), *, quality: int = 85) -> bytes:
    """A JPEG of scene ``kind``; the same arguments always give the same bytes."""
    rng = random.Random(f"{kind}:{seed}:{size}")
    half = (size[0] // 2, size[1] // 2)
    img = _vignette(_SCENES[kind](rng, half), rng.uniform(0.15, 0.35)).resize(size, Image.Resampling.BILINEAR)
    img = _add_grain(img, rng, rng.uniform(0.04, 0.08))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, optimize=False, progressive=False)
    return out.getvalue()


def pick(rng: random.Random, topic: str) -> tuple[str, tuple[int, int]]:
    """A scene and a size for a photo in a note about ``topic``."""
    return rng.choice(TOPIC_KINDS.get(topic, KINDS)), rng.choice(SIZES)
