"""The Optuna storage URL a trial reports to, without its password in any config, log or MLflow run.

The sweeper hands each trial `sweep.storage` as an override, and a trial's whole config is logged to
MLflow (params and config.yaml) and printed by Hydra's launchers. So the override carries the URL with
the password shown as `***` (SQLAlchemy's own rendering), and the sweeper puts the real URL in the
environment (DLFORGE_SWEEP_STORAGE), which the trials inherit: Hydra's basic launcher runs them in its
own process and joblib's loky workers start with its environment (SLURM jobs too, under sbatch's
default --export=ALL). A trial connects with the environment's URL only when it is the one its config
names; otherwise with the config's own (a masked password then fails to connect, loudly).
"""

from __future__ import annotations

import os

STORAGE_ENV = "DLFORGE_SWEEP_STORAGE"


def shown(url: str) -> str:
    """`url` as configs and logs show it: a password replaced by `***`; a non-database URL as it is."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # not an SQLAlchemy URL: nothing to hide
        return url


def to_connect(configured: str) -> str:
    """The URL a trial connects with: the sweeper's (from the environment) when `configured` is its shown form."""
    real = os.environ.get(STORAGE_ENV)
    return real if real and shown(real) == configured else configured
