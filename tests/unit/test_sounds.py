"""The horn's shipped sounds (resources/sounds/) are what make_sounds.py writes."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOUNDS = ROOT / "resources" / "sounds"


def test_the_shipped_sounds_are_the_scripts_byte_for_byte() -> None:
    done = subprocess.run(
        [sys.executable, str(SOUNDS / "make_sounds.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_one_sound_per_priority_the_more_urgent_the_shorter_cycle() -> None:
    cycles = []
    for priority in (1, 2, 3, 4):
        with wave.open(str(SOUNDS / f"priority{priority}.wav"), "rb") as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22_050)
            cycles.append(w.getnframes() / w.getframerate())
    assert cycles == sorted(cycles) and len(set(cycles)) == 4
