from egressctl.cli import app

app()
