"""A synthetic credit-card-default table of any size, written in chunks (memory stays flat).

    python -m benchmarks.make_credit_table --rows 10000000 --out /tmp/credit_10m.parquet

23 feature columns shaped like the UCI "default of credit card clients" table (credit limit, age,
sex, education, marriage, six months of repayment status, bill and payment amounts) and a `default`
label (Yes/No, ~22 % Yes) drawn from a logistic model of the features, so a model has something to
learn. Numbers are float32, categoricals small strings; one Parquet row group per chunk. The
`--print-overrides` flag prints the byo_tabular overrides that read it. Not committed data.
"""

from __future__ import annotations

import argparse

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

MONTHS = range(1, 7)
NUMERIC = ["limit_bal", "age"] + [f"bill_amt{m}" for m in MONTHS] + [f"pay_amt{m}" for m in MONTHS]
CATEGORICAL = ["sex", "education", "marriage"] + [f"pay_{m}" for m in MONTHS]


def chunk(rng: np.random.Generator, n: int) -> pa.Table:
    limit = rng.lognormal(11.5, 0.8, n).astype(np.float32)
    age = rng.integers(21, 75, n).astype(np.float32)
    status = np.clip(rng.poisson(0.4, (n, 6)) - rng.integers(0, 2, (n, 6)), -1, 8)  # months late (-1: paid duly)
    bills = (limit[:, None] * rng.beta(2, 3, (n, 6))).astype(np.float32)
    pays = (bills * rng.beta(1, 4, (n, 6))).astype(np.float32)
    logit = (
        -1.6
        + 0.55 * status[:, 0]
        + 0.2 * status[:, 1]
        - 0.25 * np.log(limit / 1e5)
        - 2.0 * pays[:, 0] / (bills[:, 0] + 1)
    )
    label = rng.random(n) < 1 / (1 + np.exp(-logit))
    cols = {"limit_bal": limit, "age": age}
    cols |= {f"bill_amt{m}": bills[:, m - 1] for m in MONTHS} | {f"pay_amt{m}": pays[:, m - 1] for m in MONTHS}
    cols["sex"] = rng.choice(["male", "female"], n)
    cols["education"] = rng.choice(["graduate", "university", "high_school", "other"], n, p=[0.35, 0.47, 0.16, 0.02])
    cols["marriage"] = rng.choice(["married", "single", "other"], n, p=[0.45, 0.53, 0.02])
    cols |= {f"pay_{m}": status[:, m - 1].astype(str) for m in MONTHS}
    cols["default"] = np.where(label, "Yes", "No")
    return pa.table({k: pa.array(v) if k in NUMERIC else pa.array(v).dictionary_encode() for k, v in cols.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--out", required=True, help="a .parquet path")
    parser.add_argument("--chunk", type=int, default=1_000_000, help="rows per row group")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--print-overrides", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    writer = None
    for start in range(0, args.rows, args.chunk):
        table = chunk(rng, min(args.chunk, args.rows - start))
        writer = writer or pq.ParquetWriter(args.out, table.schema)
        writer.write_table(table)
    if writer:
        writer.close()
    if args.print_overrides:
        print(
            f"experiment=byo_tabular data.source.path={args.out} data.target=default data.classes=[No,Yes] "
            f"data.numeric=[{','.join(NUMERIC)}] data.categorical=[{','.join(CATEGORICAL)}]"
        )


if __name__ == "__main__":
    main()
