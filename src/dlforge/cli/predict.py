"""`dlforge predict`: score a file of raw inputs with a registered model, write predictions atomically.

The model is the served pyfunc (preprocessing inside), so the file holds raw columns (CSV/Parquet)
or raw pixel arrays (NPY), exactly what `mlflow models serve` accepts. A folder of WAV files (every
*.wav under it, sorted) is scored clip by clip, each with its own sample rate as the model's
`sample_rate` param (a speech model refuses any other rate than its own, naming the file); the
output starts with a `file` column. Everything that can be checked before loading the model is
(paths, suffixes, every WAV readable); the output appears only when complete.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dlforge.errors import UserError

READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".npy": lambda p: np.load(p, allow_pickle=False)}
WRITERS = {".csv": lambda df, p: df.to_csv(p, index=False), ".parquet": lambda df, p: df.to_parquet(p, index=False)}


def read_wav_folder(path: Path) -> list[tuple[Path, np.ndarray, int]]:
    """(file, samples, sample rate) of every WAV under `path`; a file that is not a WAV is named."""
    from dlforge.data.sources.wav import read_wav

    files = sorted(f for f in path.rglob("*") if f.is_file() and f.suffix.lower() == ".wav")
    if not files:
        raise UserError(f"input '{path}': a folder with no .wav files")
    return [(f, *read_wav(f)) for f in files]


def predict_clips(model: Any, clips: list[tuple[Path, np.ndarray, int]]) -> pd.DataFrame:
    from mlflow.exceptions import MlflowException

    out = []
    for file, samples, rate in clips:
        try:
            answer = model.predict(samples[None, :], params={"sample_rate": rate})
        except MlflowException as e:
            reason = str(e).split("Error: ")[-1].removeprefix("input: ")
            raise UserError(f"input '{file}': {' '.join(reason.split())[:300]}") from e
        out.append(pd.DataFrame(answer).assign(file=str(file)))
    table = pd.concat(out, ignore_index=True)
    return table[["file", *[c for c in table.columns if c != "file"]]]


def read_input(path: Path) -> Any:
    if path.is_dir():
        return read_wav_folder(path)
    if path.suffix not in READERS:
        raise UserError(f"input '{path}': unsupported file type '{path.suffix}' (expected {', '.join(READERS)})")
    if not path.is_file():
        raise UserError(f"input '{path}': no such file")
    try:
        data = READERS[path.suffix](path)
    except Exception as e:
        raise UserError(
            f"input '{path}': cannot be read as {path.suffix[1:]} ({' '.join(str(e).split())[:200]})"
        ) from e
    if len(data) == 0:
        raise UserError(f"input '{path}': has no rows")
    return data


def write_atomic(df: pd.DataFrame, path: Path) -> None:
    """Write to a temp file beside `path`, then rename: a failure leaves no partial output."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        WRITERS[path.suffix](df, tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def cast_to_signature(model: Any, x: Any) -> Any:
    """Integers where the signature says float (CSV balances, 0-16 pixels): MLflow refuses them as unsafe."""
    schema = model.metadata.get_input_schema()
    if schema is None:
        return x
    if isinstance(x, np.ndarray):
        if schema.is_tensor_spec() and np.issubdtype(x.dtype, np.integer):
            return x.astype(schema.numpy_types()[0])
        return x
    floats = {
        c.name
        for c in schema.inputs
        if not schema.is_tensor_spec() and getattr(c.type, "name", str(c.type)) in ("double", "float")
    }
    ints = [c for c in x.columns if c in floats and pd.api.types.is_integer_dtype(x[c])]
    return x.astype({c: "float64" for c in ints}) if ints else x


def predict_batch(model: Any, data: Any) -> Any:
    """The model's answer to what `read_input` returned: one request per WAV clip, else one cast table."""
    if isinstance(data, list):
        return predict_clips(model, data)
    return model.predict(cast_to_signature(model, data))


def run(args: argparse.Namespace) -> None:
    from dlforge.cli.registry import parse_ref

    src, dst = Path(args.input), Path(args.output)
    if dst.suffix not in WRITERS:
        raise UserError(f"output '{dst}': unsupported file type '{dst.suffix}' (expected {', '.join(WRITERS)})")
    name, alias, version = parse_ref(args.model)
    data = read_input(src)
    uri = f"models:/{name}/{version}" if version is not None else f"models:/{name}@{alias}"

    import mlflow
    import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    from dlforge.cli.registry import resolve

    mlflow.set_tracking_uri(args.tracking_uri)
    resolve(mlflow.MlflowClient(args.tracking_uri), args.model)  # a clear error for unknown names/aliases/versions
    with warnings.catch_warnings():  # the signature comes from a real input example, not type hints
        warnings.filterwarnings("ignore", message=r".*Add type hints to the `predict` method", category=UserWarning)
        model = mlflow.pyfunc.load_model(uri)
    if isinstance(data, list):  # WAV clips: one request each, at its own rate
        out = predict_clips(model, data)
        write_atomic(out, dst)
        print(f"{uri}: {len(out)} predictions → {dst}")
        return
    try:
        out = model.predict(cast_to_signature(model, data))
    except MlflowException as e:
        reason = str(e).split("Error: ")[-1]  # MLflow prefixes the whole input; keep the reason
        raise UserError(f"input '{src}': {' '.join(reason.split())[:300]}") from e
    write_atomic(pd.DataFrame(out), dst)
    print(f"{uri}: {len(out)} predictions → {dst}")
