"""Monitoring: does the champion still fit the data it is scoring? (`dlforge monitor`, docs/monitoring.md)

One file per idea, called in this order by dlforge.cli.monitor:
    settings      the thresholds: conf/monitor/default.yaml, composed by Hydra, type-checked
    reference     the champion version, its training run's config and its prepared splits (hash checked)
    summaries     a family's inputs and predictions as a table of numeric and categorical columns
    drift         PSI plus a two-sample test (KS, chi-squared) and missing/unseen shares per column
    labels        the gate metric on a labelled batch with a bootstrap interval vs the champion's test figure
    verdict       ok / drift / degraded and its exit code
    report        Markdown + PNG plots + DVC plot data in reports/<use case>/monitor/<batch>/
    tracking      the MLflow run: tags naming the judged version, the batch as a dataset, figures as metrics
The statistics are SciPy's (`scipy.stats.ks_2samp`, `chi2_contingency`); SciPy is imported here only.
"""
