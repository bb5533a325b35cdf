"""Plain copies of notebook values: lying objects compare as what they hold."""

from __future__ import annotations

import math

from gpukit.grading.values import plain_number, same_plain_value


class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


class EqualStr(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


class RiggedFloat(float):
    def __sub__(self, other):
        return 0.0

    def __float__(self):
        return 0.99


class TorchStyleVersion(str):
    """Like torch.__version__: a str subclass that compares by version."""


def test_objects_that_equal_anything_do_not_match():
    assert not same_plain_value(AlwaysEqual(), "3.11.7")
    assert not same_plain_value(EqualStr("2.7"), "3.11.7")
    assert same_plain_value(EqualStr("3.11.7"), "3.11.7")


def test_string_subclasses_compare_by_their_characters():
    assert same_plain_value(TorchStyleVersion("2.15.0"), "2.15.0")


def test_types_must_agree():
    assert not same_plain_value(1, True)
    assert not same_plain_value("1", 1)
    assert same_plain_value(None, None)
    assert same_plain_value(False, False)


def test_numbers_are_read_by_float_itself():
    assert plain_number(RiggedFloat(0.5)) == 0.5  # neither its __float__ nor __sub__ is called
    assert plain_number(3) == 3.0
    assert plain_number(True) is None
    assert plain_number("0.9") is None
    assert plain_number(math.nan) is None
    assert plain_number(AlwaysEqual()) is None
