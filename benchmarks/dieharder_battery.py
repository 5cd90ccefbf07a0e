"""Debian's ``dieharder`` on the mask generators' raw bits, with a negative control.

    python benchmarks/dieharder_battery.py --out dropoutlib/book/results/dieharder.json
    python benchmarks/dieharder_battery.py --battery standard --out ...   # hours, not a day

Each (generator, stream) pair is piped as raw 32-bit words into
``dieharder -g 200`` (``stdin_input_raw``). ``--battery full`` (the default)
runs ``dieharder -a``, every test at its default sample sizes, about 240 GB
of input per pair (roughly an hour per pair for dieharder alone on a quiet
core, more for the slower streams); ``--battery standard`` runs the same
tests one process each, but ``rgb_lagged_sum`` at 8 of its 33 lags, which
cuts the input to about a tenth. Generators:

* ``hash``: :func:`dropoutlib.hashmask.hash_bits_at`, the default mask's bits;
* ``philox``: :func:`dropoutlib.philox.philox_bits_at`, fused Philox4x32-10;
* ``weyl``: the negative control, a Weyl sequence ``(c + k_0) * 0x9E3779B9
  mod 2^32`` over the stream's counter ``c`` (``k_0``: the key's first word).
  It is equidistributed but each word is its predecessor plus a constant; a
  battery that does not fail it proves nothing.

Streams, the three ways a training run reads the bits:

* ``index``: along the flat index 0, 1, 2, ... at one fixed key (one mask);
* ``steps``: at one fixed index, across the step keys ``fold_in(key, t)``,
  t = 0, 1, 2, ..., as training draws a unit's masks step after step (for
  ``weyl`` the counter is t). Step numbers are 32-bit: after 2^32 steps the
  stream goes on with the next index;
* ``wrap``: along the flat index from 2^32 - 2^24 on, so that the 64-bit index
  crosses 2^32 (its low word wraps to 0 and its high word becomes 1) 2^24
  words into the stream.

Every dieharder process reads its stream from the beginning. The JSON holds
every p-value with dieharder's assessment (WEAK outside [0.005, 0.995],
FAILED outside [1e-6, 1 - 1e-6]), the words written to dieharder and the
time taken; a perfect generator gets about 1 WEAK in 100 p-values and
essentially no FAILED; so each WEAK test is run again alone with ten times
its p-samples, as dieharder's "resolve ambiguity" mode does, and both
outcomes are stored. ``--tests`` runs chosen tests (``-d N``), as the quick
subset in ``tests/test_dieharder.py`` does.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, Sequence

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax
import jax.numpy as jnp
import numpy as np

from dropoutlib._counter import key_words
from dropoutlib.hashmask import hash_bits_at
from dropoutlib.philox import philox_bits_at

__all__ = ["GENERATORS", "STREAMS", "DieharderResult", "parse_dieharder", "run_dieharder", "stream_words", "weyl_bits_at"]

CHUNK = 1 << 22  # words per generated block (16 MiB)
WRAP_START = (1 << 32) - (1 << 24)
KEY_SEED = 2026
STEP_INDEX = 0  # the fixed unit of the "steps" stream
GOLDEN = 0x9E3779B9


def weyl_bits_at(key: jax.Array, lo: jax.Array, hi: jax.Array | None = None) -> jax.Array:
    """The negative control: ``(lo + k_0) * 0x9E3779B9 mod 2^32`` (``hi`` ignored)."""
    k0, _ = key_words(key)
    return (jnp.asarray(lo, jnp.uint32) + k0) * jnp.uint32(GOLDEN)


GENERATORS: dict[str, Callable] = {"hash": hash_bits_at, "philox": philox_bits_at, "weyl": weyl_bits_at}
STREAMS = ("index", "steps", "wrap")


@functools.lru_cache(maxsize=None)
def _make_along_index(generator: str) -> Callable:
    bits_at = GENERATORS[generator]

    @jax.jit
    def block(key, start_lo, start_hi):
        lo = start_lo + jnp.arange(CHUNK, dtype=jnp.uint32)
        hi = start_hi + (lo < start_lo).astype(jnp.uint32)  # carry when the low word wraps
        return bits_at(key, lo, hi)

    return block


@functools.lru_cache(maxsize=None)
def _make_across_steps(generator: str) -> Callable:
    bits_at = GENERATORS[generator]

    @jax.jit
    def block(key, start_step, unit):
        steps = start_step + jnp.arange(CHUNK, dtype=jnp.uint32)
        if generator == "weyl":  # the counter is the step
            return bits_at(key, steps + unit)
        keys = jax.vmap(lambda t: jax.random.fold_in(key, t))(steps)
        return jax.vmap(lambda k: bits_at(k, unit, jnp.uint32(0)))(keys)

    return block


def stream_words(generator: str, stream: str, key: jax.Array | None = None) -> Iterator[np.ndarray]:
    """Blocks of ``CHUNK`` uint32 words of ``generator``'s bits along ``stream``, without end.

    The next block is dispatched before the current one is handed out, so
    JAX computes while the consumer reads.
    """
    if generator not in GENERATORS:
        raise ValueError(f"generator must be one of {sorted(GENERATORS)}, got {generator!r}")
    if stream not in STREAMS:
        raise ValueError(f"stream must be one of {STREAMS}, got {stream!r}")
    key = jax.random.key(KEY_SEED) if key is None else key
    if stream == "steps":
        block = _make_across_steps(generator)
        per_unit = (1 << 32) // CHUNK  # step numbers are 32-bit: then the next unit

        def launch(n):
            return block(key, jnp.uint32((n % per_unit) * CHUNK), jnp.uint32(STEP_INDEX + n // per_unit))

    else:
        block = _make_along_index(generator)
        first = 0 if stream == "index" else WRAP_START

        def launch(n):
            start = (first + n * CHUNK) % (1 << 64)
            return block(key, jnp.uint32(start & 0xFFFFFFFF), jnp.uint32(start >> 32))

    n = 0
    pending = launch(n)
    while True:
        n += 1
        following = launch(n)
        yield np.asarray(pending)
        pending = following


class DieharderResult(dict):
    """One line of dieharder's report: test, ntup, tsamples, psamples, pvalue, assessment."""


_LINE = re.compile(
    r"^\s*(?P<test>[A-Za-z0-9_]+)\|\s*(?P<ntup>\d+)\|\s*(?P<tsamples>\d+)\|\s*(?P<psamples>\d+)\|"
    r"\s*(?P<pvalue>[0-9.eE+-]+)\|\s*(?P<assessment>[A-Z]+)\s*$"
)


def parse_dieharder(text: str) -> list[DieharderResult]:
    """The result lines of dieharder's default table output."""
    results = []
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            results.append(
                DieharderResult(
                    test=match["test"],
                    ntup=int(match["ntup"]),
                    tsamples=int(match["tsamples"]),
                    psamples=int(match["psamples"]),
                    pvalue=float(match["pvalue"]),
                    assessment=match["assessment"],
                )
            )
    return results


def run_dieharder(
    generator: str,
    stream: str,
    tests: Sequence[str] | None = None,
    *,
    extra: Sequence[str] = (),
    timeout: float | None = None,
) -> dict:
    """Pipe ``generator``'s ``stream`` into ``dieharder -g 200`` and parse its report.

    ``tests`` are dieharder test arguments, e.g. ``["-d", "0"]`` or
    ``["-d", "200", "-n", "2"]``, one list entry per flag; None runs ``-a``.
    Returns the parsed results, the words consumed and the seconds taken.
    """
    binary = shutil.which("dieharder")
    if binary is None:
        raise FileNotFoundError("dieharder is not installed (Debian: apt-get install dieharder)")
    command = [binary, "-g", "200", *(["-a"] if tests is None else tests), *extra]
    start = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors)
        written = [0]

        def feed():
            try:
                for words in stream_words(generator, stream):
                    process.stdin.write(words.tobytes())
                    written[0] += words.size
            except (BrokenPipeError, ValueError, OSError):
                pass  # dieharder read all it wanted and closed the pipe

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        # Not communicate(): it would close dieharder's stdin before the feeder writes.
        timer = threading.Timer(timeout, process.kill) if timeout else None
        if timer:
            timer.start()
        stdout = process.stdout.read()
        process.wait()
        if timer:
            timer.cancel()
        feeder.join(timeout=60)
        try:
            process.stdin.close()
        except OSError:
            pass
        errors.seek(0)
        stderr = errors.read()
    text = stdout.decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {process.returncode}: {stderr.decode()[-2000:]}")
    return {
        "generator": generator,
        "stream": stream,
        "command": " ".join(["dieharder", *command[1:]]),
        "results": parse_dieharder(text),
        "words_written": written[0],
        "seconds": round(time.perf_counter() - start, 1),
    }


# The runs that ``dieharder -a`` makes, as (test number, ntuple); None: the
# test's own. rgb_lagged_sum (203) at its 33 lags reads 5.6e10 words (224 GB)
# of the roughly 240 GB that -a reads; the "standard" battery keeps 8 of them.
ALL_TESTS = (
    [(d, None) for d in range(18)]
    + [(100, None), (101, None), (102, None)]
    + [(200, n) for n in range(1, 13)]
    + [(201, n) for n in range(2, 6)]
    + [(202, n) for n in range(2, 6)]
    + [(203, n) for n in range(33)]
    + [(d, None) for d in range(204, 210)]
)
STANDARD_LAGS = (0, 1, 2, 3, 4, 7, 8, 16)
BATTERIES = {
    "full": None,  # dieharder -a, one process
    "standard": [t for t in ALL_TESTS if t[0] != 203 or t[1] in STANDARD_LAGS],
}
TEST_NUMBERS = {
    name: number for number, name in enumerate(
        "diehard_birthdays diehard_operm5 diehard_rank_32x32 diehard_rank_6x8 diehard_bitstream "
        "diehard_opso diehard_oqso diehard_dna diehard_count_1s_str diehard_count_1s_byt "
        "diehard_parking_lot diehard_2dsphere diehard_3dsphere diehard_squeeze diehard_sums "
        "diehard_runs diehard_craps marsaglia_tsang_gcd".split())
} | {"sts_monobit": 100, "sts_runs": 101, "sts_serial": 102, "rgb_bitdist": 200, "rgb_minimum_distance": 201,
     "rgb_permutations": 202, "rgb_lagged_sum": 203, "rgb_kstest_test": 204, "dab_bytedistrib": 205, "dab_dct": 206,
     "dab_filltree": 207, "dab_filltree2": 208, "dab_monobit2": 209}
RESOLVE_FACTOR = 10  # a WEAK test is run again with this many times its p-samples

# Under "a perfect generator", each p-value is uniform: dieharder calls it
# WEAK outside [0.005, 0.995] (probability 0.01) and FAILED outside
# [1e-6, 1 - 1e-6] (probability 2e-6).
P_WEAK, P_FAILED = 0.01, 2e-6


def _summary(results: list[dict]) -> dict:
    """Counts of the first assessments, of the final ones (a WEAK resolved by its rerun), and what chance gives."""
    counts = {"PASSED": 0, "WEAK": 0, "FAILED": 0}
    final = {"PASSED": 0, "WEAK": 0, "FAILED": 0}
    for r in results:
        counts[r["assessment"]] += 1
        final[r.get("resolved", r)["assessment"]] += 1
    return {**counts, "final": final, "pvalues": len(results), "expected_weak": round(P_WEAK * len(results), 2)}


def resolve_weak(generator: str, stream: str, results: list[dict]) -> None:
    """Run every WEAK test again alone with ``RESOLVE_FACTOR`` times its p-samples; store the outcome as ``resolved``.

    This is what dieharder's own "resolve ambiguity" mode (``-Y 1``) does: a
    p-value in the outer 1 % happens to a perfect generator once in a hundred
    tests, so a WEAK result is a question, answered by more samples. (The
    rerun reads its stream from the start, so it includes the first run's data.)
    """
    for i, r in enumerate(results):
        if r["assessment"] != "WEAK":
            continue
        number = TEST_NUMBERS[r["test"]]
        args = ["-d", str(number), *(["-n", str(r["ntup"])] if 200 <= number <= 203 else []),
                "-p", str(RESOLVE_FACTOR * r["psamples"])]
        rerun = run_dieharder(generator, stream, args)["results"]
        # Tests that report several p-values (runs, craps, gcd, sts_serial, ...): the same position.
        same = [x for x in rerun if x["test"] == r["test"] and x["ntup"] == r["ntup"]]
        position = sum(1 for x in results[:i] if x["test"] == r["test"] and x["ntup"] == r["ntup"])
        r["resolved"] = {k: same[position][k] for k in ("psamples", "pvalue", "assessment")}
        print(f"  {generator}/{stream} {r['test']} {r['ntup']}: WEAK (p = {r['pvalue']:.6f}) rerun with "
              f"{r['resolved']['psamples']} p-samples: p = {r['resolved']['pvalue']:.6f} "
              f"{r['resolved']['assessment']}", flush=True)


def _test_args(test: int, ntuple: int | None) -> list[str]:
    return ["-d", str(test)] + ([] if ntuple is None else ["-n", str(ntuple)])


def run_battery(generator: str, stream: str, tests: Sequence[tuple[int, int | None]] | None) -> dict:
    """``dieharder -a`` (``tests`` None) or each (test, ntuple) of ``tests`` in its own process."""
    if tests is None:
        run = run_dieharder(generator, stream, None, extra=())
        run["battery"] = "dieharder -a"
        return run
    run = {"generator": generator, "stream": stream, "command": "dieharder -g 200 -d N [-n ntuple], one run each",
           "results": [], "words_written": 0, "seconds": 0.0}
    for test, ntuple in tests:
        part = run_dieharder(generator, stream, _test_args(test, ntuple), extra=())
        if not part["results"]:
            raise RuntimeError(f"dieharder {' '.join(_test_args(test, ntuple))} reported nothing")
        for r in part["results"]:
            r["seconds"] = part["seconds"]
            print(f"  {generator}/{stream} {r['test']:>22} {r['ntup']:>2}: p = {r['pvalue']:.6f} {r['assessment']:>6}"
                  f" ({part['seconds']:.0f} s)", flush=True)
        run["results"] += part["results"]
        run["words_written"] += part["words_written"]
        run["seconds"] = round(run["seconds"] + part["seconds"], 1)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generators", nargs="+", default=list(GENERATORS), choices=list(GENERATORS))
    parser.add_argument("--streams", nargs="+", default=list(STREAMS), choices=list(STREAMS))
    parser.add_argument("--battery", default="full", choices=list(BATTERIES),
                        help="full: dieharder -a; standard: every test of -a, rgb_lagged_sum at 8 of its 33 lags")
    parser.add_argument("--tests", nargs="+", type=int, help="these dieharder test numbers (-d N) instead")
    parser.add_argument("--out", help="write the JSON object to this file (and update it after every run)")
    args = parser.parse_args()

    tests = [(t, None) for t in args.tests] if args.tests else BATTERIES[args.battery]
    version = subprocess.run(["dieharder", "-l"], capture_output=True, text=True).stdout
    version = re.search(r"dieharder version ([0-9.]+)", version)
    output = {
        "dieharder_version": version[1] if version else None,
        "battery": "custom" if args.tests else args.battery,
        "standard_lags": list(STANDARD_LAGS),
        "jax": jax.__version__,
        "key": f"jax.random.key({KEY_SEED})",
        "streams": {
            "index": "flat index 0, 1, 2, ... at one key",
            "steps": f"flat index {STEP_INDEX} across keys fold_in(key, t), t = 0, 1, ..., 2^32 - 1 "
                     f"(then index {STEP_INDEX + 1}, ...)",
            "wrap": f"flat index {WRAP_START} = 2^32 - 2^24, {WRAP_START + 1}, ... (crosses 2^32)",
        },
        "resolve_factor": RESOLVE_FACTOR,
        "p_weak": P_WEAK,
        "p_failed": P_FAILED,
        "runs": [],
    }
    if args.out and Path(args.out).exists():  # keep the other runs of an earlier invocation
        previous = json.loads(Path(args.out).read_text())
        if previous.get("battery") == output["battery"]:
            done = {(g, s) for g in args.generators for s in args.streams}
            output["runs"] = [r for r in previous.get("runs", []) if (r["generator"], r["stream"]) not in done]
    for generator in args.generators:
        for stream in args.streams:
            run = run_battery(generator, stream, tests)
            resolve_weak(generator, stream, run["results"])
            run["summary"] = _summary(run["results"])
            output["runs"].append(run)
            print(f"{generator:>7} {stream:>6}: {run['summary']} in {run['seconds']:.0f} s, "
                  f"{run['words_written'] * 4 / 1e9:.1f} GB read", flush=True)
            if args.out:
                Path(args.out).write_text(json.dumps(output, indent=1) + "\n")
    print(json.dumps({"runs": [{k: r[k] for k in ("generator", "stream", "summary", "seconds")} for r in output["runs"]]}))


if __name__ == "__main__":
    main()
