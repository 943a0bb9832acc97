"""Safe image decoding: validated by content, bounded in bytes and pixels, metadata dropped.

The media pipeline builds responsive variants on top of this; avatars use it directly.
"""

from __future__ import annotations

import asyncio
import io
import warnings
from dataclasses import dataclass

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


def probe_image(data: bytes, *, max_bytes: int) -> ProbedImage:
    """Identify and fully decode an image; raise a 4xx error that says what is wrong."""
    if len(data) > max_bytes:
        raise PayloadTooLarge("That image is larger than {limit} MB.", limit=max_bytes // (1024 * 1024))
    if not data:
        raise BadRequest("The file is empty.", code="empty_file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format or ""
                width, height = img.size
                if fmt not in IMAGE_FORMATS:
                    raise UnsupportedMedia(
                        "Only JPEG, PNG, WebP, GIF and AVIF images are supported.", code="unsupported_image"
                    )
                _check_dimensions(width, height)
                img.load()  # decodes every byte: truncated files fail here
    except (UnsupportedMedia, BadRequest, PayloadTooLarge):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadRequest("That image has too many pixels (at most 50 megapixels).", code="image_too_large") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedMedia("That file is not a valid image, or it is damaged.", code="invalid_image") from exc
    return ProbedImage(fmt, IMAGE_FORMATS[fmt], width, height)


def _check_dimensions(width: int, height: int) -> None:
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise BadRequest("That image has too many pixels (at most 50 megapixels).", code="image_too_large")
    if width < 1 or height < 1 or max(width, height) / min(width, height) > 20:
        raise BadRequest("That image's shape is too extreme (at most 20:1).", code="image_bad_aspect")


def _avatar(data: bytes, size: int) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        upright = ImageOps.exif_transpose(img)
        square = ImageOps.fit(upright.convert("RGB"), (size, size), Image.Resampling.LANCZOS)
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


def _master(data: bytes) -> Master:
    with Image.open(io.BytesIO(data)) as img:
        animated = getattr(img, "is_animated", False)
        if animated:
            # Animated images keep their frames; re-saving drops EXIF/XMP all the same.
            out = io.BytesIO()
            img.save(out, "WEBP", save_all=True, quality=90, lossless=False)
            return Master(out.getvalue(), "image/webp", "webp", img.width, img.height)
        oriented = ImageOps.exif_transpose(img)
        # Pillow carries some metadata (JPEG comments, ICC, XMP) over through .info; keep none of it.
        oriented.info = {k: v for k, v in oriented.info.items() if k == "transparency"}
        has_alpha = oriented.mode in ("RGBA", "LA", "PA") or (oriented.mode == "P" and "transparency" in oriented.info)
        out = io.BytesIO()
        if has_alpha:
            oriented.convert("RGBA").save(out, "PNG", optimize=True)
            return Master(out.getvalue(), "image/png", "png", oriented.width, oriented.height)
        # A fresh encode carries no EXIF, GPS, maker notes or XMP: nothing is copied over.
        oriented.convert("RGB").save(out, "JPEG", quality=92, optimize=True, progressive=True)
        return Master(out.getvalue(), "image/jpeg", "jpg", oriented.width, oriented.height)


async def normalise_master(data: bytes, *, max_bytes: int) -> Master:
    """Validate an uploaded image and return an upright, metadata-free master copy."""
    await asyncio.to_thread(probe_image, data, max_bytes=max_bytes)
    return await asyncio.to_thread(_master, data)


VIDEO_TYPES = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}


def sniff_video(data: bytes) -> str | None:
    """Container type from magic bytes (the media pipeline probes streams later)."""
    if len(data) >= 12 and data[4:8] == b"ftyp":
        brand = data[8:12]
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    return None


async def make_avatar(data: bytes, *, max_bytes: int, size: int = 400) -> bytes:
    await asyncio.to_thread(probe_image, data, max_bytes=max_bytes)
    return await asyncio.to_thread(_avatar, data, size)


Image.MAX_IMAGE_PIXELS = MAX_PIXELS
