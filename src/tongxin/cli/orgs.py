"""`tongxin orgs …`: organisations' facts from the command line (the operator on their own machine:
SYSTEM viewer). Errors print in Chinese and English with an exit code (1 invalid input, 4 bad file);
nothing is written on an error."""

from __future__ import annotations

import typer

from ..core.access import SYSTEM

orgs_app = typer.Typer(help="机构：批量导入机构基本情况 / organisations: import many firms' facts", no_args_is_help=True)


@orgs_app.command("import-facts")
def import_facts(path: str = typer.Argument(..., help="机构基本情况 Excel 文件 / the facts .xlsx (one organisation a row, by credit code)")) -> None:
    """批量导入机构基本情况（全部通过才写入；空白单元格保留原值；记为已核验） / import many firms' facts (all or nothing;
    a blank cell keeps the current value; recorded as verified)."""
    from ..services import org_facts as F
    from .resources import _echo, _go

    _echo(_go(lambda ex: F.import_facts(ex, SYSTEM, path).as_dict()))


@orgs_app.command("facts-template")
def facts_template(output: str = typer.Option("org-facts-template.xlsx", "--output", "-o", help="输出文件 / output file")) -> None:
    """生成机构基本情况导入模板 / write the facts import template."""
    from ..fileio.org_facts import write_facts_template
    from .resources import _echo

    if not output.lower().endswith(".xlsx"):
        raise typer.BadParameter(f"--output 应以 .xlsx 结尾 / --output must end in .xlsx, got {output!r}")
    write_facts_template(output)
    _echo({"template": output})


def register(app: typer.Typer) -> None:
    app.add_typer(orgs_app, name="orgs")
