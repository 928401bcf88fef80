"""The OCR worker pool: a bounded ``ProcessPoolExecutor`` off the event loop, with a per-page time limit.

OCR is CPU-bound for seconds a page, so it never runs in the server's process: pages go to ``workers`` spawned
processes (each loads the models once and uses one ONNX thread, so N workers use N cores). At most ``workers``
pages are in flight; the rest wait in the event loop (not in the executor's unbounded queue), so a 30-page scan
takes its turn page by page and the API keeps answering. A page over the time limit cannot be cancelled inside
its worker, so the workers are killed and the pool starts afresh; the page is recorded as timed out and any other
page that was in flight on the killed pool is tried once more.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Coroutine
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from contracts import ocr

log = logging.getLogger(__name__)


class PageTimeout(Exception):
    pass


class PageFailed(Exception):
    pass


def _warm() -> None:
    """Worker initialiser: load the models before the first page arrives."""
    ocr.engine()


class OcrPool:
    def __init__(self, workers: int = 1, page_timeout: float = 120.0):
        self.workers = workers
        self.page_timeout = page_timeout
        self._executor: ProcessPoolExecutor | None = None
        self._generation = 0
        self._slots: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task] = set()

    @classmethod
    def from_settings(cls, settings: Any) -> OcrPool:
        return cls(workers=settings.contracts_ocr_workers, page_timeout=settings.contracts_ocr_page_timeout_seconds)

    def _pool(self) -> tuple[ProcessPoolExecutor, int]:
        if self._executor is None:
            # spawn, not fork: the server process has threads (database drivers, the loop's executor)
            self._executor = ProcessPoolExecutor(max_workers=self.workers, initializer=_warm,
                                                 mp_context=multiprocessing.get_context("spawn"))
            self._generation += 1
        return self._executor, self._generation

    def _restart(self, generation: int) -> None:
        """Kill the workers of ``generation`` (if it is still the current pool); the next page starts a new one."""
        if self._executor is None or generation != self._generation:
            return
        executor, self._executor = self._executor, None
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    async def read_page(self, image: bytes) -> ocr.PageText:
        """OCR one page image in a worker. PageTimeout past the limit, PageFailed when the worker died on it."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        async with self._slots:
            for attempt in (1, 2):
                executor, generation = self._pool()
                future = asyncio.wrap_future(executor.submit(ocr.read_bytes, image))
                try:
                    return await asyncio.wait_for(future, self.page_timeout)
                except TimeoutError:
                    self._restart(generation)
                    raise PageTimeout(f"page took longer than {self.page_timeout:g} s") from None
                except BrokenProcessPool:
                    restarted_by_other = generation != self._generation or self._executor is None
                    self._restart(generation)
                    if attempt == 2 or not restarted_by_other:
                        raise PageFailed("the OCR worker died on this page") from None
        raise AssertionError("unreachable")

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
        """Run a document's reading in the background of this loop, keeping a reference until it ends."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        """Wait for every background reading started here (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
