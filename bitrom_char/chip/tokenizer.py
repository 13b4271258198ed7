"""A byte-level BPE tokenizer over the vocabulary and merges stored in a GGUF file.

Limits: pre-tokenization uses one regular expression close to GPT-2's (letters,
single digits, punctuation runs, whitespace) with Python's `re`, so a few
Unicode categories split differently from the reference tokenizer, and special
tokens are matched only when they appear literally in the text.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

PRETOKEN = re.compile(
    r"'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d| ?[^\s\w]+|\s+(?!\S)|\s+", re.UNICODE
)


@lru_cache(maxsize=1)
def byte_to_unicode() -> dict[int, str]:
    """Map every byte to a printable character, as GPT-2 byte-level BPE does.

    Printable Latin-1 bytes map to themselves; the other 68 bytes map to code
    points from 256 upward in byte order.
    """
    keep = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


class BPETokenizer:
    """Encode text to token ids and back with ranked BPE merges."""

    def __init__(
        self,
        tokens: list[str],
        merges: list[str],
        token_types: list[int] | None = None,
        bos_id: int | None = None,
        eos_id: int | None = None,
    ) -> None:
        if not tokens:
            raise ValueError(
                "the vocabulary is empty; the GGUF file has no tokenizer.ggml.tokens"
            )
        self.tokens = list(tokens)
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self.ranks: dict[tuple[str, str], int] = {}
        for rank, merge in enumerate(merges):
            left, sep, right = merge.partition(" ")
            if not sep:
                raise ValueError(f"merge {rank} {merge!r} is not 'left right'")
            self.ranks[(left, right)] = rank
        types = token_types or [1] * len(tokens)
        # GGUF token type 3 marks control tokens such as <|im_start|>.
        self.special = sorted(
            (t for t, k in zip(self.tokens, types, strict=False) if k == 3 and t),
            key=len,
            reverse=True,
        )
        self.bos_id = bos_id
        self.eos_id = eos_id
        self._encoder = byte_to_unicode()
        self._decoder = {c: b for b, c in self._encoder.items()}
        self._cache: dict[str, list[int]] = {}

    def encode(self, text: str) -> list[int]:
        """Return the token ids of `text`; special tokens are matched literally."""
        if not self.special:
            return self._encode_plain(text)
        pattern = "(" + "|".join(re.escape(s) for s in self.special) + ")"
        ids: list[int] = []
        for part in re.split(pattern, text):
            if part in self.ids and part in self.special:
                ids.append(self.ids[part])
            elif part:
                ids.extend(self._encode_plain(part))
        return ids

    def _encode_plain(self, text: str) -> list[int]:
        ids: list[int] = []
        for word in PRETOKEN.findall(text):
            if word not in self._cache:
                mapped = "".join(self._encoder[b] for b in word.encode("utf-8"))
                self._cache[word] = [self._piece_id(p) for p in self._bpe(mapped)]
            ids.extend(self._cache[word])
        return ids

    def _piece_id(self, piece: str) -> int:
        if piece not in self.ids:
            raise ValueError(
                f"piece {piece!r} is not in the vocabulary; the merges "
                "and tokens of this GGUF file do not match"
            )
        return self.ids[piece]

    def _bpe(self, word: str) -> list[str]:
        symbols = list(word)
        while len(symbols) > 1:
            pairs = [
                (self.ranks.get(p, -1), i)
                for i, p in enumerate(itertools.pairwise(symbols))
            ]
            ranked = [(r, i) for r, i in pairs if r >= 0]
            if not ranked:
                break
            best = min(ranked)[0]
            merged: list[str] = []
            i = 0
            while i < len(symbols):
                if (
                    i + 1 < len(symbols)
                    and self.ranks.get((symbols[i], symbols[i + 1])) == best
                ):
                    merged.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        return symbols

    def decode(self, ids) -> str:
        """Return the text of token ids; invalid UTF-8 becomes U+FFFD."""
        out = bytearray()
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.tokens):
                raise ValueError(
                    f"token id {i} is outside the vocabulary "
                    f"[0, {len(self.tokens) - 1}]"
                )
            token = self.tokens[i]
            if token in self.special:
                out.extend(token.encode("utf-8"))
            else:
                out.extend(self._decoder.get(c, ord("?")) for c in token)
        return out.decode("utf-8", errors="replace")
