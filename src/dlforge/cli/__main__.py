from dlforge.cli import run

run()
