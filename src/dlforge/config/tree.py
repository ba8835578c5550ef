"""The composed config printed as a tree when a stage starts (as lightning-hydra-template does).

One branch per top-level section, in the config's order, each holding that section's YAML as plain
text (no padding or colour codes in DVC's logs)
(interpolations resolved, so the values shown are the values used). `print_config: false` in
conf/config.yaml, or on the command line, turns it off.
"""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf


def tree(cfg: DictConfig):
    """A rich Tree of `cfg`: top-level scalars in one branch, every other section in its own."""
    from rich.text import Text
    from rich.tree import Tree

    root = Tree("config", style="bold", guide_style="dim")
    scalars = {k: v for k, v in cfg.items() if not OmegaConf.is_config(v)}
    if scalars:
        root.add("[bold]top level").add(Text(OmegaConf.to_yaml(scalars).rstrip()))
    for key, value in cfg.items():
        if OmegaConf.is_config(value):
            text = OmegaConf.to_yaml(value, resolve=True) if len(value) else "{}\n"
            root.add(f"[bold]{key}").add(Text(text.rstrip()))
    return root


def print_tree(cfg: DictConfig) -> None:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # a log (DVC, CI): wide enough that paths and targets stay on one line
        console = Console(width=200)
    console.print(tree(cfg))
