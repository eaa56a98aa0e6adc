"""Cutting signals and streams into analysis windows (genrekit.audio.windows)."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.audio import MAX_WHOLE_FILE_SECONDS, Windowing, cut_windows, stream_windows
from genrekit.errors import AudioTooLongError, AudioTooShortError


def test_windowing_covers_the_signal_without_partial_windows():
    w = Windowing(window=3.0, hop=1.5)
    bounds = w.starts(22050 * 10, 22050)
    assert bounds[0] == (0, 66150)
    assert all(stop - start == 66150 for start, stop in bounds)
    # starts at 0, 1.5, ..., 6.0 s leave 9-10 s uncovered: one more window ends at 10 s
    assert [start / 22050 for start, _ in bounds] == [0.0, 1.5, 3.0, 4.5, 6.0, 7.0]
    assert bounds[-1][1] == 22050 * 10
    assert Windowing().starts(22050 * 2 + 7, 22050) == [(0, 22050 * 2 + 7)]


def test_a_tiny_tail_adds_no_window():
    # GTZAN clips are 30.013 s: 30 s windows must not get a near-duplicate second window
    assert Windowing(window=30.0).starts(661794, 22050) == [(0, 661500)]
    assert len(Windowing(window=3.0).starts(661794, 22050)) == 10


def test_a_long_tail_gets_an_end_aligned_window():
    bounds = Windowing(window=30.0).starts(22050 * 45, 22050)
    assert bounds == [(0, 22050 * 30), (22050 * 15, 22050 * 45)]


def test_windows_keep_a_short_clip_that_is_most_of_one_window():
    w = Windowing(window=30.0)
    assert w.starts(22050 * 29, 22050) == [(0, 22050 * 29)]
    assert w.starts(22050 * 10, 22050) == []


def test_cut_windows_yields_start_times():
    y = np.arange(22050 * 4, dtype=np.float32)
    pieces = list(cut_windows(y, 22050, Windowing(window=2.0, hop=1.0)))
    assert [start for start, _ in pieces] == [0.0, 1.0, 2.0]
    assert pieces[1][1][0] == 22050




def test_a_whole_file_window_needs_one_second():
    assert Windowing().starts(1234, 22050) == []
    assert Windowing().starts(22050, 22050) == [(0, 22050)]
    with pytest.raises(AudioTooShortError, match="whole-file analysis needs at least 1 s"):
        list(cut_windows(np.zeros(22049, np.float32), 22050, Windowing(), "x.wav"))


def _blocks(y: np.ndarray, rng: np.random.Generator, max_block: int) -> list[np.ndarray]:
    cuts = np.sort(rng.integers(0, len(y) + 1, size=rng.integers(0, max(len(y) // max(max_block, 1), 1) + 3)))
    return [y[a:b] for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(y)])]


def _outcome(windows):
    try:
        return [(start, w.dtype, w.copy()) for start, w in windows]
    except AudioTooShortError as error:
        return str(error)


@pytest.mark.parametrize("seed", range(40))
def test_stream_windows_yields_exactly_what_cut_windows_yields(seed):
    rng = np.random.default_rng(seed)
    sr = int(rng.choice([100, 1000, 22050]))
    window = float(rng.choice([0.01, 0.05, 0.3, 1.0, 2.5]))
    hop = None if rng.random() < 0.3 else float(rng.choice([0.01, 0.02, 0.1, 0.5, 1.0, 3.0]))
    windowing = Windowing(window=window, hop=hop, min_fraction=float(rng.choice([0.0, 0.5, 0.9])))
    for _ in range(6):
        n = int(rng.integers(0, int(window * sr * 6) + 3))
        y = rng.standard_normal(n).astype(np.float32)
        blocks = _blocks(y, rng, int(rng.integers(1, max(n, 1) + 2)))
        expected = _outcome(cut_windows(np.concatenate(blocks) if blocks else y[:0], sr, windowing, "p"))
        got = _outcome(stream_windows(iter(blocks), sr, windowing, "p"))
        if isinstance(expected, str):
            assert got == expected
            continue
        assert [s for s, _, _ in got] == [s for s, _, _ in expected]
        for (_, dt, w), (_, edt, e) in zip(got, expected):
            assert dt == edt
            np.testing.assert_array_equal(w, e)


def test_stream_windows_whole_file_matches_cut_windows():
    y = np.random.default_rng(0).standard_normal(5000).astype(np.float32)
    got = list(stream_windows([y[:7], y[7:4000], y[4000:]], 1000, Windowing()))
    assert len(got) == 1 and got[0][0] == 0.0
    np.testing.assert_array_equal(got[0][1], y)
    with pytest.raises(AudioTooShortError):
        list(stream_windows([y[:999]], 1000, Windowing()))
    with pytest.raises(AudioTooShortError):
        list(stream_windows([], 1000, Windowing()))


def test_whole_file_analysis_stops_reading_once_past_the_cap():
    sr = 100
    block = np.zeros(sr * 60, np.float32)  # one minute
    pulled = []

    def minutes():
        for i in range(10_000):
            pulled.append(i)
            yield block

    with pytest.raises(AudioTooLongError, match="whole-file analysis reads at most 20 min; use windows"):
        list(stream_windows(minutes(), sr, Windowing(), "long.wav"))
    assert len(pulled) == int(MAX_WHOLE_FILE_SECONDS / 60) + 1
    with pytest.raises(AudioTooLongError):
        list(cut_windows(np.zeros(int(MAX_WHOLE_FILE_SECONDS * sr) + 1, np.float32), sr, Windowing()))


def test_stream_windows_holds_about_one_window():
    """Feed an hour at 1 kHz in 1 s blocks; a 3 s window must never keep more than a few windows alive."""
    import tracemalloc

    sr = 1000
    tracemalloc.start()
    try:
        count = 0
        blocks = (np.full(sr, i, np.float32) for i in range(3600))
        for _, w in stream_windows(blocks, sr, Windowing(window=3.0, hop=1.0)):
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 3598
    assert peak < 20 * 3 * sr * 4
