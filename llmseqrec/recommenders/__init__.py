"""Built-in recommenders (importing this module registers them)."""

from .popular import MostPopular

__all__ = ["MostPopular"]
