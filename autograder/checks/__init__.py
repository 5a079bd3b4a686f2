"""What the notebooks' test cells call: one module per notebook (`similarity`, `self_attention`,
...), each built on `core`, which runs a learner's code against a reference and names the likely
mistake.

The rules every module follows, stated here once:

- A notebook imports its module as `check` and calls `check.<name>(<learner's object>)`, where
  <name> is the snake_case name of what the learner wrote (`check.encoder_block(EncoderBlock)`).
  A module's public functions are exactly these checks; everything else is private.
- A check runs the learner's function (or builds the learner's class under a fixed seed) on the
  worked example (`hidden=False`, the visible test) or on inputs chosen to expose the classic
  mistakes (`hidden=True`, the hidden test), and names the likely mistake when it fails.
- Shapes are written in the vocabulary stated in `autograder.blocks` (`b`, `n`, `m`, `h`, `d_k`,
  `d_v`, `d_head`, `d_model`, `V`).
"""
