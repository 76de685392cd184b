import pytest

from asr.text import SymbolTable


def test_symbol_table_round_trip(tmp_path):
    table = SymbolTable.from_symbols(["<eps>", "A", "B"])
    table.add("C", 7)
    path = tmp_path / "words.txt"
    table.write(path)
    assert path.read_text() == "<eps> 0\nA 1\nB 2\nC 7\n"
    again = SymbolTable.read(path)
    assert again == table
    assert again["C"] == 7 and again[1] == "A"
    assert again.add("D") == 8


def test_symbol_table_rejects_conflicts(tmp_path):
    table = SymbolTable.from_symbols(["A"])
    with pytest.raises(ValueError, match="already"):
        table.add("B", 0)
    with pytest.raises(ValueError, match="whitespace"):
        table.add("A B")
    bad = tmp_path / "bad.txt"
    bad.write_text("A 0\nB\n")
    with pytest.raises(ValueError, match="bad.txt:2"):
        SymbolTable.read(bad)
    with pytest.raises(FileNotFoundError):
        SymbolTable.read(tmp_path / "missing.txt")
