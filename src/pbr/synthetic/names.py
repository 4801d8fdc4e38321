"""Names and recording errors: the forename and surname pools, date-of-birth and name typos."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pbr.synthetic.dates import days_in_month, from_ymd, ymd
from pbr.synthetic.draws import choice
from pbr.synthetic.reference import (
    CODAS,
    FEMALE_FORENAME_ENDINGS,
    FEMALE_FORENAMES,
    FORENAME_ONSETS,
    MALE_FORENAME_ENDINGS,
    MALE_FORENAMES,
    SURNAME_ENDINGS,
    SURNAME_INITIALS,
    SURNAME_ONSETS,
    SURNAMES,
    VOWELS,
)

_N_SURNAME_TAIL = 30000
_N_FIRST_TAIL = 3000
_FIRST_TAIL_MASS = 0.15


@functools.lru_cache(maxsize=1)
def name_pools() -> dict:
    """Forename and surname pools with probabilities (fixed, independent of the seed).

    The head is a list of real common names; the tail is made-up but name-like, with a
    Zipf-like (1/rank) frequency continuing the head and a realistic spread of initials.
    """
    rng = np.random.default_rng(19660730)

    def made_up(onsets, vowels, codas, endings, n, exclude):
        combos = len(onsets) * len(vowels) * len(codas) * len(endings)
        pick = rng.choice(combos, size=min(combos, 3 * n), replace=False)
        out, seen = [], set(exclude)
        for k in pick.tolist():
            k, e = divmod(k, len(endings))
            k, c = divmod(k, len(codas))
            o, v = divmod(k, len(vowels))
            name = (onsets[o] + vowels[v] + codas[c] + endings[e]).capitalize()
            if name not in seen:
                seen.add(name)
                out.append(name)
                if len(out) == n:
                    break
        return out

    pools = {}
    for sex, (head, w), ends in (
        ("M", MALE_FORENAMES, MALE_FORENAME_ENDINGS),
        ("F", FEMALE_FORENAMES, FEMALE_FORENAME_ENDINGS),
    ):
        tail = made_up(FORENAME_ONSETS, VOWELS[:6], CODAS, ends, _N_FIRST_TAIL, head)
        tw = 1.0 / np.arange(len(head) + 1, len(head) + 1 + len(tail))
        p = np.concatenate([w / w.sum() * (1 - _FIRST_TAIL_MASS), tw / tw.sum() * _FIRST_TAIL_MASS])
        pools[sex] = (np.array(head + tail), p)
    head, w = SURNAMES
    w = w / 100.0
    letters = sorted(SURNAME_INITIALS)
    share = np.array([SURNAME_INITIALS[x] for x in letters])
    share /= share.sum()
    tail = []
    for letter, s in zip(letters, share, strict=True):
        n = max(3, round(s * _N_SURNAME_TAIL))
        tail += made_up(SURNAME_ONSETS[letter], VOWELS, CODAS, SURNAME_ENDINGS, n, head)
    tail = [tail[i] for i in rng.permutation(len(tail))]
    tw = 1.0 / np.arange(len(head) + 1, len(head) + 1 + len(tail))
    p = np.concatenate([w, tw / tw.sum() * (1 - w.sum())])
    pools["S"] = (np.array(head + tail), p / p.sum())
    return pools


@dataclass
class NamePools:
    """Forenames (men's, then women's) and surnames, with their probabilities."""

    forenames: np.ndarray
    #: the first ``n_male`` forenames are men's
    n_male: int
    p_male: np.ndarray
    p_female: np.ndarray
    surnames: np.ndarray
    p_surname: np.ndarray
    #: the same names as pyarrow strings
    forenames_arrow: pa.Array
    surnames_arrow: pa.Array

    @classmethod
    def load(cls) -> NamePools:
        """The pools of :func:`name_pools`."""
        pools = name_pools()
        (m_names, p_m), (f_names, p_f), (s_names, p_s) = pools["M"], pools["F"], pools["S"]
        forenames = np.concatenate([m_names, f_names]).astype("<U24")
        surnames = s_names.astype("<U24")
        return cls(
            forenames=forenames,
            n_male=len(m_names),
            p_male=p_m,
            p_female=p_f,
            surnames=surnames,
            p_surname=p_s,
            forenames_arrow=pa.array(forenames, pa.string()),
            surnames_arrow=pa.array(surnames, pa.string()),
        )

    def draw_forenames(self, rng: np.random.Generator, female: np.ndarray) -> np.ndarray:
        """A forename (index into ``forenames``) for each person, by sex."""
        n = len(female)
        return np.where(female, self.n_male + choice(rng, self.p_female, n), choice(rng, self.p_male, n))

    def draw_surnames(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` surnames (indices into ``surnames``)."""
        return choice(rng, self.p_surname, n)


def dob_errors(rng: np.random.Generator, dob: np.ndarray) -> np.ndarray:
    """Typical date-of-birth recording errors: day +-1, year +-1, or day and month transposed."""
    y, m, d = ymd(dob)
    n = len(dob)
    kind = rng.integers(0, 3, n)
    dim = days_in_month(y, m)
    step = np.where(rng.random(n) < 0.5, -1, 1)
    d1 = np.where(d + step < 1, d + 1, np.where(d + step > dim, d - 1, d + step))
    out = from_ymd(y, m, d1)
    yr = from_ymd(y + step, m, np.minimum(d, days_in_month(y + step, m)))
    out = np.where(kind == 1, yr, out)
    can_swap = (d <= 12) & (d != m)
    sw = from_ymd(y, np.where(can_swap, d, 1), np.where(can_swap, m, 1))
    out = np.where((kind == 2) & can_swap, sw, out)
    # never create 29 February (age on non-leap years is ambiguous between systems)
    _, m2, d2 = ymd(out)
    return np.where((m2 == 2) & (d2 == 29), out - 1, out)


def name_errors(rng: np.random.Generator, names: np.ndarray) -> np.ndarray:
    """One keying error per name: a letter substituted, deleted, transposed or doubled."""
    width = 24
    b = np.char.encode(names.astype(str), "ascii").astype(f"S{width}")
    n = len(b)
    mat = np.frombuffer(b.tobytes(), dtype=np.uint8).reshape(n, width).copy()
    length = (mat != 0).sum(axis=1)
    kind = rng.integers(0, 4, n)
    kind = np.where((kind == 1) & (length <= 3), 0, kind)
    kind = np.where((kind == 3) & (length >= width - 1), 0, kind)
    kind = np.where((kind == 2) & (length < 2), 0, kind)
    pos = np.minimum((rng.random(n) * length).astype(np.int64), np.maximum(length - 1, 0))
    cols = np.arange(width)[None, :]
    rows = np.arange(n)[:, None]
    p = pos[:, None]
    # substitute
    letter = rng.integers(0, 26, n).astype(np.uint8) + ord("a")
    cur = mat[np.arange(n), pos] | 0x20
    letter = np.where(letter == cur, (letter - ord("a") + 1) % 26 + ord("a"), letter).astype(np.uint8)
    sub = mat.copy()
    sub[np.arange(n), pos] = letter
    # delete
    src = np.where(cols >= p, np.minimum(cols + 1, width - 1), cols)
    dele = mat[rows, src]
    dele[np.arange(n), np.maximum(length - 1, 0)] = 0
    # transpose (pos, pos+1)
    tp = np.minimum(pos, np.maximum(length - 2, 0))[:, None]
    src = np.where(cols == tp, tp + 1, np.where(cols == tp + 1, tp, cols))
    trans = mat[rows, src]
    # double
    src = np.where(cols > p, cols - 1, cols)
    dbl = mat[rows, src]
    out = np.where(
        (kind == 0)[:, None],
        sub,
        np.where((kind == 1)[:, None], dele, np.where((kind == 2)[:, None], trans, dbl)),
    )
    # normalise case: first letter upper, the rest lower
    alpha = out != 0
    out = np.where(alpha, out | 0x20, 0).astype(np.uint8)
    out[:, 0] = np.where(out[:, 0] != 0, out[:, 0] & 0xDF, 0)
    return np.char.decode(out.view(f"S{width}").ravel(), "ascii")
