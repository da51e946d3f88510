"""Saved world files and generated-world descriptions, without a stack: names, versions,
the folder, and the checks of a description."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promptpipe_simulator.core.worldgen import SpecError, parse_spec
from promptpipe_simulator.core.worlds import FORMAT, VERSION, WorldError, WorldFolder


def world(**fields: Any) -> dict[str, Any]:
    services = {"delivery": {"tables": {"participants": [{}], "messages": [{}, {}]}}}
    services |= {"agent": {}, "mock_whatsapp": {}}
    return {"format": FORMAT, "version": VERSION, "services": services, **fields}


def test_the_folder_writes_reads_lists_and_deletes(tmp_path: Path) -> None:
    folder = WorldFolder(tmp_path / "worlds")
    assert folder.list() == []
    size = folder.write("demo", world(now="2030-01-01T00:00:00Z", summary={"participants": 1}))
    assert size == folder.path("demo").stat().st_size
    assert folder.read("demo")["now"] == "2030-01-01T00:00:00Z"
    [info] = folder.list()
    assert (info.name, info.participants, info.size_bytes) == ("demo", 1, size)
    assert not list((tmp_path / "worlds").glob("*.partial"))
    folder.delete("demo")
    with pytest.raises(WorldError, match="No world 'demo'"):
        folder.read("demo")
    with pytest.raises(WorldError, match="No world"):
        folder.delete("demo")


@pytest.mark.parametrize("name", ["", "../etc/passwd", "a b", "-x", "x" * 65])
def test_a_name_that_is_not_a_plain_file_name_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(WorldError, match="not a world name"):
        WorldFolder(tmp_path).path(name)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"version": 1}, "not a world file"),
        (world(version=0), "version 0, which this simulator .* cannot load"),
        (world(version=VERSION + 1), "newer simulator"),
        (world(version="1"), "no version number"),
        ({**world(), "services": {"delivery": {}}}, "must hold the parts"),
    ],
)
def test_a_file_of_another_version_or_shape_is_refused_with_a_sentence(
    tmp_path: Path, data: dict[str, Any], says: str
) -> None:
    folder = WorldFolder(tmp_path)
    folder.path("old").write_text(json.dumps(data))
    with pytest.raises(WorldError, match=says):
        folder.read("old")


def test_a_description_names_its_cohorts_and_their_intake_days() -> None:
    spec = parse_spec(
        {
            "seed": 4,
            "days": 5,
            "participants": {
                "intake": 2,
                "feedback": [{"day": 5, "count": 3}, {"day": 1, "count": 1}],
                "silent": 1,
                "closed_window": 1,
            },
        },
        default_name="mini",
    )
    assert (spec.name, spec.size, spec.days, spec.seed) == ("mini", 8, 5, 4)
    days = {(c.kind, c.count): c.intake_day for c in spec.cohorts}
    assert days == {
        ("feedback", 3): 0,
        ("feedback", 1): 4,
        ("silent", 1): 0,
        ("closed_window", 1): 0,
        ("intake", 2): 5,
    }


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"participants": {"intake": 1}, "day": 3}, "unknown keys"),
        ({"participants": {"lurking": 1}}, "kinds are"),
        ({"participants": {"intake": -1}}, "a count"),
        ({"days": 2, "participants": {"feedback": [{"day": 3, "count": 1}]}}, "from 0 to days"),
        ({"days": 1, "participants": {"closed_window": 1}}, "days: 2 or more"),
        ({"participants": {"intake": 0}}, "no participants"),
        ({"days": 99, "participants": {"intake": 1}}, "0 to 60"),
    ],
)
def test_a_description_that_does_not_make_sense_is_refused(data: Any, says: str) -> None:
    with pytest.raises(SpecError, match=says):
        parse_spec(data)


def test_the_shipped_descriptions_are_valid() -> None:
    root = Path(__file__).resolve().parents[2] / "worlds"
    from promptpipe_simulator.core.worldgen import load_spec

    demo, study = load_spec(root / "demo.yaml"), load_spec(root / "study-50.yaml")
    assert (demo.size, study.size, study.days) == (7, 50, 14)
