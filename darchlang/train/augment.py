"""Training-time augmentation on whole batches of image tensors.

DeepArchitect's CIFAR-10 recipe: pad each image with zeros, crop a random window of the
original size back out (a random shift), and mirror it left-right with probability
`p_flip`. Working on a whole batch at once, with a seeded `torch.Generator`, keeps the
augmentation as fast as the step it feeds and the run reproducible. Images are already
normalised when they get here, so the zero padding is the dataset mean. The evaluation
transform is the identity: validation and test images are used as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from darchlang.errors import DarchError


@dataclass(frozen=True)
class Augment:
    """Zero padding + random crop back to the input size, then a random horizontal flip.

    `pad` is the padding on every side (the crop can shift an image by up to `pad`
    pixels each way); `p_flip` is the probability of mirroring an image.
    """

    pad: int = 0
    p_flip: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.pad, bool) or not isinstance(self.pad, int) or self.pad < 0:
            raise DarchError(f"augmentation padding must be a non-negative integer, got {self.pad!r}")
        if not 0.0 <= float(self.p_flip) <= 1.0:
            raise DarchError(f"augmentation p_flip must be a probability in [0, 1], got {self.p_flip!r}")

    @property
    def active(self) -> bool:
        """Whether this transform changes anything (an inactive one is skipped entirely)."""
        return self.pad > 0 or self.p_flip > 0.0

    def check_shape(self, input_shape: tuple[int, ...]) -> None:
        """Padding, cropping and flipping need images laid out as (channels, height, width)."""
        if self.active and len(input_shape) != 3:
            raise DarchError(
                f"augmentation needs images shaped (channels, height, width); "
                f"this data has examples shaped {tuple(input_shape)}",
                help="train without augmentation for data that is not images",
            )

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Augment a batch `x` of shape (N, C, H, W); `generator` lives on `x`'s device."""
        if not self.active:
            return x
        n, c, h, w = x.shape
        if self.pad > 0:
            p = self.pad
            padded = F.pad(x, (p, p, p, p))
            span = 2 * p + 1
            dy = torch.randint(span, (n,), generator=generator, device=x.device)
            dx = torch.randint(span, (n,), generator=generator, device=x.device)
            rows = dy[:, None] + torch.arange(h, device=x.device)  # (n, h)
            cols = dx[:, None] + torch.arange(w, device=x.device)  # (n, w)
            x = padded.gather(2, rows[:, None, :, None].expand(n, c, h, w + 2 * p))  # (n, c, h, W)
            x = x.gather(3, cols[:, None, None, :].expand(n, c, h, w))  # (n, c, h, w)
        if self.p_flip > 0.0:
            flip = torch.rand(n, generator=generator, device=x.device) < self.p_flip
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
        return x


NO_AUGMENT = Augment()

