"""What the notebooks' test cells call: one module per notebook (`similarity`, `self_attention`,
...), each built on `core`, which runs a learner's code against a reference and names the likely
mistake. A notebook imports its module as `check` and calls `check.<name>(<learner's object>)`,
where <name> is the snake_case name of what the learner wrote (`check.encoder_block(EncoderBlock)`).
"""
