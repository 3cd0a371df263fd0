"""Self-supervised grasp learning after Pinto & Gupta, "Supersizing Self-supervision" (2016)."""

__version__ = "0.1.0"
