from egressctl.cli import app

app(prog_name="python -m egressctl")
