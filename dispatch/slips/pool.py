"""A warm pool of render processes for slips: a day's batch laid out on every core, beside the app.

WeasyPrint is pure Python for the most part: in one process, two renders take turns on the GIL. A batch
of 50 slips is therefore handed to a `ProcessPoolExecutor` of SLIP_RENDER_PROCESSES processes (2; 0 lays
everything out in the app's own process, the default under TESTING), made once per app process on first
use and kept. Each process starts clean ("spawn": nothing of the app's threads, database connections or
locks is copied), loads WeasyPrint, the fonts (the CJK subset, dispatch/core/pdf_fonts.py, with the full
font behind it) and the print stylesheet once, and lays out one document as its first job, so the
batches that follow find it warm. A job is plain HTML, already rendered from the templates by the app (in
the printing user's language), and its answer the PDF's bytes: the processes know nothing of the
database or of requests. Should a process die, the batch is laid out here instead and a new pool is made
for the next one.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from flask import current_app

from ..core.pdf import html_to_pdf
from ..core.pdf_fonts import subset_path

_lock = threading.Lock()
_pool: dict[str, Any] = {}  # "key": (pid, processes, static folder, subset), "executor"

NO_SUBSET = "/nonexistent/dispatch-cjk-subset.otf"  # CJK_FONT_SUBSET in a process told to use none

# ----------------------------------------------------------------------------- in a render process

_static_folder: str = ""


def _start(static_folder: str, subset: str | None, warm_up_html: str, stylesheets: tuple[str, ...]) -> None:
    """A render process's start: the app's fonts and static files, and one document laid out."""
    global _static_folder
    _static_folder = static_folder
    os.environ["CJK_FONT_SUBSET"] = subset or NO_SUBSET
    html_to_pdf(warm_up_html, stylesheets, static_folder=static_folder)


def _render(html: str, stylesheets: tuple[str, ...]) -> bytes:
    """One document laid out in a render process (top-level, so the pool can name it to the process)."""
    return html_to_pdf(html, stylesheets, static_folder=_static_folder)


def _pid() -> int:
    return os.getpid()


# ----------------------------------------------------------------------------- in the app


def size() -> int:
    """How many render processes this app uses (SLIP_RENDER_PROCESSES; none under TESTING unless set)."""
    configured = current_app.config.get("SLIP_RENDER_PROCESSES")
    if configured is None:
        return 0 if current_app.testing else 2
    return max(int(configured), 0)


def _warm_up_html() -> str:
    from .documents import slips_html

    return slips_html([], empty_message="服务派工单 Dispatch slip 0123456789")


def executor(stylesheets: tuple[str, ...] = ("css/print.css",)) -> ProcessPoolExecutor | None:
    """This app process's pool (made and started on the first call), or None when it has none."""
    processes = size()
    if processes == 0:
        return None
    subset = subset_path(current_app.config)
    key = (os.getpid(), processes, current_app.static_folder or "", str(subset) if subset else None)
    with _lock:
        if _pool.get("key") == key:
            pool: ProcessPoolExecutor = _pool["executor"]
            return pool
        old = _pool.pop("executor", None)
        if old is not None and _pool.get("key", (None,))[0] == os.getpid():
            old.shutdown(wait=False, cancel_futures=True)
        pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start, initargs=(key[2], key[3], _warm_up_html(), stylesheets))
        for _ in range(processes):  # every process started now, while the request goes on
            pool.submit(_pid)
        _pool.update(key=key, executor=pool)
        return pool


def render(htmls: Sequence[str], stylesheets: Sequence[str], *, in_process: bool = False) -> list[bytes]:
    """Each HTML document as PDF bytes, in order: in the render pool, or here when `in_process` or there
    is none (or it broke: then here, and a new pool next time)."""
    sheets = tuple(stylesheets)
    pool = None if in_process else executor(sheets)
    if pool is not None:
        try:
            futures: list[Future[bytes]] = [pool.submit(_render, html, sheets) for html in htmls]
            return [future.result() for future in futures]
        except BrokenProcessPool:
            current_app.logger.warning("the slip render pool broke: laying the slips out here")
            with _lock:
                if _pool.get("executor") is pool:
                    _pool.clear()
    return [html_to_pdf(html, sheets) for html in htmls]


def worker_pids() -> list[int]:
    """The render processes' ids (for tests and the bench)."""
    with _lock:
        pool = _pool.get("executor")
    if pool is None:
        return []
    return sorted(pool._processes or {})  # the executor's own table of its processes, by pid


def shutdown() -> None:
    """End this process's pool (tests, the bench); the next batch makes a new one."""
    with _lock:
        pool = _pool.pop("executor", None)
        _pool.clear()
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
