"""`make bench`'s report: every target is judged from the figures, a miss says why, a section not measured
says so (benchmarks/run_all.py, benchmarks/notes.py). The measuring itself runs in `make bench`, not here:
no timing thresholds in tests."""

from __future__ import annotations

from benchmarks import overhead, run_all

MACHINE = {
    "date": "2026-12-06 05:00 UTC",
    "machine": "x86_64, 2 CPU cores, 23 GiB memory",
    "load": 0.1,
    "versions": "v",
}


def _stages(wall: float, rss: float) -> dict:
    return {s: {"wall": wall, "cpu": wall, "rss_gb": rss} for s in ("prepare", "train", "evaluate", "register")}


def _results(overhead_wall: float, chain_s: float, scale_10m_wall: float, sweep_ratio: float) -> dict:
    stage = {"wall": 3.0, "imports": 2.0, "cpu": 3.0}
    return {
        "machine": MACHINE,
        "repeats": 3,
        "skipped": [],
        "overhead": [
            {
                "use_case": uc,
                "epochs": 8,
                "hand_wall": 0.1,
                "stage_wall": overhead_wall,
                "hand_cpu": 0.1,
                "stage_cpu": 0.12,
                "runs": {
                    "hand": [{"wall": 0.1, "cpu": 0.1}] * 5,
                    "stage": [
                        {"wall": w, "cpu": w} for w in (overhead_wall, 1.25 * overhead_wall) + (overhead_wall,) * 3
                    ],
                },
            }
            for uc in ("credit_default", "digits", "movielens")
        ],
        "startup": {
            "use_case": "digits",
            "torch_s": 1.5,
            "torch_cpu_s": 1.5,
            "sides": {"prepare": 2.0, "train+evaluate+register": chain_s},
            "sides_cpu": {"prepare": 2.0, "train+evaluate+register": chain_s},
            "stages": {s: stage for s in ("torch", "prepare", "train", "evaluate", "register")},
        },
        "scale": {
            "sizes": [1_000_000, 10_000_000],
            "stages": {"1000000": _stages(10.0, 1.0), "10000000": _stages(scale_10m_wall, 2.5)},
        },
        "sweeps": {
            "trials": 4,
            "epochs": 30,
            "repeats": 3,
            "storages": {
                "sqlite": {
                    "sequential_s": 60.0 * sweep_ratio,
                    "parallel_s": 60.0,
                    "ratio": sweep_ratio,
                    "sequential_trials_s": 40.0,
                    "parallel_trials_s": 21.0,
                    "trials_ratio": 1.9,
                },
                "postgresql": {"skipped": "not measured: no PostgreSQL"},
            },
        },
    }


def test_targets_met_read_met_and_give_no_excuses():
    text = "\n".join(run_all.render(_results(0.105, 10.0, 100.0, 1.8)))
    assert "**missed**" not in text
    assert text.count("(met)") + text.count("| met |") >= 3 + 2 + 4 + 1
    assert "Missed on" not in text and "missed ≤" not in text
    assert "not measured: no PostgreSQL" in text  # a section impossible here says so, with no figure
    # each command names the repetitions and epochs its figures were measured with
    assert "`python -m benchmarks.overhead --repeats 5 --epochs 8`" in text
    assert "`python -m benchmarks.sweeps --repeats 3 --epochs 30`" in text and "4 trials of 30 epochs" in text
    assert "`python -m benchmarks.startup --repeats 3`" in text


def test_every_missed_target_is_marked_and_explained():
    text = "\n".join(run_all.render(_results(0.2, 30.0, 200.0, 1.2)))
    assert text.count("**missed**") == 3 + 1 + 4 + 1  # overhead per use case, the chain, scale per stage, sqlite sweeps
    assert "Missed on credit_default, digits, movielens" in text  # overhead: why
    assert "| 0.50 0.40 0.50 0.50 0.50 |" in text  # each run's ratio: the spread behind the median
    assert "Train + evaluate + register missed ≤ 8.0x (20.0x)" in text  # start-up: why, from the figures
    assert "- train: 20.0x the time for 10x the rows." in text  # scale: which stage, how far
    assert "trial phase alone" in text and "sqlite 1.90x" in text  # sweeps: why, from the figures
    # fixed parts 32 s / 39 s around the trials; (32 + T) / (39 + T / 1.9) = 1.7 at T ≈ 326 s
    assert "sqlite 32.0 s / 39.0 s" in text and "sqlite: about 326 s of trials in all (now 40 s)" in text


def test_a_skipped_section_says_it_was_not_measured():
    results = _results(0.105, 10.0, 100.0, 1.8)
    del results["scale"]
    results["skipped"] = ["scale"]
    text = "\n".join(run_all.render(results))
    assert "**Not measured in this run** (`--skip scale`)." in text
    assert "10,000,000 rows" not in text


def test_a_ratio_just_under_the_target_is_not_rounded_up_to_it():
    assert overhead.shown(0.897) == "0.897"  # two decimals would read 0.90, the target, next to "missed"
    assert (overhead.shown(0.84), overhead.shown(0.904)) == ("0.84", "0.90")
