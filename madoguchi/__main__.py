"""`python -m madoguchi …`: the same CLI as the `madoguchi` command."""

from madoguchi.cli import app

app(prog_name="madoguchi")
