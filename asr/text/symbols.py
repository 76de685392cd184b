"""Symbol tables in Kaldi's ``words.txt`` / ``tokens.txt`` format: one ``<sym> <id>`` a line."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator


class SymbolTable:
    """A bijection between symbols (strings without whitespace) and integer ids.

    Ids need not be contiguous, but every symbol and every id appears once.
    """

    def __init__(self, pairs: Iterable[tuple[str, int]] = ()):
        self._sym2id: dict[str, int] = {}
        self._id2sym: dict[int, str] = {}
        for sym, idx in pairs:
            self.add(sym, idx)

    @classmethod
    def from_symbols(cls, symbols: Iterable[str]) -> "SymbolTable":
        """Number ``symbols`` 0, 1, 2, ... in order."""
        return cls((sym, i) for i, sym in enumerate(symbols))

    def add(self, symbol: str, idx: int | None = None) -> int:
        """Add ``symbol`` (with ``idx``, or the next free id); return its id."""
        if not symbol or any(ch.isspace() for ch in symbol):
            raise ValueError(f"symbol {symbol!r} is empty or contains whitespace")
        if idx is None:
            if symbol in self._sym2id:
                return self._sym2id[symbol]
            idx = max(self._id2sym, default=-1) + 1
        if symbol in self._sym2id and self._sym2id[symbol] != idx:
            raise ValueError(f"symbol {symbol!r} already has id {self._sym2id[symbol]}, not {idx}")
        if idx in self._id2sym and self._id2sym[idx] != symbol:
            raise ValueError(f"id {idx} already belongs to {self._id2sym[idx]!r}, not {symbol!r}")
        self._sym2id[symbol] = idx
        self._id2sym[idx] = symbol
        return idx

    def __len__(self) -> int:
        return len(self._sym2id)

    def __contains__(self, item: str | int) -> bool:
        if isinstance(item, str):
            return item in self._sym2id
        return item in self._id2sym

    def __getitem__(self, item: str | int) -> int | str:
        """``table["a"]`` gives the id of ``a``; ``table[3]`` gives the symbol of id 3."""
        if isinstance(item, str):
            return self._sym2id[item]
        return self._id2sym[item]

    def get_id(self, symbol: str) -> int:
        return self._sym2id[symbol]

    def get_symbol(self, idx: int) -> str:
        return self._id2sym[idx]

    @property
    def symbols(self) -> list[str]:
        """Symbols in id order."""
        return [self._id2sym[i] for i in sorted(self._id2sym)]

    def __iter__(self) -> Iterator[tuple[str, int]]:
        for idx in sorted(self._id2sym):
            yield self._id2sym[idx], idx

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SymbolTable) and self._sym2id == other._sym2id

    def to_str(self) -> str:
        return "".join(f"{sym} {idx}\n" for sym, idx in self)

    def write(self, path: str | Path) -> None:
        """Write ``<sym> <id>`` lines in id order, atomically."""
        from asr.utils.io import atomic_write_text

        atomic_write_text(path, self.to_str())

    @classmethod
    def read(cls, path: str | Path) -> "SymbolTable":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"symbol table {path} does not exist")
        table = cls()
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            fields = line.split()
            if len(fields) != 2 or not fields[1].lstrip("-").isdigit():
                raise ValueError(f"{path}:{lineno}: expected '<symbol> <id>', got {line!r}")
            try:
                table.add(fields[0], int(fields[1]))
            except ValueError as err:
                raise ValueError(f"{path}:{lineno}: {err}") from None
        return table
