"""Spaces shared by the search tests, small enough to search in milliseconds."""

# 26,873,856 architectures, with conditional choices (the dropout keep exists only when
# the dropout branch of `optional` is taken).
MEDIUM = """
def block() = concat [
    conv2d(filters: one_of(16, 32, 48, 64), size: one_of(1, 3, 5)),
    one_of(relu(), gelu(), tanh()),
    optional(dropout(keep: one_of(0.5, 0.7, 0.9))),
]
space = concat [
    block(), block(), block(),
    one_of(max_pool2d(), avg_pool2d(), identity()),
    affine(units: one_of(64, 128, 256)),
]
"""

# 10 architectures: the first branch holds 1, the second 9 (unequal subtree sizes).
SMALL = """
space = concat [
    one_of(
        conv2d(filters: 8, size: 3),
        concat [conv2d(filters: one_of(8, 16, 32), size: one_of(1, 3, 5)), relu()],
    ),
    affine(units: 10),
]
"""
