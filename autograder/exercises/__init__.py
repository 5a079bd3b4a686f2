"""One module of checks per notebook; the notebooks' test cells call these."""
