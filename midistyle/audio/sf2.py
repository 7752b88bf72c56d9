"""Reading SoundFont 2 files (RIFF ``sfbk``): samples and the zones of one preset.

Only what a sample player needs: 16-bit sample data, preset / instrument zones with their
generators resolved (instrument global zone as defaults, local zone overrides, preset
generators added on top, key and velocity ranges intersected), loop points, root key and tuning,
volume envelope. Modulators other than the SoundFont defaults are ignored.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

# generator numbers (SoundFont 2.04, section 8.1.2)
START_OFS, END_OFS, STARTLOOP_OFS, ENDLOOP_OFS, START_COARSE = 0, 1, 2, 3, 4
END_COARSE = 12
PAN = 17
DELAY_VOL, ATTACK_VOL, HOLD_VOL, DECAY_VOL, SUSTAIN_VOL, RELEASE_VOL = 33, 34, 35, 36, 37, 38
KEY_TO_HOLD, KEY_TO_DECAY = 39, 40
INSTRUMENT = 41
KEY_RANGE, VEL_RANGE = 43, 44
STARTLOOP_COARSE = 45
ATTENUATION = 48
ENDLOOP_COARSE = 50
COARSE_TUNE, FINE_TUNE = 51, 52
SAMPLE_ID, SAMPLE_MODES = 53, 54
SCALE_TUNING = 56
ROOT_KEY = 58

#: Default generator values (unsigned ranges handled separately).
DEFAULTS = {DELAY_VOL: -12000, ATTACK_VOL: -12000, HOLD_VOL: -12000, DECAY_VOL: -12000,
            SUSTAIN_VOL: 0, RELEASE_VOL: -12000, SCALE_TUNING: 100, ROOT_KEY: -1}
_RANGE_GENS = (KEY_RANGE, VEL_RANGE)
_WORD_GENS = (INSTRUMENT, SAMPLE_ID)


@dataclass
class Zone:
    """One playable sample zone of a preset, generators resolved.

    Attributes
    ----------
    key_range, vel_range : tuple of int
        Inclusive MIDI key and velocity ranges the zone answers.
    sample : ndarray of float32
        The zone's sample data in [-1, 1) (from its start to its end, offsets applied), with one
        guard point appended.
    loop : tuple of int or None
        Loop start and end (indices into ``sample``) when the zone loops.
    sample_rate : int
        Rate the sample was recorded at.
    root_key : int
        Key at which the sample plays at its recorded pitch.
    tune_cents : float
        Coarse + fine tuning + the sample's pitch correction, in cents.
    scale_tuning : float
        Cents per key (100: equal temperament).
    attenuation_cb : float
        Initial attenuation in centibels.
    gens : dict
        Every resolved generator (number -> value), for envelope parameters.
    stereo_half : bool
        True for one side of a stereo pair (the player mixes both sides to mono).
    """

    key_range: tuple
    vel_range: tuple
    sample: np.ndarray
    loop: tuple | None
    sample_rate: int
    root_key: int
    tune_cents: float
    scale_tuning: float
    attenuation_cb: float
    gens: dict
    stereo_half: bool

    def timecents(self, gen: int, key: int | None = None) -> float:
        """Seconds of an envelope time generator (timecents), with key scaling of hold / decay."""
        tc = float(self.gens.get(gen, DEFAULTS.get(gen, 0)))
        if key is not None and gen == HOLD_VOL:
            tc += self.gens.get(KEY_TO_HOLD, 0) * (60 - key)
        if key is not None and gen == DECAY_VOL:
            tc += self.gens.get(KEY_TO_DECAY, 0) * (60 - key)
        return 0.0 if tc <= -12000 else float(2.0 ** (tc / 1200.0))


def _chunks(buf: bytes, off: int, end: int):
    while off + 8 <= end:
        cid = buf[off:off + 4]
        size = struct.unpack_from("<I", buf, off + 4)[0]
        yield cid, off + 8, size
        off += 8 + size + (size & 1)


def _records(buf: bytes, fmt: str):
    size = struct.calcsize(fmt)
    return [struct.unpack_from(fmt, buf, i) for i in range(0, len(buf) - size + 1, size)]


def _gens(pgen, a, b):
    out = {}
    for oper, raw in pgen[a:b]:
        if oper in _RANGE_GENS:
            out[oper] = (raw & 0xFF, raw >> 8)
        elif oper in _WORD_GENS:
            out[oper] = raw
        else:
            out[oper] = raw - 0x10000 if raw >= 0x8000 else raw
    return out


class SoundFont:
    """A parsed SoundFont 2 file.

    Parameters
    ----------
    path : str
        ``.sf2`` file.

    Raises
    ------
    InputError
        If the file is missing or not a valid SoundFont 2 file.
    """

    def __init__(self, path: str):
        path = os.fspath(path)
        self.path = path
        try:
            with open(path, "rb") as fh:
                buf = fh.read()
        except OSError as exc:
            raise InputError(f"{path}: cannot read SoundFont ({exc.strerror or exc})") from None
        if len(buf) < 12 or buf[:4] != b"RIFF" or buf[8:12] != b"sfbk":
            raise InputError(f"{path}: not a SoundFont 2 file (no RIFF sfbk header)")
        parts = {}
        try:
            for cid, off, size in _chunks(buf, 12, len(buf)):
                if cid == b"LIST":
                    kind = buf[off:off + 4]
                    for c2, o2, s2 in _chunks(buf, off + 4, off + size):
                        parts[(kind, c2)] = buf[o2:o2 + s2]
            smpl = parts[(b"sdta", b"smpl")]
            pd = {c: parts[(b"pdta", c)] for c in (b"phdr", b"pbag", b"pgen", b"inst", b"ibag", b"igen", b"shdr")}
        except (KeyError, struct.error):
            raise InputError(f"{path}: incomplete SoundFont 2 file (missing sample data or preset tables)") from None
        self.samples = np.frombuffer(smpl[:len(smpl) // 2 * 2], dtype="<i2")
        self.phdr = _records(pd[b"phdr"], "<20sHHHIII")
        self.pbag = _records(pd[b"pbag"], "<HH")
        self.pgen = _records(pd[b"pgen"], "<HH")
        self.inst = _records(pd[b"inst"], "<20sH")
        self.ibag = _records(pd[b"ibag"], "<HH")
        self.igen = _records(pd[b"igen"], "<HH")
        self.shdr = _records(pd[b"shdr"], "<20sIIIIIBbHH")

    def presets(self) -> list:
        """``(bank, program, name)`` of every preset (the terminal record left out)."""
        return [(b, p, n.split(b"\0")[0].decode("latin-1")) for n, p, b, *_ in self.phdr[:-1]]

    def zones(self, program: int = 0, bank: int = 0) -> list:
        """Resolved sample zones of a preset (default: bank 0, program 0, the acoustic grand piano).

        Raises
        ------
        InputError
            If the SoundFont has no such preset or the preset has no sample zones.
        """
        idx = [i for i, r in enumerate(self.phdr[:-1]) if r[1] == program and r[2] == bank]
        if not idx:
            raise InputError(f"{self.path}: no preset bank {bank} program {program}")
        i = idx[0]
        zones = []
        pb0, pb1 = self.phdr[i][3], self.phdr[i + 1][3]
        pglobal = {}
        for zi in range(pb0, pb1):
            g = _gens(self.pgen, self.pbag[zi][0], self.pbag[zi + 1][0])
            if INSTRUMENT not in g:
                if zi == pb0:
                    pglobal = g
                continue
            pz = {**pglobal, **g}
            zones.extend(self._instrument_zones(pz[INSTRUMENT], pz))
        if not zones:
            raise InputError(f"{self.path}: preset bank {bank} program {program} has no samples")
        return zones

    def _instrument_zones(self, inst: int, pz: dict) -> list:
        out = []
        ib0, ib1 = self.inst[inst][1], self.inst[inst + 1][1]
        iglobal = {}
        for zi in range(ib0, ib1):
            g = _gens(self.igen, self.ibag[zi][0], self.ibag[zi + 1][0])
            if SAMPLE_ID not in g:
                if zi == ib0:
                    iglobal = g
                continue
            z = {**iglobal, **g}
            klo = max(z.get(KEY_RANGE, (0, 127))[0], pz.get(KEY_RANGE, (0, 127))[0])
            khi = min(z.get(KEY_RANGE, (0, 127))[1], pz.get(KEY_RANGE, (0, 127))[1])
            vlo = max(z.get(VEL_RANGE, (0, 127))[0], pz.get(VEL_RANGE, (0, 127))[0])
            vhi = min(z.get(VEL_RANGE, (0, 127))[1], pz.get(VEL_RANGE, (0, 127))[1])
            if klo > khi or vlo > vhi:
                continue
            # preset-level generators add to instrument-level ones (ranges / ids excluded)
            for k, v in pz.items():
                if k in _RANGE_GENS or k in _WORD_GENS:
                    continue
                z[k] = z.get(k, DEFAULTS.get(k, 0)) + v
            out.append(self._zone(z, (klo, khi), (vlo, vhi)))
        return out

    def _zone(self, z: dict, krange, vrange) -> Zone:
        name, start, end, sloop, eloop, rate, orig, corr, link, stype = self.shdr[z[SAMPLE_ID]]
        start += z.get(START_OFS, 0) + 32768 * z.get(START_COARSE, 0)
        end += z.get(END_OFS, 0) + 32768 * z.get(END_COARSE, 0)
        sloop += z.get(STARTLOOP_OFS, 0) + 32768 * z.get(STARTLOOP_COARSE, 0)
        eloop += z.get(ENDLOOP_OFS, 0) + 32768 * z.get(ENDLOOP_COARSE, 0)
        start = max(0, min(start, len(self.samples) - 1))
        end = max(start + 1, min(end, len(self.samples)))
        data = self.samples[start:end].astype(np.float32) / 32768.0
        mode = z.get(SAMPLE_MODES, 0) & 3
        loop = None
        if mode in (1, 3) and start <= sloop < eloop <= end and eloop - sloop > 1:
            loop = (sloop - start, eloop - start)
            data = np.append(data, data[sloop - start])  # guard: the point after the loop end is its start
        else:
            data = np.append(data, 0.0).astype(np.float32)
        root = z.get(ROOT_KEY, -1)
        root = orig if root < 0 else root
        return Zone(key_range=krange, vel_range=vrange, sample=data.astype(np.float32), loop=loop,
                    sample_rate=int(rate) or 44100, root_key=int(root),
                    tune_cents=float(z.get(COARSE_TUNE, 0) * 100 + z.get(FINE_TUNE, 0) + corr),
                    scale_tuning=float(z.get(SCALE_TUNING, 100)),
                    attenuation_cb=float(z.get(ATTENUATION, 0)), gens=z, stereo_half=stype in (2, 4))
