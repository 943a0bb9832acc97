"""Media pipeline benchmark: data saved, quality kept, throughput (issue 4).

    .venv/bin/python bench/media.py                 # 50 photos, 2 worker processes, 10 s of video
    .venv/bin/python bench/media.py --quick         # 12 photos, 3 s of video (about 30 s)
    .venv/bin/python bench/media.py --photos 80 --workers 2 --video-seconds 20

It prints a table and writes it, with the settings and the load average before and after
the run, to ``bench/results/media.json`` (``--json``).

Photos are generated in the run (no downloads): 12-megapixel-class scenes with sky and
ground gradients, soft objects, fine texture and sensor noise, saved as phone JPEGs
(quality 92, EXIF with GPS), between 1600 and 3000 px on the long side, landscape and
portrait. Every photo goes through the real pipeline code (``core.images``: the upload
master, then ``build_variants`` with the default settings).

Figures:

* bytes a browser downloads for a feed card (the 360 px variant; 720 px for a 2x
  screen) and a detail view (1080 px), AVIF and WebP, against the uploaded JPEG;
* SSIM (luma, Gaussian window, Wang et al. 2004) of the 1080 variants against the
  source scaled to the same size with the same filter;
* photos processed per second with ``--workers`` processes (the pipeline only: the
  quality measures run afterwards), the CPU time per photo (all threads, the steadier
  figure on a shared machine), and both as a ratio to an in-run baseline: a plain Pillow
  "decode, resize to 1080, save JPEG" of the same photos, so the figures carry over
  between machines;
* video: transcode seconds per second of input (MP4 + HLS ladder + poster), and as a
  ratio to an in-run baseline: decoding the same input only.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy.ndimage import gaussian_filter

from bridgenote.core import images
from bridgenote.media import video

CARD_WIDTH = 360
CARD_WIDTH_2X = 720
DETAIL_WIDTH = 1080


# ---------------------------------------------------------------- inputs


def natural_photo(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    long_side = int(rng.integers(1600, 3001))
    w, h = (long_side, long_side * 3 // 4) if seed % 3 else (long_side * 3 // 4, long_side)
    y = np.linspace(0, 1, h)[:, None, None]
    sky, ground = rng.integers(60, 240, 3), rng.integers(10, 160, 3)
    horizon = rng.uniform(0.3, 0.7)
    mix = np.clip((y - horizon) * 8 + 0.5, 0, 1)
    base = sky * (1 - mix) * (1 - 0.3 * y) + ground * mix + np.zeros((h, w, 3))
    img = Image.fromarray(base.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(15, 40))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        rx, ry = int(rng.integers(w // 40, w // 6)), int(rng.integers(h // 40, h // 6))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0 - rx, y0 - ry, x0 + rx, y0 + ry), fill=colour)
        else:
            draw.rectangle((x0 - rx, y0 - ry, x0 + rx, y0 + ry), fill=colour)
    img = img.filter(ImageFilter.GaussianBlur(radius=w / 600))
    # Texture at several scales (foliage, fabric, gravel) plus sensor noise.
    arr = np.asarray(img, dtype=np.float32)
    for scale, amp in ((64, 10.0), (8, 6.0)):
        small = rng.normal(0, amp, (h // scale + 1, w // scale + 1, 1)).astype(np.float32)
        arr += np.asarray(Image.fromarray(small[:, :, 0]).resize((w, h), Image.Resampling.BICUBIC), dtype=np.float32)[
            :, :, None
        ]
    arr += rng.normal(0, 3.0, (h, w, 3)).astype(np.float32)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def phone_jpeg(seed: int) -> bytes:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "PhoneMaker", "Model 9"
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 5.0), 3: "E", 4: (121.0, 28.0, 7.0)}
    out = io.BytesIO()
    natural_photo(seed).save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


# ---------------------------------------------------------------- measures


def ssim(a: Image.Image, b: Image.Image) -> float:
    x = np.asarray(a.convert("L"), dtype=np.float64)
    y = np.asarray(b.convert("L"), dtype=np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = gaussian_filter(x, 1.5), gaussian_filter(y, 1.5)
    sxx = gaussian_filter(x * x, 1.5) - mx * mx
    syy = gaussian_filter(y * y, 1.5) - my * my
    sxy = gaussian_filter(x * y, 1.5) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(s.mean())


def process_one(upload: bytes) -> dict[str, Any]:
    """The pipeline for one upload, as the server runs it: the upload master (checks and
    one decode), then the variants. Only this is timed; quality is measured afterwards."""
    master = images.clean_master(upload, max_bytes=20 * 1024 * 1024)
    built = images.build_variants(master.data, images.VariantSettings())
    detail = max(v.width for v in built.variants if v.width <= DETAIL_WIDTH)
    return {
        "upload": len(upload),
        "sizes": {(v.format, v.width): len(v.data) for v in built.variants},
        "master": master.data,
        "detail": {v.format: v.data for v in built.variants if v.width == detail},
    }


def quality_one(result: dict[str, Any]) -> dict[str, float]:
    """SSIM of each detail variant against the master scaled to its size with the same filter."""
    quality = {}
    for fmt, data in result["detail"].items():
        with Image.open(io.BytesIO(data)) as img, Image.open(io.BytesIO(result["master"])) as src:
            reference = src.convert("RGB").resize(img.size, Image.Resampling.LANCZOS, reducing_gap=3.0)
            quality[fmt] = ssim(reference, img.convert("RGB"))
    return quality


def baseline_one(upload: bytes) -> float:
    started = time.perf_counter()
    with Image.open(io.BytesIO(upload)) as img:
        img = img.convert("RGB")
        img = img.resize((DETAIL_WIDTH, round(img.height * DETAIL_WIDTH / img.width)), Image.Resampling.LANCZOS)
        img.save(io.BytesIO(), "JPEG", quality=82)
    return time.perf_counter() - started


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_pool(fn: Any, items: list[Any], workers: int) -> tuple[list[Any], float, float]:
    """Results, wall seconds, and CPU seconds the worker processes used (all their threads:
    the figure that does not depend on what else runs on the machine)."""
    cpu, started = _children_cpu(), time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:  # its processes are reaped on exit
        results = list(pool.map(fn, items))
    return results, time.perf_counter() - started, _children_cpu() - cpu


def bench_video(seconds: float) -> tuple[float, float]:
    import fractions

    import av

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.mp4"
        fps, (w, h) = 30, (1920, 1080)
        with av.open(str(source), "w") as out:
            vs = out.add_stream("libx264", rate=fps, options={"preset": "veryfast", "crf": "20"})
            vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
            aus = out.add_stream("aac", rate=48000)
            aus.layout = "stereo"
            scene = np.asarray(natural_photo(7).resize((w + 400, h)), dtype=np.uint8)
            for i in range(int(seconds * fps)):
                frame = av.VideoFrame.from_ndarray(
                    np.ascontiguousarray(scene[:, i * 3 % 400 : i * 3 % 400 + w]), "rgb24"
                )
                frame.pts, frame.time_base = i, fractions.Fraction(1, fps)
                for p in vs.encode(frame):
                    out.mux(p)
            for p in vs.encode(None):
                out.mux(p)
            t = np.arange(int(seconds * 48000)) / 48000
            tone = np.stack([0.1 * np.sin(2 * np.pi * 330 * t)] * 2).astype(np.float32)
            for start in range(0, tone.shape[1], 1024):
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(tone[:, start : start + 1024]), "fltp", "stereo"
                )
                frame.sample_rate, frame.pts = 48000, start
                for p in aus.encode(frame):
                    out.mux(p)
            for p in aus.encode(None):
                out.mux(p)
        started = time.perf_counter()
        with av.open(str(source)) as c:
            for _ in c.decode(video=0):
                pass
        decode = time.perf_counter() - started
        started = time.perf_counter()
        video.transcode(source, Path(tmp) / "out", max_seconds=60)
        transcode = time.perf_counter() - started
    return transcode / seconds, transcode / decode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--video-seconds", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="12 photos and 3 s of video")
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "media.json")
    args = parser.parse_args()
    if args.quick:
        args.photos, args.video_seconds = 12, min(args.video_seconds, 3.0)
    load_before = os.getloadavg()

    uploads = [phone_jpeg(seed) for seed in range(args.photos)]
    results, elapsed, cpu = timed_pool(process_one, uploads, args.workers)
    _baseline, baseline_elapsed, baseline_cpu = timed_pool(baseline_one, uploads, args.workers)
    qualities, _wall, _cpu = timed_pool(quality_one, results, args.workers)
    for result, quality in zip(results, qualities, strict=True):
        result["ssim"] = quality

    def saved(fmt: str, width: int) -> float:
        ratios = []
        for r in results:
            chosen = max(w for f, w in r["sizes"] if f == fmt and w <= width)
            ratios.append(r["sizes"][(fmt, chosen)] / r["upload"])
        return 100 * (1 - statistics.mean(ratios))

    def mean_kb(fmt: str, width: int) -> float:
        return (
            statistics.mean(
                r["sizes"][(fmt, max(w for f, w in r["sizes"] if f == fmt and w <= width))] for r in results
            )
            / 1024
        )

    upload_kb = statistics.mean(r["upload"] for r in results) / 1024
    rows = [
        ("photos", f"{len(results)} (mean upload {upload_kb:.0f} KB)", ""),
        *[
            (f"feed card {w}px {fmt}", f"{mean_kb(fmt, w):.0f} KB", f"{saved(fmt, w):.1f}% saved (target >= 80%)")
            for w in (CARD_WIDTH, CARD_WIDTH_2X)
            for fmt in ("avif", "webp")
        ],
        *[
            (
                f"detail {DETAIL_WIDTH}px {fmt}",
                f"{mean_kb(fmt, DETAIL_WIDTH):.0f} KB",
                f"{saved(fmt, DETAIL_WIDTH):.1f}% saved",
            )
            for fmt in ("avif", "webp", "jpeg")
        ],
        *[
            (
                f"SSIM {DETAIL_WIDTH}px {fmt}",
                f"mean {statistics.mean(r['ssim'][fmt] for r in results):.4f}",
                f"min {min(r['ssim'][fmt] for r in results):.4f} (target >= 0.95)",
            )
            for fmt in ("avif", "webp", "jpeg")
        ],
        (
            f"photos/s, {args.workers} processes",
            f"{len(uploads) / elapsed:.2f}",
            f"{elapsed / baseline_elapsed:.1f}x the in-run baseline"
            f" (resize+JPEG: {len(uploads) / baseline_elapsed:.1f}/s)",
        ),
        (
            "CPU per photo (all threads)",
            f"{1000 * cpu / len(uploads):.0f} ms",
            f"{cpu / baseline_cpu:.1f}x the in-run baseline ({1000 * baseline_cpu / len(uploads):.0f} ms)",
        ),
    ]
    if args.video_seconds > 0:
        per_second, ratio = bench_video(args.video_seconds)
        rows.append(
            (
                "video 1080p30 -> MP4 720p + HLS + poster",
                f"{per_second:.2f} s per s of input",
                f"{ratio:.1f}x the in-run baseline (decode only)",
            )
        )
    load_after = os.getloadavg()
    rows.append(
        (
            "load average (1, 5, 15 min)",
            f"{load_before[0]:.1f} {load_before[1]:.1f} {load_before[2]:.1f} before",
            f"{load_after[0]:.1f} {load_after[1]:.1f} {load_after[2]:.1f} after ({os.cpu_count()} CPUs)",
        )
    )
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:<{value_width}}  {note}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "settings": {"photos": args.photos, "workers": args.workers, "video_seconds": args.video_seconds},
                "variant_settings": repr(images.VariantSettings()),
                "load_before": load_before,
                "load_after": load_after,
                "rows": rows,
                "cpu_seconds": {"pipeline": cpu, "baseline": baseline_cpu},
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
