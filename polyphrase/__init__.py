"""polyphrase: rephrase pretraining text in several styles and verify each rewrite against its source."""

__version__ = "0.1.0"
