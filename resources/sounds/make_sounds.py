#!/usr/bin/env python3
"""Write the alarm horn's sounds, one per priority (``docs/alarms.md``, "The horn").

    python3 resources/sounds/make_sounds.py          # writes priority1.wav … priority4.wav
    python3 resources/sounds/make_sounds.py --check  # exit 1 if a shipped file differs

Standard library only (``wave``, ``math``): the same Python writes the same bytes, and
``tests/unit/test_sounds.py`` checks the shipped files are what this script writes.
Each file is one cycle of its pattern, silence included; the horn loops it until it
is silenced. The more urgent, the faster, higher and louder (ISA-18.2: the sound tells
the priority before the dispatcher looks):

========  ==========================================================  =========
priority  pattern                                                     cycle
========  ==========================================================  =========
1         a two-tone yelp, 960 / 720 Hz, 8 × 125 ms, then 250 ms rest  1.25 s
2         three 800 Hz pulses of 150 ms, 100 ms apart, then 650 ms     1.3 s
3         two 620 Hz pulses of 200 ms, 150 ms apart, then 1.2 s        1.75 s
4         one soft 520 Hz chime of 300 ms, fading, then 2 s            2.3 s
========  ==========================================================  =========

16-bit signed PCM, mono, 22 050 Hz; every tone fades in and out over 5 ms (no click).
"""

from __future__ import annotations

import io
import math
import struct
import sys
import wave
from pathlib import Path

RATE = 22_050
FADE_S = 0.005
HERE = Path(__file__).resolve().parent

#: (frequency Hz or 0 for silence, seconds, amplitude 0..1, decays) per segment
Segment = tuple[float, float, float, bool]

PATTERNS: dict[int, list[Segment]] = {
    1: [(960.0 if i % 2 == 0 else 720.0, 0.125, 0.7, False) for i in range(8)]
    + [(0.0, 0.25, 0.0, False)],
    2: [
        (800.0, 0.15, 0.6, False),
        (0.0, 0.1, 0.0, False),
        (800.0, 0.15, 0.6, False),
        (0.0, 0.1, 0.0, False),
        (800.0, 0.15, 0.6, False),
        (0.0, 0.65, 0.0, False),
    ],
    3: [
        (620.0, 0.2, 0.5, False),
        (0.0, 0.15, 0.0, False),
        (620.0, 0.2, 0.5, False),
        (0.0, 1.2, 0.0, False),
    ],
    4: [(520.0, 0.3, 0.35, True), (0.0, 2.0, 0.0, False)],
}


def samples(pattern: list[Segment]) -> bytes:
    out = bytearray()
    fade = int(FADE_S * RATE)
    for freq, seconds, amp, decays in pattern:
        n = round(seconds * RATE)
        for i in range(n):
            if freq == 0.0:
                value = 0
            else:
                envelope = min(1.0, i / fade, (n - 1 - i) / fade)
                if decays:
                    envelope *= math.exp(-3.0 * i / n)
                value = round(32767 * amp * envelope * math.sin(2 * math.pi * freq * i / RATE))
            out += struct.pack("<h", value)
    return bytes(out)


def wav_bytes(priority: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples(PATTERNS[priority]))
    return buffer.getvalue()


def file_name(priority: int) -> str:
    return f"priority{priority}.wav"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    differ = []
    for priority in sorted(PATTERNS):
        path = HERE / file_name(priority)
        data = wav_bytes(priority)
        if check:
            if not path.exists() or path.read_bytes() != data:
                differ.append(path.name)
        else:
            path.write_bytes(data)
            print(f"{path.name}: {len(data)} bytes")
    if differ:
        print("differs from what make_sounds.py writes: " + ", ".join(differ), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
