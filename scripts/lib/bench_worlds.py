"""Measures saving and loading worlds on a private native stack (own Postgres cluster,
free ports): each world of worlds/*.yaml named (default demo and study-50) is generated
there, then saved and loaded five times each. Prints the median and best seconds, the
file's size, and, measured in the same run as baselines, the time to read and parse the
file alone and the median of one ordinary admin call (delivery's participant list), with
the ratios of save and load to them. The machine's load moves the absolute figures; the
ratios less so."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.worldgen import generate, load_spec
from promptpipe_simulator.settings import Settings
from stack import ROOT, NativeStack, Ports

ROUNDS = 5


async def measure(stack: NativeStack, names: list[str], folder: Path) -> list[dict[str, float]]:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / f"{name}.yaml").write_text((ROOT / "worlds" / f"{name}.yaml").read_text())
    backend = Backend(
        Settings(
            delivery_url=stack.url("delivery"),
            mock_wa_url=stack.url("mock_whatsapp"),
            agent_url=stack.url("agent"),
            worlds_dir=folder,
        )
    )
    rows = []
    try:
        for name in names:
            started = time.perf_counter()
            await generate(backend, load_spec(folder / f"{name}.yaml"))
            generated = time.perf_counter() - started
            saves, loads, reads, calls = [], [], [], []
            size = 0
            for _ in range(ROUNDS):
                _, timing = await backend.worlds.save(name)
                saves.append(timing.total)
                size = timing.size_bytes
                _, timing = await backend.worlds.load(name)
                loads.append(timing.total)
                t = time.perf_counter()
                json.loads((folder / f"{name}.world.json").read_bytes())
                reads.append(time.perf_counter() - t)
                t = time.perf_counter()
                participants = await backend.participants()
                calls.append(time.perf_counter() - t)
            rows.append(
                {
                    "name": name,
                    "participants": len(participants),
                    "generated": generated,
                    "size_mb": size / 1e6,
                    "save": statistics.median(saves),
                    "save_best": min(saves),
                    "load": statistics.median(loads),
                    "load_best": min(loads),
                    "read": statistics.median(reads),
                    "call": statistics.median(calls),
                }
            )
            print(f"{name}: generated in {generated:.0f}s", flush=True)
    finally:
        await backend.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=["demo", "study-50"])
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-worlds-", dir=ROOT / ".stack"))
    workdir.chmod(0o755)  # the cluster's files belong to the postgres user when run as root
    stack = NativeStack(workdir / "stack", Ports.free(), overrides={"LLM_PROVIDER": "offline"})
    try:
        stack.up()
        rows = asyncio.run(measure(stack, args.names, workdir / "worlds"))
    finally:
        stack.down()
    print(f"\n{ROUNDS} rounds each; median (best) seconds")
    print(
        f"{'world':<10} {'people':>6} {'size MB':>8} {'save s':>13} {'load s':>13} "
        f"{'read file s':>11} {'admin call s':>12} {'load/read':>9} {'load/call':>9}"
    )
    for r in rows:
        print(
            f"{r['name']:<10} {r['participants']:>6} {r['size_mb']:>8.2f} "
            f"{r['save']:>6.2f} ({r['save_best']:.2f}) {r['load']:>6.2f} ({r['load_best']:.2f}) "
            f"{r['read']:>11.3f} {r['call']:>12.4f} {r['load'] / r['read']:>9.0f} "
            f"{r['load'] / r['call']:>9.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
