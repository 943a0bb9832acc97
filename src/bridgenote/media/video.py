"""Short-video processing with PyAV's bundled FFmpeg: probe, H.264/AAC MP4, HLS, poster.

Everything here is synchronous, CPU-bound and free of the database: the job runs it
in a thread and records the result afterwards. Files are written under a scratch
directory that the caller uploads to storage and then deletes.

One decode pass feeds every encoder: the progressive MP4 (the top rendition) and the
lower HLS renditions. The top HLS rendition is a stream copy of that MP4, so the
most expensive encode happens once.
"""

from __future__ import annotations

import fractions
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import av
import av.error
import numpy as np
from PIL import Image

from bridgenote.core.i18n import N_

# Keyframes every GOP_SECONDS and HLS segments of SEGMENT_SECONDS: every segment
# starts on a keyframe and is 2-4 s long (the last one may be shorter).
GOP_SECONDS = 2
SEGMENT_SECONDS = 4
MAX_SIDE = 4096
AUDIO_RATES = (48000, 44100, 32000, 24000, 22050, 16000)
# Peak bit rates per rendition height (VBV cap on top of CRF), bits per second.
MAXRATE = {1080: 5_000_000, 720: 2_500_000, 480: 1_200_000, 360: 800_000, 240: 400_000}
ProgressFn = Callable[[float], None]


class VideoRejected(Exception):
    """The upload can never be processed; ``reason`` is a message id shown to the author."""

    def __init__(self, reason: str, code: str, **params: Any) -> None:
        super().__init__(reason.format(**params) if params else reason)
        self.reason = reason
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Probe:
    width: int
    height: int
    duration: float
    rotation: int
    has_audio: bool
    video_codec: str


@dataclass
class Rendition:
    height: int
    width: int
    bandwidth: int = 0
    codecs: str = ""
    playlist: str = ""  # relative to the HLS directory


@dataclass
class VideoResult:
    width: int
    height: int
    duration_ms: int
    mp4: Path
    poster: Path
    hls_dir: Path
    renditions: list[Rendition] = field(default_factory=list)


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _open(source: Path | BinaryIO, fmt: str | None = None) -> Any:
    try:
        return av.open(source if not isinstance(source, Path) else str(source), "r", format=fmt)
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise VideoRejected(N_("That file is not a video we can read, or it is damaged."), "invalid_video") from exc


def _inspect(container: Any, *, max_seconds: float) -> Probe:
    """The checks made on the container header: a video track of a sane size, not too long."""
    if not container.streams.video:
        raise VideoRejected(N_("That file has no video track."), "no_video_stream")
    stream = container.streams.video[0]
    ctx = stream.codec_context
    width, height = int(ctx.width or 0), int(ctx.height or 0)
    if width < 16 or height < 16:
        raise VideoRejected(N_("That file is not a video we can read, or it is damaged."), "invalid_video")
    if max(width, height) > MAX_SIDE:
        raise VideoRejected(
            N_("That video's picture is too large (at most {limit} pixels on a side)."),
            "video_too_large",
            limit=MAX_SIDE,
        )
    durations = [container.duration / av.time_base if container.duration else 0.0]
    if stream.duration and stream.time_base:
        durations.append(float(stream.duration * stream.time_base))
    duration = max(durations)
    if duration > max_seconds + 0.5:
        raise VideoRejected(N_("That video is longer than {limit} seconds."), "video_too_long", limit=int(max_seconds))
    return Probe(width, height, duration, 0, bool(container.streams.audio), ctx.name or "")


def probe(path: Path, *, max_seconds: float) -> Probe:
    """Read the container header only; reject what must not be decoded at all."""
    container = _open(path)
    try:
        return _inspect(container, max_seconds=max_seconds)
    finally:
        container.close()


# Demuxers an upload may be read with, by the type its magic bytes gave (core.images.sniff_video).
UPLOAD_DEMUXERS = {"video/mp4": "mp4", "video/quicktime": "mov", "video/webm": "webm"}
FIRST_PICTURE_PACKETS = 120


def probe_upload(data: bytes, *, content_type: str, max_seconds: float) -> Probe:
    """The cheap check made at upload time, before anything is stored.

    Reads the container header with the demuxer of the sniffed type (an MP4 is never read
    as anything else), applies :func:`probe`'s checks (a video track, at most ``max_seconds``
    and :data:`MAX_SIDE`), then decodes the first picture only, from at most
    :data:`FIRST_PICTURE_PACKETS` packets: a file whose video cannot be decoded at all is
    refused here rather than in the job. The full decode (and the length measured while
    decoding) still happens in the job. Raises :class:`VideoRejected`.
    """
    fmt = UPLOAD_DEMUXERS.get(content_type)
    if fmt is None:
        raise VideoRejected(N_("That file is not a video we can read, or it is damaged."), "invalid_video")
    container = _open(io.BytesIO(data), fmt)
    try:
        info = _inspect(container, max_seconds=max_seconds)
        rotation = _first_picture_rotation(container)
    except av.error.FFmpegError as exc:
        raise VideoRejected(N_("That file is not a video we can read, or it is damaged."), "invalid_video") from exc
    finally:
        container.close()
    width, height = (info.height, info.width) if rotation in (90, 270) else (info.width, info.height)
    return Probe(width, height, info.duration, rotation, info.has_audio, info.video_codec)


def _first_picture_rotation(container: Any) -> int:
    """Decode until the first picture comes out; its display rotation (0, 90, 180 or 270)."""
    stream = container.streams.video[0]
    for count, packet in enumerate(container.demux(stream), start=1):
        for frame in packet.decode():  # the last, empty packet flushes the decoder
            return int(getattr(frame, "rotation", 0) or 0) % 360
        if count >= FIRST_PICTURE_PACKETS:
            break
    raise VideoRejected(N_("That file is not a video we can read, or it is damaged."), "invalid_video")


def _target_size(width: int, height: int, max_height: int) -> tuple[int, int]:
    """Fit within ``max_height`` on the short side (portrait videos stay sharp), never upscale."""
    short = min(width, height)
    scale = min(1.0, max_height / short)
    return _even(width * scale), _even(height * scale)


def _video_stream(container: Any, width: int, height: int, fps: fractions.Fraction, crf: int, preset: str) -> Any:
    gop = max(1, round(float(fps) * GOP_SECONDS))
    maxrate = next((rate for h, rate in sorted(MAXRATE.items()) if min(width, height) <= h), 5_000_000)
    stream = container.add_stream(
        "libx264",
        rate=fps,
        options={
            "preset": preset,
            "crf": str(crf),
            "profile": "high",
            "maxrate": str(maxrate),
            "bufsize": str(maxrate * 2),
            # Fixed GOPs so that every HLS segment can start on a keyframe.
            "g": str(gop),
            "keyint_min": str(gop),
            "sc_threshold": "0",
        },
    )
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.codec_context.time_base = fractions.Fraction(1, 90000)
    return stream


def _audio_stream(container: Any, rate: int, layout: str) -> Any:
    stream = container.add_stream("aac", rate=rate)
    stream.layout = layout
    stream.bit_rate = 128_000 if layout == "stereo" else 96_000
    return stream


@dataclass
class _Output:
    container: Any
    video: Any
    audio: Any | None
    width: int
    height: int
    graph: Any = None


def _encode_video(out: _Output, frame: Any) -> None:
    for packet in out.video.encode(frame):
        out.container.mux(packet)


def _encode_audio(out: _Output, frame: Any) -> None:
    if out.audio is not None:
        for packet in out.audio.encode(frame):
            out.container.mux(packet)


def _avc_codecs(stream: Any) -> str:
    """RFC 6381 codec string from the encoder's SPS (profile, constraint flags, level)."""
    extra = bytes(stream.codec_context.extradata or b"")
    avc = "avc1.640028"
    if len(extra) >= 4 and extra[0] == 1:  # avcC box
        avc = f"avc1.{extra[1]:02x}{extra[2]:02x}{extra[3]:02x}"
    else:  # Annex B: find the SPS NAL unit
        for start in (m.end() for m in re.finditer(b"\x00\x00\x01", extra)):
            if start + 3 < len(extra) and extra[start] & 0x1F == 7:
                avc = f"avc1.{extra[start + 1]:02x}{extra[start + 2]:02x}{extra[start + 3]:02x}"
                break
    return f"{avc},mp4a.40.2"


def _rotate(frame: Any, rotation: int) -> Any:
    turns = (round(rotation / 90)) % 4
    if not turns:
        return frame
    # PyAV reports the display-matrix angle counter-clockwise; np.rot90 turns counter-clockwise too.
    array = np.rot90(frame.to_ndarray(format="rgb24"), k=turns)
    rotated = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
    rotated.pts, rotated.time_base = frame.pts, frame.time_base
    return rotated


def transcode(
    source: Path,
    workdir: Path,
    *,
    max_seconds: float,
    max_height: int = 720,
    hls_heights: tuple[int, ...] = (720, 480, 360),
    crf: int = 23,
    preset: str = "veryfast",
    progress: ProgressFn | None = None,
) -> VideoResult:
    """MP4 (H.264/AAC, faststart, at most ``max_height`` on the short side), HLS renditions
    (fMP4 segments) and a WebP poster. Raises :class:`VideoRejected` for bad input."""
    info = probe(source, max_seconds=max_seconds)
    container = _open(source)
    try:
        return _transcode(container, info, workdir, max_seconds, max_height, hls_heights, crf, preset, progress)
    except av.error.FFmpegError as exc:
        raise VideoRejected(N_("That file is not a video we can read, or it is damaged."), "invalid_video") from exc
    finally:
        container.close()


def _transcode(
    container: Any,
    info: Probe,
    workdir: Path,
    max_seconds: float,
    max_height: int,
    hls_heights: tuple[int, ...],
    crf: int,
    preset: str,
    progress: ProgressFn | None,
) -> VideoResult:
    vstream = container.streams.video[0]
    vstream.thread_type = "AUTO"
    astream = container.streams.audio[0] if container.streams.audio else None
    fps = vstream.average_rate or vstream.guessed_rate or fractions.Fraction(30)
    if fps > 60:
        fps = fractions.Fraction(60)
    fps = fractions.Fraction(fps).limit_denominator(1001)

    audio_rate = 48000
    audio_layout = "stereo"
    if astream is not None:
        src_rate = int(astream.codec_context.sample_rate or 48000)
        audio_rate = src_rate if src_rate in AUDIO_RATES else 48000
        audio_layout = "mono" if (astream.codec_context.channels or 2) == 1 else "stereo"
    resampler = av.AudioResampler(format="fltp", layout=audio_layout, rate=audio_rate) if astream else None

    workdir.mkdir(parents=True, exist_ok=True)
    hls_dir = workdir / "hls"
    hls_dir.mkdir(exist_ok=True)
    mp4_path = workdir / "video.mp4"

    # Display size after rotation decides the output shape.
    rotation = 0
    width, height = info.width, info.height
    top_w, top_h = _target_size(width, height, max_height)
    outputs: list[_Output] = []
    renditions: list[Rendition] = []

    def open_output(path: Path, fmt: str | None, w: int, h: int, options: dict[str, str]) -> _Output:
        out = av.open(str(path), "w", format=fmt, options=options)
        video = _video_stream(out, w, h, fps, crf, preset)
        audio = _audio_stream(out, audio_rate, audio_layout) if astream is not None else None
        return _Output(out, video, audio, w, h)

    mp4 = open_output(mp4_path, "mp4", top_w, top_h, {"movflags": "+faststart"})
    outputs.append(mp4)
    top_short = min(top_w, top_h)
    lower = sorted({h for h in hls_heights if h < top_short}, reverse=True)[:2]
    for h in lower:
        w2, h2 = _target_size(width, height, h)
        name = f"{min(w2, h2)}p"
        (hls_dir / name).mkdir(exist_ok=True)
        out = open_output(hls_dir / name / "index.m3u8", "hls", w2, h2, _hls_options(hls_dir / name))
        outputs.append(out)
        renditions.append(Rendition(height=h2, width=w2, playlist=f"{name}/index.m3u8"))

    poster_path = workdir / "poster.webp"
    poster_at = min(1.0, info.duration / 3) if info.duration else 0.0
    poster_done = False
    frame_count = 0
    last_reported = -1.0
    frame_tb = fractions.Fraction(1, 90000)
    streams = [vstream] + ([astream] if astream is not None else [])
    first_t: float | None = None
    last_t = -1.0
    min_gap = 1 / float(fps) * 0.5
    for packet in container.demux(*streams):
        if packet.stream.type == "video":
            for frame in packet.decode():
                raw_t = float(frame.time) if frame.time is not None else frame_count / float(fps)
                if first_t is None:
                    first_t = raw_t
                t = raw_t - first_t
                if t > max_seconds + 1:
                    # The header lied about the length: stop before doing unbounded work.
                    raise VideoRejected(
                        N_("That video is longer than {limit} seconds."), "video_too_long", limit=int(max_seconds)
                    )
                if frame_count and t - last_t < min_gap:
                    continue  # above the output frame rate (or a repeated timestamp)
                if frame_count == 0:
                    rotation = int(getattr(frame, "rotation", 0) or 0) % 360
                    if rotation in (90, 270):
                        _swap_for_rotation(outputs, renditions)
                last_t = t
                frame = _rotate(frame, rotation)
                # Source timestamps are kept (variable frame rate stays in sync with the audio).
                pts = round(t / frame_tb)
                for out in outputs:
                    scaled = frame.reformat(width=out.width, height=out.height, format="yuv420p", interpolation="AREA")
                    scaled.pts, scaled.time_base = pts, frame_tb
                    _encode_video(out, scaled)
                if not poster_done and t >= poster_at:
                    _write_poster(frame, poster_path, max(mp4.width, mp4.height))
                    poster_done = True
                frame_count += 1
                if progress is not None and info.duration:
                    share = min(0.95, t / info.duration)
                    if share - last_reported >= 0.05:
                        last_reported = share
                        progress(share)
        elif resampler is not None:
            for frame in packet.decode():
                if frame.time is not None and float(frame.time) > max_seconds + 1:
                    continue
                frame.pts = None
                for resampled in resampler.resample(frame):
                    for out in outputs:
                        _encode_audio(out, resampled)
    if frame_count == 0:
        raise VideoRejected(N_("That file is not a video we can read, or it is damaged."), "invalid_video")
    if resampler is not None:
        for resampled in resampler.resample(None):
            for out in outputs:
                _encode_audio(out, resampled)
    for out in outputs:
        for packet in out.video.encode(None):
            out.container.mux(packet)
        if out.audio is not None:
            for packet in out.audio.encode(None):
                out.container.mux(packet)
    codecs = {id(out): _avc_codecs(out.video) for out in outputs}
    for out in outputs:
        out.container.close()
    top_w, top_h = mp4.width, mp4.height
    # The top HLS rendition is a stream copy of the MP4.
    top_name = f"{min(top_w, top_h)}p"
    (hls_dir / top_name).mkdir(exist_ok=True)
    _remux_to_hls(mp4_path, hls_dir / top_name)
    renditions.insert(0, Rendition(height=top_h, width=top_w, playlist=f"{top_name}/index.m3u8"))
    for rendition, out in zip(renditions, [mp4, *outputs[1:]], strict=True):
        rendition.codecs = codecs[id(out)]
        rendition.bandwidth = _peak_bandwidth(hls_dir / Path(rendition.playlist).parent)
    _write_master(hls_dir / "master.m3u8", renditions)
    duration_ms = round((last_t + 1 / float(fps)) * 1000)
    if not poster_done or (info.duration > 2 and last_t < info.duration * 0.5):
        # Far fewer pictures than the header promises: the file was cut short.
        raise VideoRejected(N_("That file is not a video we can read, or it is damaged."), "invalid_video")
    return VideoResult(top_w, top_h, duration_ms, mp4_path, poster_path, hls_dir, renditions)


def _swap_for_rotation(outputs: list[_Output], renditions: list[Rendition]) -> None:
    """A rotated source: encoders were set up for the stored shape; swap to the displayed one.

    Only possible before the first frame is encoded (encoders open lazily on first use).
    """
    for out in outputs:
        out.width, out.height = out.height, out.width
        out.video.width, out.video.height = out.width, out.height
    for rendition in renditions:
        rendition.width, rendition.height = rendition.height, rendition.width


def _hls_options(directory: Path) -> dict[str, str]:
    return {
        "hls_time": str(SEGMENT_SECONDS),
        "hls_playlist_type": "vod",
        "hls_segment_type": "fmp4",
        "hls_fmp4_init_filename": "init.mp4",
        "hls_segment_filename": str(directory / "seg%03d.m4s"),
        "hls_flags": "independent_segments",
    }


def _remux_to_hls(mp4_path: Path, directory: Path) -> None:
    with (
        av.open(str(mp4_path), "r") as src,
        av.open(str(directory / "index.m3u8"), "w", format="hls", options=_hls_options(directory)) as dst,
    ):
        mapping = {s.index: dst.add_stream_from_template(s) for s in src.streams if s.type in ("video", "audio")}
        for packet in src.demux():
            if packet.dts is None or packet.stream.index not in mapping:
                continue
            packet.stream = mapping[packet.stream.index]
            dst.mux(packet)


def _peak_bandwidth(directory: Path) -> int:
    """Peak segment bit rate from the playlist (``BANDWIDTH`` in the master playlist)."""
    playlist = (directory / "index.m3u8").read_text(encoding="utf-8").splitlines()
    init = (directory / "init.mp4").stat().st_size if (directory / "init.mp4").exists() else 0
    peak = 0.0
    for i, line in enumerate(playlist):
        if line.startswith("#EXTINF:"):
            seconds = float(line.split(":", 1)[1].split(",", 1)[0] or 0)
            name = playlist[i + 1].strip() if i + 1 < len(playlist) else ""
            if seconds > 0 and name and (directory / name).exists():
                peak = max(peak, ((directory / name).stat().st_size + init) * 8 / seconds)
    return max(1, math.ceil(peak))


def _write_master(path: Path, renditions: list[Rendition]) -> None:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for r in sorted(renditions, key=lambda r: -r.width * r.height):
        lines.append(f'#EXT-X-STREAM-INF:BANDWIDTH={r.bandwidth},RESOLUTION={r.width}x{r.height},CODECS="{r.codecs}"')
        lines.append(r.playlist)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_poster(frame: Any, path: Path, longest: int) -> None:
    image = frame.to_image()
    image.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.convert("RGB").save(out, "WEBP", quality=80, method=4)
    path.write_bytes(out.getvalue())
