"""The maintainer's side: regenerate the learner notebooks from solutions/ (`release`) and render
the worked solutions as a web site (`site`)."""
