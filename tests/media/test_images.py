"""core.images: responsive variants, placeholders, and the JSON clients render."""

from __future__ import annotations

import io

import blurhash
from PIL import Image

from bridgenote.core import images
from tests.media.conftest import phone_jpeg


def test_variants_come_in_three_formats_and_are_never_upscaled() -> None:
    master = phone_jpeg((800, 600))
    built = images.build_variants(master, images.VariantSettings(widths=(360, 720, 1080)))
    assert (built.width, built.height) == (800, 600)
    got = sorted((v.format, v.width, v.height) for v in built.variants)
    assert got == sorted((f, w, round(600 * w / 800)) for f in ("avif", "webp", "jpeg") for w in (360, 720, 800))
    for v in built.variants:
        with Image.open(io.BytesIO(v.data)) as img:
            assert img.format == {"avif": "AVIF", "webp": "WEBP", "jpeg": "JPEG"}[v.format]
            assert img.size == (v.width, v.height)
            # No EXIF, GPS, XMP, ICC or comments survive in any variant.
            assert not img.getexif()
            assert not {"exif", "xmp", "icc_profile", "comment"} & set(img.info)
        assert b"SecretPhone" not in v.data and b"serial 12345" not in v.data


def test_modern_formats_are_smaller_than_jpeg() -> None:
    built = images.build_variants(phone_jpeg((1600, 1200), seed=3), images.VariantSettings())
    size = {(v.format, v.width): len(v.data) for v in built.variants}
    assert size[("avif", 1080)] < size[("jpeg", 1080)]
    assert size[("webp", 1080)] < size[("jpeg", 1080)]


def test_placeholder_is_a_decodable_blurhash_and_a_colour() -> None:
    with Image.open(io.BytesIO(phone_jpeg((400, 300)))) as img:
        code, colour = images.placeholder(img)
    assert blurhash.decode(code, 8, 6).size == (8, 6)
    assert colour.startswith("#") and len(colour) == 7
    int(colour[1:], 16)


def test_transparent_images_keep_alpha_in_avif_and_webp() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (500, 400), (10, 200, 30, 100)).save(out, "PNG")
    built = images.build_variants(out.getvalue(), images.VariantSettings(widths=(360,)))
    by_format = {v.format: v for v in built.variants}
    with Image.open(io.BytesIO(by_format["webp"].data)) as img:
        assert img.mode == "RGBA"
    with Image.open(io.BytesIO(by_format["jpeg"].data)) as img:
        assert img.mode == "RGB"


def test_animated_masters_are_served_as_they_are() -> None:
    out = io.BytesIO()
    frames = [Image.new("RGB", (120, 80), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], duration=100)
    built = images.build_variants(out.getvalue(), images.VariantSettings())
    assert built.animated and built.variants == [] and built.blurhash


def test_public_variants_lists_avif_before_webp_and_a_jpeg_img() -> None:
    stored = {
        "images": [
            {"format": f, "width": w, "height": w // 2, "key": f"m/x/{f}{w}", "bytes": 1}
            for f in ("jpeg", "webp", "avif")
            for w in (720, 360)
        ]
    }
    public = images.public_variants(stored, lambda key: f"/media/{key}")
    picture = public["picture"]
    assert [s["type"] for s in picture["sources"]] == ["image/avif", "image/webp"]
    assert picture["sources"][0]["srcset"] == "/media/m/x/avif360 360w, /media/m/x/avif720 720w"
    assert picture["img"]["src"] == "/media/m/x/jpeg720" and picture["img"]["width"] == 720
    assert images.public_variants({}, str) == {"variants": {}, "picture": None, "video": None}
