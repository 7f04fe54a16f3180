"""Weight initialisation shared by the convolutional nets."""

from torch import nn


def dcgan_init(module: nn.Module) -> None:
    """Radford et al.: weights from N(0, 0.02); batch-norm scales from N(1, 0.02), shifts 0.

    A network built on the meta device (to weigh it before allocating) holds no values to draw, and
    torch's first ``normal_`` there costs seconds, so it is left alone."""
    if any(p.is_meta for p in module.parameters()):
        return
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
