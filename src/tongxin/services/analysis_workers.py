"""Text analysis for the index, in this process or in worker processes (full builds).

One listing's fields are analysed once (`_Memo`) into index terms, bigrams and the stored
explanation terms (`_analyse`). Big builds hand batches of (title, keywords, body) to
plain `python -c` worker processes over pipes (`_AnalysisPool`, `_worker_main`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import threading
from typing import Any

from ..core.matching.query import index_bigrams, index_terms
from ..core.text import Analyzer
from ..search.engine import encode_expl

log = logging.getLogger(__name__)


class _Memo(Analyzer):
    """Indexing: remembers terms() per text, so the fields analysed for the index are stored
    for explanations without analysing them twice. Everything else goes to the real analyzer."""

    def __init__(self, base: Analyzer) -> None:  # noqa: D107
        self._base = base
        self._memo: dict[str, list[str]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_base"], name)

    def terms(self, text: str) -> list[str]:
        v = self._memo.get(text)
        if v is None:
            v = self._memo[text] = self._base.terms(text)
        return v


class _Fields:
    """What index_terms / index_bigrams read from a listing: its searchable text per field."""

    __slots__ = ("f", "text_weights")

    def __init__(self, title: str, keywords: str, body: str, text_weights: Any) -> None:
        self.f = {"title": title, "keywords": keywords, "body": body}
        self.text_weights = text_weights  # the kind's TextWeights: this stands in for its KindSpec too

    def search_text(self, spec: Any) -> dict[str, str]:
        return self.f


def _analyse(fields: dict[str, str], spec: Any, listing: Any, analyzer: Analyzer, gen: int) -> tuple[list[str], list[str], bytes]:
    """Index terms, bigrams and stored explanation terms of one listing, each field analysed once."""
    memo = _Memo(analyzer)
    t = index_terms(listing, spec, memo)
    b = index_bigrams(listing, spec, memo)
    return t, b, encode_expl(gen, [(name, memo.terms(text)) for name, text in fields.items()])


class _AnalysisPool:
    """Analysis in `n` worker processes (`python -c`, pickles over stdin/stdout).

    Batches go round-robin and come back in submission order; one feeder thread per worker
    writes jobs, so a full pipe never blocks the reading side.
    """

    def __init__(self, n: int, learned: list[str], search_mode: bool, gen: int) -> None:
        self.n = n
        self.init = (learned, search_mode, gen)
        self.procs: list[Any] = []
        self.queues: list[Any] = []
        self.threads: list[threading.Thread] = []
        self.sent = 0
        self.received = 0
        self.peak_rss_mb = 0.0

    def start(self) -> bool:
        import queue
        import sys

        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        try:
            for _ in range(self.n):
                p = subprocess.Popen([sys.executable, "-c", "from tongxin.services.analysis_workers import _worker_main; _worker_main()"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
                q: queue.Queue[Any] = queue.Queue()
                t = threading.Thread(target=_feed, args=(p.stdin, q), daemon=True)
                t.start()
                q.put(self.init)
                self.procs.append(p)
                self.queues.append(q)
                self.threads.append(t)
        except OSError:
            return False
        return True

    def submit(self, rows: list[tuple[str, str, str, str, Any]]) -> None:
        self.queues[self.sent % self.n].put(rows)
        self.sent += 1

    def result(self) -> Analysed:
        import pickle

        p = self.procs[self.received % self.n]
        self.received += 1
        out = pickle.load(p.stdout)
        if isinstance(out, BaseException):
            raise out
        return out

    def probe(self, rows: list[tuple[str, str, str, str, Any]]) -> Analysed | None:
        try:
            outs = []
            for _ in range(self.n):  # every worker must agree
                self.submit(rows)
                outs.append(self.result())
            return outs[0] if all(o == outs[0] for o in outs) else None
        except Exception:  # a worker re-raises whatever its analysis raised (see result): any type
            log.warning("analysis worker probe failed", exc_info=True)
            return None

    def close(self) -> None:
        for p in self.procs:  # peak memory of each worker (VmHWM: getrusage would count the parent's pages at fork)
            try:
                with open(f"/proc/{p.pid}/status", encoding="ascii") as fh:
                    for line in fh:
                        if line.startswith("VmHWM:"):
                            self.peak_rss_mb = max(self.peak_rss_mb, int(line.split()[1]) / 1024)
            except (OSError, ValueError):
                pass
        for q in self.queues:
            q.put(None)
        for p in self.procs:
            try:
                p.stdout.close()
                p.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                p.kill()
        self.procs = []
        self.queues = []


def _feed(pipe: Any, q: Any) -> None:
    import pickle

    try:
        while True:
            job = q.get()
            if job is None:
                break
            pickle.dump(job, pipe, protocol=pickle.HIGHEST_PROTOCOL)
            pipe.flush()
    except (OSError, ValueError):  # the worker went away; the reader sees EOF
        pass
    finally:
        with contextlib.suppress(OSError):
            pipe.close()


def _worker_main() -> None:
    """Entry point of an analysis worker process: init message, then batches until EOF."""
    import pickle
    import sys

    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must not corrupt the result stream
    learned, search_mode, gen = pickle.load(inp)
    a = Analyzer(search_mode=search_mode)
    a.add_terms(learned)
    while True:
        try:
            rows = pickle.load(inp)
        except EOFError:
            return
        try:
            res: Any = _analyse_rows(a, gen, rows)
        except Exception as e:  # reported to the parent, which gives up on workers
            res = RuntimeError(repr(e))
        pickle.dump(res, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


Analysed = tuple[list[tuple[str, str, bytes]], dict[str, set[str]]]


def _analyse_rows(a: Analyzer, gen: int, rows: list[tuple[str, str, str, str, Any]]) -> Analysed:
    """(index terms, bigrams, stored terms) per (title, keywords, body, kind, kind's TextWeights)
    row, and the word terms of the batch per kind (SearchEngine.note_terms), collected here in parallel."""
    out = []
    kinds: dict[str, set[str]] = {}
    for title, kw, body, kind, weights in rows:
        f = _Fields(title, kw, body, weights)
        t, b, e = _analyse(f.f, f, f, a, gen)
        seen = kinds.get(kind)
        if seen is None:
            seen = kinds[kind] = set()
        seen.update(t)
        out.append((" ".join(t), " ".join(b), e))
    return out, kinds
