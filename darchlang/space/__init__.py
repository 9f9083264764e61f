"""Search spaces: choice nodes, counting, sampling, replay, enumeration and naming."""

from darchlang.space.space import Space

__all__ = ["Space"]
