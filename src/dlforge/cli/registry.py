"""Registry commands: list, describe, history, promote, rollback. MLflow client and rich only (no torch)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from typing import Any

from mlflow.tracking import MlflowClient
from rich.console import Console
from rich.table import Table

from dlforge import keys as K
from dlforge.errors import UserError
from dlforge.registry import aliases

LINEAGE = K.LINEAGE
_REF = re.compile(r"^(?P<name>[^@/]+)(?:@(?P<alias>[\w-]+)|/(?P<version>\d+))?$")


def parse_ref(ref: str) -> tuple[str, str | None, int | None]:
    """`name`, `name@alias` or `name/3` → (name, alias, version); a bare name means its champion."""
    m = _REF.match(ref)
    if not m:
        raise UserError(f"model reference '{ref}': expected NAME, NAME@ALIAS or NAME/VERSION")
    if m["alias"] is None and m["version"] is None:
        return m["name"], K.CHAMPION, None
    return m["name"], m["alias"], int(m["version"]) if m["version"] else None


def resolve(client: MlflowClient, ref: str) -> Any:
    """The model version a reference names, or a UserError saying what exists instead."""
    name, alias, version = parse_ref(ref)
    model = aliases.get_model(client, name)
    if version is not None:
        return aliases.check_version(client, name, version)
    held = aliases.current(client, name, alias)
    if held is None:
        raise UserError(f"model '{name}': no alias '{alias}' (has: {', '.join(sorted(model.aliases)) or 'none'})")
    return held


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="registered models with their aliases, or one model's versions")
    p.add_argument("name", nargs="?", help="show this model's versions")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("describe", help="one version: metrics, lineage, gate decision, alias moves")
    p.add_argument("ref", help="NAME (its champion), NAME@ALIAS or NAME/VERSION")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_describe)
    p = sub.add_parser("history", help="every recorded alias move of a model")
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_history)
    p = sub.add_parser("promote", help="make a version champion by hand (recorded as manual)")
    p.add_argument("ref", help="NAME/VERSION or NAME@ALIAS")
    p.add_argument("--reason", required=True, help="why: kept in the alias log")
    p.set_defaults(func=cmd_promote)
    p = sub.add_parser("rollback", help="champion returns to the previous champion")
    p.add_argument("name")
    p.add_argument("--reason", default="manual rollback", help="why: kept in the alias log")
    p.set_defaults(func=cmd_rollback)


def _client(args: argparse.Namespace) -> MlflowClient:
    return MlflowClient(tracking_uri=args.tracking_uri, registry_uri=args.tracking_uri)


def _out(args: argparse.Namespace, data: Any, table: Table | None = None) -> None:
    if args.json or table is None:
        print(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        Console(width=160).print(table)


def _when(ms: int | None) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if ms else ""


def _version_row(v: Any, held: dict[str, str]) -> dict[str, Any]:
    """One version's summary; `held` is the model's alias map (search results carry no aliases)."""
    t = v.tags
    return {
        "version": int(v.version),
        "aliases": sorted(a for a, n in held.items() if int(n) == int(v.version)),
        "created": _when(v.creation_timestamp),
        "run_id": v.run_id,
        "gate_metric": t.get(K.GATE + "metric"),
        "score": t.get(K.GATE + K.CHALLENGER),
        "ci": [t.get(K.GATE + "ci_low"), t.get(K.GATE + "ci_high")] if K.GATE + "ci_low" in t else None,
        "promoted": t.get(K.GATE + "promoted"),
        "git_commit": (t.get(K.GIT_COMMIT) or "")[:10],
    }


def cmd_list(args: argparse.Namespace) -> None:
    client = _client(args)
    if args.name:
        held = aliases.get_model(client, args.name).aliases
        rows = sorted(
            (_version_row(v, held) for v in client.search_model_versions(f"name='{args.name}'")),
            key=lambda r: -r["version"],
        )
        table = Table(title=f"{args.name}: versions")
        for col in (
            "version",
            "aliases",
            "created (UTC)",
            "gate metric",
            "score",
            "gain interval",
            "promoted",
            "commit",
        ):
            table.add_column(col)
        for r in rows:
            ci = f"[{float(r['ci'][0]):+.4f}, {float(r['ci'][1]):+.4f}]" if r["ci"] else ""
            table.add_row(
                f"v{r['version']}",
                ", ".join(r["aliases"]),
                r["created"],
                r["gate_metric"] or "",
                r["score"] or "",
                ci,
                r["promoted"] or "",
                r["git_commit"],
            )
        return _out(args, rows, table)
    models = [m for m in client.search_registered_models() if not m.name.startswith(aliases.LOCK_PREFIX)]
    rows = []
    for m in sorted(models, key=lambda m: m.name):
        latest = max((int(v.version) for v in client.search_model_versions(f"name='{m.name}'")), default=None)
        rows.append(
            {
                "name": m.name,
                "aliases": {a: int(v) for a, v in sorted(m.aliases.items())},
                "latest_version": latest,
                "updated": _when(m.last_updated_timestamp),
            }
        )
    table = Table(title="registered models")
    for col in ("model", K.CHAMPION, K.CHALLENGER, "other aliases", "latest", "updated (UTC)"):
        table.add_column(col)
    for r in rows:
        a = dict(r["aliases"])
        champ, chall = a.pop(K.CHAMPION, None), a.pop(K.CHALLENGER, None)
        table.add_row(
            r["name"],
            f"v{champ}" if champ else "-",
            f"v{chall}" if chall else "-",
            ", ".join(f"{k}=v{v}" for k, v in a.items()),
            f"v{r['latest_version']}",
            r["updated"],
        )
    _out(args, rows, table)


def cmd_describe(args: argparse.Namespace) -> None:
    client = _client(args)
    v = resolve(client, args.ref)
    run = client.get_run(v.run_id)
    gate = {k.removeprefix(K.GATE): val for k, val in v.tags.items() if k.startswith(K.GATE)}
    moves = [m for m in aliases.history(client, v.name) if m["version"] == int(v.version)]
    data = {
        "name": v.name,
        "version": int(v.version),
        "aliases": sorted(v.aliases),
        "created": _when(v.creation_timestamp),
        "run_id": v.run_id,
        "experiment_id": run.info.experiment_id,
        "source": v.source,
        "metrics": {k: val for k, val in sorted(run.data.metrics.items()) if "test_" in k},
        "lineage": {k.removeprefix(K.PREFIX): v.tags.get(k, run.data.tags.get(k)) for k in LINEAGE},
        "gate": gate,
        "alias_moves": moves,
    }
    if args.json:
        return _out(args, data)
    console = Console(width=160)
    console.print(
        f"[bold]{v.name} v{v.version}[/bold]  aliases: {', '.join(data['aliases']) or '-'}  created {data['created']} UTC  run {v.run_id}"
    )
    for title, section in (("test metrics", data["metrics"]), ("lineage", data["lineage"]), ("gate decision", gate)):
        table = Table(title=title, show_header=False)
        table.add_column("key", style="bold")
        table.add_column("value", overflow="fold")
        for k, val in section.items():
            table.add_row(k, f"{val:.6g}" if isinstance(val, float) else str(val))
        console.print(table)
    _print_moves(console, moves, f"alias moves of v{v.version}")


def cmd_history(args: argparse.Namespace) -> None:
    log = aliases.history(_client(args), args.name)
    if args.json:
        return _out(args, log)
    _print_moves(Console(width=160), log, f"{args.name}: alias moves")


def _print_moves(console: Console, moves: list[dict[str, Any]], title: str) -> None:
    table = Table(title=title)
    for col in ("#", "when (UTC)", "alias", "to", "from", "kind", "by", "reason"):
        table.add_column(col, overflow="fold")
    for m in moves:
        prev = f"v{m['previous']}" if m["previous"] else "-"
        table.add_row(
            str(m["seq"]),
            _when(int(m["at"] * 1000)),
            m["alias"],
            f"v{m['version']}",
            prev,
            m["kind"],
            m["by"],
            m["reason"],
        )
    console.print(table)


def cmd_promote(args: argparse.Namespace) -> None:
    client = _client(args)
    v = resolve(client, args.ref)
    if not args.reason.strip():
        raise UserError("promote --reason: must say why (it is kept in the alias log)")
    held = aliases.current(client, v.name, K.CHAMPION)
    if held is not None and held.version == v.version:
        raise UserError(f"model '{v.name}': v{v.version} is already champion")
    m = aliases.move(client, v.name, K.CHAMPION, int(v.version), "manual", args.reason)
    print(f"{v.name}: champion v{m['previous'] or '-'} → v{m['version']} (manual: {args.reason})")


def cmd_rollback(args: argparse.Namespace) -> None:
    m = aliases.rollback(_client(args), args.name, args.reason)
    print(f"{args.name}: champion v{m['previous']} → v{m['version']} (rollback: {args.reason})")
