"""eSpeak NG through ctypes: text → 16-bit mono samples, with no system package.

The `espeakng-loader` wheel ships the shared library and its voice data. eSpeak NG is process-global
(one voice, one set of parameters, one callback at a time), so the library is initialised once per
process and every call goes through `synthesize`. The ctypes callback object is kept referenced for
the life of the process: eSpeak calls it from C, and a collected callback would crash the process.
"""

from __future__ import annotations

import ctypes

import numpy as np

from dlforge.errors import UserError

_SYNCHRONOUS = 2  # espeak_AUDIO_OUTPUT: AUDIO_OUTPUT_SYNCHRONOUS (samples go to the callback)
_RATE, _PITCH = 1, 3  # espeak_PARAMETER: words per minute, base pitch (0-100)
_CHARS_AUTO = 0x1000  # espeakCHARS_AUTO | no SSML: plain text
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
