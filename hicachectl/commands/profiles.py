"""`hicachectl profiles`: list the bundled deployment profiles."""

import json
import sys
from typing import Annotated

import typer


def command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable list.")] = False,
) -> int:
    """List the bundled profiles: name, model, topology, description.

    Use one with `hicachectl plan --profile NAME` (or a path to your own TOML).
    """
    from hicachectl.profiles import bundled_dir, list_profiles

    rows = []
    for path, prof, req in list_profiles():
        if req.disaggregated:
            topo = f"{req.prefill_workers}P+{req.decode_workers}D"
        else:
            topo = f"{req.workers} worker" + ("s" if req.workers != 1 else "")
        topo += f", tp{req.tp}" + (f" pp{req.pp}" if req.pp > 1 else "")
        topo += f" dp{req.dp}" if req.dp > 1 else ""
        rows.append(
            {
                "name": prof.name or path.stem,
                "model": req.model or req.model_config_path or "",
                "topology": topo,
                "hardware": prof.hardware or "",
                "description": prof.description,
                "path": str(path),
            }
        )
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    from rich.console import Console

    console = Console(highlight=False)
    fixed = sum(
        max([len(c)] + [len(r[c]) for r in rows]) + 3 for c in ("name", "model", "topology")
    )
    if console.width >= fixed + DESCRIPTION_MIN:
        from rich.table import Table

        table = Table(title=f"Profiles in {bundled_dir()}", title_justify="left", show_edge=False)
        for col in ("name", "model", "topology"):
            table.add_column(col, no_wrap=True)
        table.add_column("description", overflow="fold")
        for row in rows:
            table.add_row(row["name"], row["model"], row["topology"], row["description"])
        console.print(table)
        return 0
    # Too narrow for the table (or a pipe, where rich assumes 80 columns): one block per
    # profile, so that nothing is cut.
    import textwrap

    width = max(console.width, 40)
    out = [f"Profiles in {bundled_dir()}"]
    for row in rows:
        out += ["", row["name"]]
        for text in (f"{row['model']}, {row['topology']}", row["description"]):
            out += textwrap.wrap(
                text,
                width,
                initial_indent="    ",
                subsequent_indent="    ",
                break_on_hyphens=False,  # keep flags such as --max-running-requests whole
                break_long_words=False,
            )
    sys.stdout.write("\n".join(out) + "\n")
    return 0


DESCRIPTION_MIN = 40  # columns the description needs to read well beside the others
