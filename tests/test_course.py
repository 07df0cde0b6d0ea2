"""The course face: quick mode, sizes per mode, and the environment report."""

from __future__ import annotations

import keras

from afmkit import course


def test_environment_report_names_training_and_simulation_devices():
    report = course.environment_report()
    assert f"backend {keras.backend.backend()}" in report
    assert "Training runs on" in report  # GPU names, or the CPU and its cores
    assert "OpenCL" in report or "NumPy" in report


def test_quick_mode_and_pick(monkeypatch):
    monkeypatch.setenv("AFMKIT_QUICK", "1")
    assert course.quick_mode() and course.pick(course.quick_mode(), 2, 60) == 2
    monkeypatch.setenv("AFMKIT_QUICK", "0")
    assert not course.quick_mode() and course.pick(course.quick_mode(), 2, 60) == 60
