"""TabM (Gorishniy et al., ICLR 2025; package `tabm`): one network that is an efficient ensemble of k MLPs.

The model-ready features (standardised numbers, one-hot categories) go in as TabM's numeric input,
optionally through per-feature embeddings from rtdl-num-embeddings: linear-ReLU, or piecewise-linear
with quantile bins of the train split (`compute_bins`; set in `init_from_train`, kept as a buffer so
an exported net rebuilds them when its weights load).

The ensemble contract the LightningModules read (dlforge.models.classifier, regressor): `heads(x)` is
the k members' outputs (batch, k, outputs), the training loss is the mean of the members' losses (the
paper's recipe), and `forward(x)` = `reduce(heads(x))` is the one prediction validation, evaluation
and serving see: for classes, the log of the members' mean probability (a valid logit vector: softmax
gives that mean); for one output (regression), the members' mean. The class biases start at the train
split's log class frequencies, as in wide_deep.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
from torch import nn


class TabMNet(nn.Module):
    """Flattened features → (embeddings) → TabM (k members) → one prediction per row."""

    def __init__(
        self,
        in_shape: list[int],
        num_classes: int,
        k: int = 32,
        n_blocks: int = 2,
        d_block: int = 128,
        dropout: float = 0.1,
        d_embedding: int | None = None,
        embedding: str = "linear_relu",
        n_bins: int = 48,
        prior_init: bool = True,
    ):
        super().__init__()
        n = math.prod(in_shape)
        self.num_classes, self.k, self.prior_init = num_classes, k, prior_init
        self.n_blocks, self.d_block, self.dropout = n_blocks, d_block, dropout
        self.n_bins, self.d_embedding = n_bins, d_embedding
        if embedding not in ("linear_relu", "piecewise_linear"):
            raise ValueError(f"embedding: {embedding!r}; expected 'linear_relu' or 'piecewise_linear'")
        if embedding == "piecewise_linear" and not d_embedding:
            raise ValueError("embedding 'piecewise_linear' needs d_embedding")
        # the bin edges of each feature (piecewise-linear only), NaN-padded to n_bins + 1: placeholders until
        # init_from_train (evenly spaced over ±3 standard deviations), the train split's quantiles after it
        edges = torch.linspace(-3, 3, n_bins + 1).expand(n, -1).clone()
        self.register_buffer("bin_edges", edges if embedding == "piecewise_linear" else None)
        self.tabm = self._build(n, self._bins())
        self.register_load_state_dict_pre_hook(self._rebuild_for_edges)

    def _build(self, n: int, bins: list[torch.Tensor] | None) -> nn.Module:
        import rtdl_num_embeddings as rne
        import tabm

        if bins is not None:
            embeddings = rne.PiecewiseLinearEmbeddings(bins, self.d_embedding, activation=False, version="B")
        else:
            embeddings = rne.LinearReLUEmbeddings(n, self.d_embedding) if self.d_embedding else None
        return tabm.TabM.make(
            n_num_features=n,
            d_out=self.num_classes,
            num_embeddings=embeddings,
            k=self.k,
            n_blocks=self.n_blocks,
            d_block=self.d_block,
            dropout=self.dropout,
        )

    def _bins(self) -> list[torch.Tensor] | None:
        if self.bin_edges is None:
            return None
        return [row[~row.isnan()] for row in self.bin_edges]

    def heads(self, x: torch.Tensor) -> torch.Tensor:
        """The k members' outputs, (batch, k, outputs): logits per class, or the regression value."""
        return self.tabm(x_num=x.flatten(1))

    def reduce(self, heads: torch.Tensor) -> torch.Tensor:
        """One prediction from the members': the log mean probability (classes) or the mean value (regression)."""
        if self.num_classes == 1:
            return heads.mean(1)
        return heads.log_softmax(-1).logsumexp(1) - math.log(heads.shape[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.reduce(self.heads(x))

    @torch.no_grad()
    def init_from_train(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Piecewise-linear bins ← quantiles of the train features; each member's class biases ← the log class
        shares of the train labels, add-one smoothed (classes only, if `prior_init`)."""
        if self.bin_edges is not None:
            import rtdl_num_embeddings as rne

            with warnings.catch_warnings():  # a one-hot column has one bin (two edges): expected, not a problem
                warnings.filterwarnings("ignore", message=r"The \d+-th feature has just two bin edges")
                bins = rne.compute_bins(x.flatten(1).float(), self.n_bins)
            self.bin_edges.fill_(float("nan"))
            for row, edges in zip(self.bin_edges, bins):
                row[: len(edges)] = edges
            self.tabm = self._build(len(bins), bins)  # new weights: init runs before the optimiser exists
        if not self.prior_init or self.num_classes == 1:
            return
        counts = torch.bincount(y.long(), minlength=self.num_classes).double()
        share = ((counts + 1) / (counts.sum() + self.num_classes)).log()
        bias = self.tabm.output.bias
        bias.copy_(share.to(bias.dtype).expand_as(bias))

    def _rebuild_for_edges(self, module: nn.Module, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        """Loading weights trained on other bins (an exported or checkpointed net) rebuilds the embeddings for them."""
        edges = state_dict.get(prefix + "bin_edges")
        if self.bin_edges is None or edges is None or torch.equal(edges.isnan(), self.bin_edges.isnan()):
            return  # the same number of bins per feature: the state dict holds every buffer the bins set
        self.bin_edges.copy_(edges)
        self.tabm = self._build(len(edges), self._bins())
