"""Safe image decoding: validated by content, bounded in bytes and pixels, metadata dropped.

Upload time: :func:`normalise_master` (an upright master without metadata, plus a
blurhash placeholder and dominant colour, so a note can show its placeholder at once).
Background time: :func:`build_variants` (AVIF, WebP and JPEG at a few widths, never
upscaled). Read time: :func:`public_variants` turns the stored description of the
variants into the ``<picture>``/``srcset`` JSON the clients render.
Avatars use the same checks directly.
"""

from __future__ import annotations

import asyncio
import io
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import blurhash
from PIL import Image, ImageOps, UnidentifiedImageError

from bridgenote.core.errors import BadRequest, PayloadTooLarge, UnsupportedMedia

MAX_PIXELS = 50_000_000
MAX_SIDE = 20_000
# Pillow identifies formats by content (magic bytes), never by file name.
IMAGE_FORMATS = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "AVIF": "image/avif",
}


@dataclass(frozen=True)
class ProbedImage:
    format: str
    content_type: str
    width: int
    height: int


def _decoded(data: bytes, *, max_bytes: int) -> Image.Image:
    """Identify and fully decode an image (the caller closes it); raise a 4xx error that
    says what is wrong."""
    if len(data) > max_bytes:
        raise PayloadTooLarge("That image is larger than {limit} MB.", limit=max_bytes // (1024 * 1024))
    if not data:
        raise BadRequest("The file is empty.", code="empty_file")
    img: Image.Image | None = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if (img.format or "") not in IMAGE_FORMATS:
                raise UnsupportedMedia(
                    "Only JPEG, PNG, WebP, GIF and AVIF images are supported.", code="unsupported_image"
                )
            _check_dimensions(*img.size)
            img.load()  # decodes every byte: truncated files fail here
            return img
    except BaseException as exc:
        if img is not None:
            img.close()
        if isinstance(exc, UnsupportedMedia | BadRequest | PayloadTooLarge):
            raise
        if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
            raise BadRequest("That image has too many pixels (at most 50 megapixels).", code="image_too_large") from exc
        if isinstance(exc, UnidentifiedImageError | OSError | SyntaxError | ValueError):
            raise UnsupportedMedia("That file is not a valid image, or it is damaged.", code="invalid_image") from exc
        raise


def probe_image(data: bytes, *, max_bytes: int) -> ProbedImage:
    """Identify and fully decode an image; raise a 4xx error that says what is wrong."""
    with _decoded(data, max_bytes=max_bytes) as img:
        fmt = img.format or ""
        return ProbedImage(fmt, IMAGE_FORMATS[fmt], img.width, img.height)


def _check_dimensions(width: int, height: int) -> None:
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise BadRequest("That image has too many pixels (at most 50 megapixels).", code="image_too_large")
    if width < 1 or height < 1 or max(width, height) / min(width, height) > 20:
        raise BadRequest("That image's shape is too extreme (at most 20:1).", code="image_bad_aspect")


def _avatar(data: bytes, size: int) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        upright = ImageOps.exif_transpose(img)
        square = ImageOps.fit(upright.convert("RGB"), (size, size), Image.Resampling.LANCZOS)
        square.info = {}
        out = io.BytesIO()
        # Writing a fresh WebP carries no EXIF, GPS or other metadata.
        square.save(out, "WEBP", quality=82, method=4)
        return out.getvalue()


@dataclass(frozen=True)
class Master:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int
    blurhash: str | None = None
    dominant_color: str | None = None


def _blurhash(rgb: Image.Image, x: int, y: int) -> str:
    """blurhash-python's C encoder, fed the raw RGB bytes (its ``encode`` goes through
    ``Image.getdata``, deprecated in Pillow 12, and a list of every pixel)."""
    ffi, lib = blurhash._ffi, blurhash._lib
    width, height = rgb.size
    pixels = ffi.new("uint8_t[]", rgb.tobytes())
    out = ffi.new("char[]", 2 + 4 + (9 * 9 - 1) * 2 + 1)
    result = lib.create_hash_from_pixels(x, y, width, height, pixels, width * 3, out)
    if result == ffi.NULL:
        raise ValueError("blurhash components out of range")
    return str(ffi.string(result).decode())


def placeholder(img: Image.Image) -> tuple[str, str]:
    """(blurhash, dominant colour as ``#rrggbb``) of an upright image, from a tiny copy."""
    small = img.convert("RGBA") if img.mode in ("RGBA", "LA", "PA", "P") else img.convert("RGB")
    small.thumbnail((64, 64), Image.Resampling.BILINEAR)
    if small.mode == "RGBA":
        # Transparent areas show the page behind them: white, as the fallback JPEG does.
        backdrop = Image.new("RGB", small.size, (255, 255, 255))
        backdrop.paste(small, mask=small.getchannel("A"))
        small = backdrop
    x, y = (4, 3) if small.width >= small.height else (3, 4)
    code = _blurhash(small, x, y)
    # The most common colour of a 6-colour palette: the tint a person would name, not a muddy mean.
    palette = small.quantize(colors=6, method=Image.Quantize.MEDIANCUT)
    counts = sorted(palette.getcolors() or [(1, 0)], reverse=True)
    flat = palette.getpalette() or [0, 0, 0]
    index = int(counts[0][1]) * 3  # type: ignore[call-overload]
    r, g, b = flat[index : index + 3]
    return code, f"#{r:02x}{g:02x}{b:02x}"


def _master_of(img: Image.Image) -> Master:
    animated = getattr(img, "is_animated", False)
    if animated:
        # Animated images keep their frames; re-saving drops EXIF/XMP all the same.
        out = io.BytesIO()
        img.save(out, "WEBP", save_all=True, quality=90, lossless=False)
        img.seek(0)
        code, colour = placeholder(img)
        return Master(out.getvalue(), "image/webp", "webp", img.width, img.height, code, colour)
    oriented = ImageOps.exif_transpose(img)
    # Pillow carries some metadata (JPEG comments, ICC, XMP) over through .info; keep none of it.
    oriented.info = {k: v for k, v in oriented.info.items() if k == "transparency"}
    has_alpha = oriented.mode in ("RGBA", "LA", "PA") or (oriented.mode == "P" and "transparency" in oriented.info)
    out = io.BytesIO()
    code, colour = placeholder(oriented)
    if has_alpha:
        oriented.convert("RGBA").save(out, "PNG", optimize=True)
        return Master(out.getvalue(), "image/png", "png", oriented.width, oriented.height, code, colour)
    # A fresh encode carries no EXIF, GPS, maker notes or XMP: nothing is copied over.
    # Baseline, not progressive: the master is a source and a stopgap (cards show the
    # variants), and a progressive encode of 12 megapixels costs 2-3x the CPU.
    rgb = oriented if oriented.mode == "RGB" else oriented.convert("RGB")
    rgb.save(out, "JPEG", quality=92, optimize=True)
    return Master(out.getvalue(), "image/jpeg", "jpg", oriented.width, oriented.height, code, colour)


def _master(data: bytes) -> Master:
    with Image.open(io.BytesIO(data)) as img:
        return _master_of(img)


def clean_master(data: bytes, *, max_bytes: int) -> Master:
    """Validate an uploaded image (:func:`probe_image`'s checks) and make its upright,
    metadata-free master, from one decode. Synchronous: run it in a thread."""
    with _decoded(data, max_bytes=max_bytes) as img:
        try:
            return _master_of(img)
        except (OSError, SyntaxError, ValueError, EOFError) as exc:  # e.g. a later frame of a GIF is damaged
            raise UnsupportedMedia("That file is not a valid image, or it is damaged.", code="invalid_image") from exc


async def normalise_master(data: bytes, *, max_bytes: int) -> Master:
    """Validate an uploaded image and return an upright, metadata-free master copy."""
    return await asyncio.to_thread(clean_master, data, max_bytes=max_bytes)


# ---------------------------------------------------------------- responsive variants

# Served in this order of preference inside <picture>: the browser takes the first it supports.
VARIANT_FORMATS = (("avif", "image/avif"), ("webp", "image/webp"), ("jpeg", "image/jpeg"))
EXTENSIONS = {"avif": "avif", "webp": "webp", "jpeg": "jpg"}
# Bump when the encoders or their settings change: variant keys contain it, so a new
# version never overwrites files that browsers cached as immutable.
# 2: AVIF speed 9 (was 8), WebP method 2 at quality 83 (was method 4 at 80).
PIPELINE_VERSION = 2


@dataclass(frozen=True)
class VariantSettings:
    """Encoder settings of the variants. The defaults are measured (``bench/media.py``):
    AVIF speed 9 encodes in about 55% of speed 8's CPU time for 0.4% more bytes and the
    same SSIM; WebP method 2 takes half of method 4's time, and quality 83 (not 80) keeps
    its SSIM above 0.95 for about 2% more bytes."""

    widths: Sequence[int] = (360, 720, 1080)
    avif_quality: int = 60
    avif_speed: int = 9
    webp_quality: int = 83
    webp_method: int = 2
    jpeg_quality: int = 82


@dataclass(frozen=True)
class Variant:
    format: str  # avif | webp | jpeg
    width: int
    height: int
    data: bytes

    @property
    def content_type(self) -> str:
        return dict(VARIANT_FORMATS)[self.format]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


@dataclass
class ImageVariants:
    width: int
    height: int
    blurhash: str
    dominant_color: str
    animated: bool
    variants: list[Variant] = field(default_factory=list)


def target_widths(width: int, widths: Sequence[int]) -> list[int]:
    """The requested widths, capped at the image's own width (never upscaled), without repeats."""
    return sorted({min(w, width) for w in widths if w > 0})


def _encode(img: Image.Image, fmt: str, conf: VariantSettings) -> bytes:
    out = io.BytesIO()
    if fmt == "avif":
        img.save(out, "AVIF", quality=conf.avif_quality, speed=conf.avif_speed)
    elif fmt == "webp":
        img.save(out, "WEBP", quality=conf.webp_quality, method=conf.webp_method)
    else:
        if img.mode != "RGB":
            backdrop = Image.new("RGB", img.size, (255, 255, 255))
            backdrop.paste(img, mask=img.getchannel("A") if "A" in img.getbands() else None)
            img = backdrop
        img.save(out, "JPEG", quality=conf.jpeg_quality, optimize=True, progressive=True)
    return out.getvalue()


def build_variants(master: bytes, conf: VariantSettings) -> ImageVariants:
    """Every responsive variant of an (already validated, upright, metadata-free) master.

    Pure CPU work: run it in a thread. Fresh encodes carry no metadata: no EXIF, XMP,
    ICC or comments are passed to the encoders.
    """
    with Image.open(io.BytesIO(master)) as img:
        width, height = img.size
        animated = bool(getattr(img, "is_animated", False))
        img.seek(0)
        has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
        base = img.convert("RGBA" if has_alpha else "RGB")
    # Pillow carries .info (JPEG comment, ICC, XMP, EXIF) into copies and writes some of it
    # back out on save: start every variant from an empty one.
    base.info = {}
    code, colour = placeholder(base)
    result = ImageVariants(width, height, code, colour, animated)
    if animated:
        # Animated masters are served as they are (an animated WebP); stills would lose the motion.
        return result
    widths = target_widths(width, conf.widths)
    # Downscale from the largest variant rather than the full master each time: the
    # largest step dominates the cost, and 1.5x-3x steps lose nothing visible.
    source = base
    for w in sorted(widths, reverse=True):
        h = max(1, round(height * w / width))
        resized = source if (w, h) == source.size else source.resize((w, h), Image.Resampling.LANCZOS, reducing_gap=3.0)
        source = resized
        for fmt, _type in VARIANT_FORMATS:
            result.variants.append(Variant(fmt, w, h, _encode(resized, fmt, conf)))
    result.variants.sort(key=lambda v: ([f for f, _ in VARIANT_FORMATS].index(v.format), v.width))
    return result


def public_variants(stored: dict[str, Any] | None, url: Callable[[str], str]) -> dict[str, Any]:
    """The stored description of an attachment's files -> the JSON clients render.

    ``stored`` is the ``variants`` column as the media pipeline writes it (storage keys);
    the result holds URLs: ``variants`` (per format, each size), ``picture`` (ready-made
    ``<source>`` srcsets, AVIF then WebP, and the JPEG ``<img>``) and ``video`` (MP4, HLS,
    poster). See docs/media.md for the shape.
    """
    stored = stored or {}
    by_format: dict[str, list[dict[str, Any]]] = {}
    for item in stored.get("images", []):
        by_format.setdefault(item["format"], []).append(
            {"width": item["width"], "height": item["height"], "url": url(item["key"]), "bytes": item.get("bytes")}
        )
    picture = None
    if by_format:
        sources = []
        for fmt, content_type in VARIANT_FORMATS[:-1]:
            sizes = sorted(by_format.get(fmt, []), key=lambda v: v["width"])
            if sizes:
                sources.append({"type": content_type, "srcset": ", ".join(f"{v['url']} {v['width']}w" for v in sizes)})
        jpegs = sorted(by_format.get("jpeg", []), key=lambda v: v["width"])
        img = None
        if jpegs:
            # The middle size is a sensible src for browsers that ignore srcset.
            middle = jpegs[min(1, len(jpegs) - 1)]
            largest = jpegs[-1]
            img = {
                "src": middle["url"],
                "srcset": ", ".join(f"{v['url']} {v['width']}w" for v in jpegs),
                "width": largest["width"],
                "height": largest["height"],
            }
        picture = {"sources": sources, "img": img}
    video = None
    if stored.get("mp4"):
        video = {
            "mp4": url(stored["mp4"]),
            "hls": url(stored["hls"]) if stored.get("hls") else None,
            "poster": url(stored["poster"]) if stored.get("poster") else None,
            "renditions": [
                {k: r[k] for k in ("width", "height", "bandwidth") if k in r} for r in stored.get("renditions", [])
            ],
        }
    return {"variants": by_format, "picture": picture, "video": video}


VIDEO_TYPES = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}
# ISO base media files that are still images (AVIF, HEIF/HEIC), not videos.
IMAGE_BRANDS = {b"avif", b"avis", b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}


def sniff_video(data: bytes) -> str | None:
    """Container type from magic bytes (the media pipeline probes streams later)."""
    if len(data) >= 12 and data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in IMAGE_BRANDS:
            return None
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    return None


def image_extension(data: bytes) -> str:
    """File extension of an image by its content (the header only: call it after :func:`probe_image`)."""
    with Image.open(io.BytesIO(data)) as img:
        return {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "AVIF": "avif"}.get(img.format or "", "bin")


async def make_avatar(data: bytes, *, max_bytes: int, size: int = 400) -> bytes:
    await asyncio.to_thread(probe_image, data, max_bytes=max_bytes)
    return await asyncio.to_thread(_avatar, data, size)


Image.MAX_IMAGE_PIXELS = MAX_PIXELS
