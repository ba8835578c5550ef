"""Wide-and-deep bag of n-grams: a fastText-style embedding average plus one learned weight per n-gram.

One embedding table holds both parts: the first `embed_dim` columns are the n-gram's vector (deep:
averaged over the text's n-grams, dropout, a linear head), the last `num_classes` columns its direct
contribution to each logit (wide: summed over the text's n-grams, divided by the square root of their
number, as an L2-normalised bag would be). Before training, the wide columns start from the naive
Bayes log-count ratios of the training texts (NBSVM, Wang & Manning 2012): how much more often texts
of each class contain the n-gram than texts of the other classes. Training then adjusts both parts.
Layer attributions on `embed` cover both parts (tasks/text_classification.py explains through it).
"""

from __future__ import annotations

import torch
from torch import nn


class NgramBag(nn.Module):
    """Ids of a text's distinct n-grams (0 = padding) → one logit per class; padding never changes the output."""

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embed_dim: int = 64,
        dropout: float = 0.3,
        nb_init: bool = True,
        nb_alpha: float = 1.0,
    ):
        super().__init__()
        self.embed_dim, self.num_classes, self.nb_init, self.nb_alpha = embed_dim, num_classes, nb_init, nb_alpha
        self.embed = nn.Embedding(vocab_size, embed_dim + num_classes, padding_idx=0)
        with torch.no_grad():
            self.embed.weight[:, embed_dim:] = 0.0  # wide part: no evidence until fitted to the train texts
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(embed_dim, num_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        n = (ids != 0).sum(1, keepdim=True).clamp_min(1).to(self.embed.weight.dtype)  # the padding row is all zeros
        summed = self.embed(ids).sum(1)
        deep, wide = summed[:, : self.embed_dim] / n, summed[:, self.embed_dim :] / n.sqrt()
        return self.head(self.dropout(deep)) + wide

    @torch.no_grad()
    def init_from_train(self, ids: torch.Tensor, y: torch.Tensor) -> None:
        """Wide columns ← half the one-vs-rest log-count ratio of each n-gram's presence in the train texts.

        With two classes the logit difference starts at the NB log-ratio log(p/q), p and q the shares
        (smoothed by `nb_alpha`) of class-1 and class-0 presences that fall on that n-gram. Padding and
        unknown ids keep weight 0. Called once before training (dlforge.models.classifier); no-op if
        `nb_init` is false.
        """
        if not self.nb_init:
            return
        vocab = self.embed.num_embeddings
        rows = torch.arange(len(ids), device=ids.device)[:, None].expand_as(ids)
        pairs = torch.unique(rows.reshape(-1) * vocab + ids.reshape(-1))  # (text, n-gram) once each
        text, gram = pairs // vocab, pairs % vocab
        present = torch.zeros(self.num_classes, vocab, dtype=torch.float64, device=ids.device)
        present.index_put_((y[text].long(), gram), torch.ones_like(gram, dtype=torch.float64), accumulate=True)
        present[:, :2] = 0.0  # padding, unknown
        alpha = self.nb_alpha
        for c in range(self.num_classes):
            p = present[c] + alpha
            q = present.sum(0) - present[c] + alpha
            ratio = (p / p.sum()).log() - (q / q.sum()).log()
            ratio[:2] = 0.0
            self.embed.weight[:, self.embed_dim + c] = (ratio / 2).to(self.embed.weight.dtype)
