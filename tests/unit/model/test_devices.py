"""The typed device reference a gesture builds (app/model/devices.py)."""

from __future__ import annotations

import pytest

from app.model.devices import DeviceKind, DeviceRef


def test_a_reference_names_its_kind_and_id() -> None:
    ref = DeviceRef("switch", "W0602")
    assert ref.kind is DeviceKind.SWITCH and ref.id == "W0602"
    assert ref == DeviceRef(DeviceKind.SWITCH, "W0602")
    assert str(ref) == "W0602" and ref.train_id is None
    with pytest.raises(ValueError):
        DeviceRef("lamp", "L1")
    with pytest.raises(AttributeError):
        ref.id = "W0603"  # type: ignore[misc]


def test_a_train_is_named_as_commands_name_it() -> None:
    ref = DeviceRef.train(7)
    assert ref == DeviceRef("train", "train:7")
    assert ref.train_id == 7
    assert DeviceRef("train", "train:07").train_id is None  # one spelling per train
