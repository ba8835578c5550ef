"""TabM (Gorishniy et al., ICLR 2025; package `tabm`): one network that is an efficient ensemble of k MLPs.

The model-ready features (standardised numbers, one-hot categories) go in as TabM's numeric input,
optionally through learned linear-ReLU embeddings per feature (rtdl-num-embeddings). The k heads'
predictions are combined into one output the existing LightningModules train and serve: for classes,
the log of the mean of the k heads' probabilities (a valid logit vector: softmax gives that mean);
for one output (regression), the mean of the heads. The ensemble is thereby trained as a mixture
(the paper's recipe averages the k heads' losses instead). The classification output's class biases
start at the train split's log class frequencies, as in wide_deep.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class TabMNet(nn.Module):
    """Flattened features → TabM (k heads) → one prediction per row."""

    def __init__(
        self,
        in_shape: list[int],
        num_classes: int,
        k: int = 32,
        n_blocks: int = 2,
        d_block: int = 128,
        dropout: float = 0.1,
        d_embedding: int | None = None,
        prior_init: bool = True,
    ):
        import rtdl_num_embeddings
        import tabm

        super().__init__()
        n = math.prod(in_shape)
        self.num_classes, self.k, self.prior_init = num_classes, k, prior_init
        embeddings = rtdl_num_embeddings.LinearReLUEmbeddings(n, d_embedding) if d_embedding else None
        self.tabm = tabm.TabM.make(
            n_num_features=n,
            d_out=num_classes,
            num_embeddings=embeddings,
            k=k,
            n_blocks=n_blocks,
            d_block=d_block,
            dropout=dropout,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        heads = self.tabm(x_num=x.flatten(1))  # (batch, k, outputs)
        if self.num_classes == 1:
            return heads.mean(1)
        return heads.log_softmax(-1).logsumexp(1) - math.log(self.k)

    @torch.no_grad()
    def init_from_train(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Each head's class biases ← the log class shares of the train labels, add-one smoothed (classes only)."""
        if not self.prior_init or self.num_classes == 1:
            return
        counts = torch.bincount(y.long(), minlength=self.num_classes).double()
        share = ((counts + 1) / (counts.sum() + self.num_classes)).log()
        bias = self.tabm.output.bias
        bias.copy_(share.to(bias.dtype).expand_as(bias))
