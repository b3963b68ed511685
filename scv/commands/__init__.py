"""One module per ``scv`` sub-command group."""
