"""unblur._numba: whether Numba may be used, and whether it is already loaded."""

import sys

import pytest

from unblur import _numba


def test_unblur_no_numba_turns_it_off_everywhere(monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setenv("UNBLUR_NO_NUMBA", "1")
    assert _numba.disabled()
    assert not _numba.usable()
    assert not _numba.loaded()  # even though the test session has imported it


def test_found_and_loaded_without_the_switch(monkeypatch):
    pytest.importorskip("numba")  # imports it: a restoration would have
    monkeypatch.delenv("UNBLUR_NO_NUMBA", raising=False)
    assert not _numba.disabled()
    assert _numba.usable()
    assert _numba.loaded()


def test_not_loaded_until_imported(monkeypatch):
    monkeypatch.delenv("UNBLUR_NO_NUMBA", raising=False)
    monkeypatch.delitem(sys.modules, "numba", raising=False)
    assert not _numba.loaded()


def test_an_empty_switch_does_not_disable(monkeypatch):
    monkeypatch.setenv("UNBLUR_NO_NUMBA", "")
    assert not _numba.disabled()
