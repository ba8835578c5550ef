"""eSpeak NG through ctypes: text → 16-bit mono samples, with no system package.

The `espeakng-loader` wheel ships the shared library and its voice data. eSpeak NG is process-global
(one voice, one set of parameters, one callback at a time), so the library is initialised once per
process and every call goes through `synthesize`. The ctypes callback object is kept referenced for
the life of the process: eSpeak calls it from C, and a collected callback would crash the process.

eSpeak NG carries state from one utterance to the next (the same call twice gives samples a few
milliseconds apart), and neither re-initialising nor a priming utterance resets it; a fresh process
replays the same calls bit for bit. So `synthesize_all` runs a whole list of utterances in a child
process (`python -m dlforge.data.sources.espeak`) started for that list: the samples depend only on the list.
Four voice variants are not reproducible even so (their breath noise changes from run to run):
UNSTABLE_VARIANTS, refused by dlforge.data.sources.spoken_digits.
"""

from __future__ import annotations

import ctypes

import numpy as np

from dlforge.errors import UserError

_SYNCHRONOUS = 2  # espeak_AUDIO_OUTPUT: AUDIO_OUTPUT_SYNCHRONOUS (samples go to the callback)
_RATE, _PITCH = 1, 3  # espeak_PARAMETER: words per minute, base pitch (0-100)
_CHARS_AUTO = 0x1000  # espeakCHARS_AUTO | no SSML: plain text
UNSTABLE_VARIANTS = ("f2", "f3", "f5", "sandro")  # measured: three fresh runs of the same list disagree
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _Engine:
    """The initialised library, its sample rate and the buffer its callback fills."""

    def __init__(self):
        import espeakng_loader

        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self.sample_rate = self.lib.espeak_Initialize(_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if self.sample_rate <= 0:
            raise UserError("data.source: eSpeak NG (espeakng-loader) failed to initialise")
        self.chunks: list[np.ndarray] = []
        self.callback = _CALLBACK(self._receive)  # referenced here for as long as the library may call it
        self.lib.espeak_SetSynthCallback(self.callback)

    def _receive(self, wav, n: int, events) -> int:
        if n > 0 and wav:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0  # 0: continue synthesis

    def synthesize(self, text: str, voice: str, rate: int, pitch: int) -> np.ndarray:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise UserError(f"data.source: eSpeak NG has no voice '{voice}' (accent+variant, e.g. en-us+f3)")
        self.lib.espeak_SetParameter(_RATE, int(rate), 0)
        self.lib.espeak_SetParameter(_PITCH, int(pitch), 0)
        self.chunks = []
        text_bytes = text.encode()
        self.lib.espeak_Synth(text_bytes, len(text_bytes) + 1, 0, 0, 0, _CHARS_AUTO, None, None)
        self.lib.espeak_Synchronize()
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.int16)


_engine: _Engine | None = None


def engine() -> _Engine:
    """The process's one initialised eSpeak NG."""
    global _engine
    if _engine is None:
        _engine = _Engine()
    return _engine


def synthesize(text: str, voice: str, rate: int = 175, pitch: int = 50) -> tuple[np.ndarray, int]:
    """`text` spoken by `voice` (e.g. 'en-us+f3') at `rate` words per minute and `pitch` (0-100):
    int16 samples and their sample rate (22050 Hz)."""
    e = engine()
    return e.synthesize(text, voice, rate, pitch), e.sample_rate


def variants() -> list[str]:
    """The voice variants eSpeak NG ships (espeak-ng-data/voices/!v/): m1, f4, Alex, ..."""
    from pathlib import Path

    import espeakng_loader

    return sorted(p.name for p in (Path(espeakng_loader.get_data_path()) / "voices" / "!v").iterdir())


def synthesize_all(requests: list[tuple[str, str, int, int]]) -> tuple[list[np.ndarray], int]:
    """(text, voice, rate, pitch) utterances, in order, in a fresh process: their int16 samples and sample rate."""
    import json
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="dlforge-espeak-") as tmp:
        out = Path(tmp) / "samples.npz"
        done = subprocess.run(
            [sys.executable, "-m", "dlforge.data.sources.espeak", str(out)],
            input=json.dumps(requests),
            capture_output=True,
            text=True,
        )
        if done.returncode:
            lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
            raise UserError(lines[-1].removeprefix("error: "))
        with np.load(out) as f:
            samples, lengths, rate = f["samples"], f["lengths"], int(f["rate"])
    return np.split(samples, np.cumsum(lengths)[:-1]), rate


def _main(out: str) -> None:
    """Child side of synthesize_all: utterances as JSON on stdin → one .npz (samples, lengths, rate)."""
    import json
    import sys

    try:
        clips = [synthesize(*r)[0] for r in json.loads(sys.stdin.read())]
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    lengths = np.array([len(c) for c in clips], dtype=np.int64)
    samples = np.concatenate(clips) if clips else np.zeros(0, np.int16)
    np.savez(out, samples=samples, lengths=lengths, rate=engine().sample_rate)


if __name__ == "__main__":
    import sys

    _main(sys.argv[1])
