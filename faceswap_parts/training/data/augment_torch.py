"""The augmentations of :mod:`faceswap_parts.training.data.augment` as batched tensor
ops on the training device, for GPUs that the CPU pipeline cannot feed.

The draws (:class:`~faceswap_parts.training.data.dataset.SampleDraws`) are the same:
the host draws them and gathers the uint8 faces (cheap), the device does the
pixel work, so a batch follows the same distribution as on the CPU path and
stays a pure function of the seed. Each OpenCV call has its counterpart:
``warpAffine`` and ``remap`` with ``BORDER_REPLICATE`` are ``grid_sample``
with border padding (pixel centres at integer coordinates:
``align_corners=True``), ``resize`` of the 5x5 warp grid is half-pixel
bilinear interpolation, ``filter2D`` is a grouped convolution over
replicate-padded images.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from faceswap_parts.training.data.augment import warp_crop
from faceswap_parts.training.data.dataset import FaceBatch, RawBatch


def _pixel_grid(height: int, width: int, device, dtype) -> torch.Tensor:
    """(H,W,3) homogeneous pixel coordinates (x, y, 1)."""
    ys, xs = torch.meshgrid(torch.arange(height, device=device, dtype=dtype),
                            torch.arange(width, device=device, dtype=dtype), indexing="ij")
    return torch.stack([xs, ys, torch.ones_like(xs)], dim=-1)


def _sample(images: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of (N,C,H,W) ``images`` at (N,h,w,2) pixel coordinates
    (x, y), replicating the border."""
    h, w = images.shape[-2:]
    scale = torch.tensor([2.0 / (w - 1), 2.0 / (h - 1)], device=coords.device, dtype=coords.dtype)
    return F.grid_sample(images, coords * scale - 1.0, mode="bilinear", padding_mode="border", align_corners=True)


def warp_affine(images: torch.Tensor, inverse: torch.Tensor, size: int) -> torch.Tensor:
    """``cv2.warpAffine`` of each image to ``size`` x ``size``, given the inverse
    (N,2,3) matrices (output pixels to input pixels)."""
    grid = _pixel_grid(size, size, images.device, inverse.dtype)
    coords = torch.einsum("hwk,njk->nhwj", grid, inverse)
    return _sample(images, coords)


def color_match(rgb: torch.Tensor, ref_stats: torch.Tensor) -> torch.Tensor:
    """Each (N,3,H,W) image's channels shifted and scaled to the reference's
    means and standard deviations (N,2,3), clipped to 0..255."""
    mean = rgb.mean(dim=(2, 3), keepdim=True)
    std = rgb.std(dim=(2, 3), keepdim=True, unbiased=False)
    ref_mean, ref_std = ref_stats[:, 0, :, None, None], ref_stats[:, 1, :, None, None]
    return ((rgb - mean) * (ref_std / std.clamp_min(1e-3)) + ref_mean).clamp(0, 255)


def remap_grid(grid: torch.Tensor, resolution: int) -> torch.Tensor:
    """The jittered (N,2,5,5) warp grid upsampled bilinearly (as ``cv2.resize``)
    and trimmed: (N,R,R,2) source pixel coordinates."""
    big, trim = warp_crop(resolution)
    dense = F.interpolate(grid, size=(big, big), mode="bilinear", align_corners=False)
    return dense[:, :, trim, trim].permute(0, 2, 3, 1)


def motion_blur(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Each (N,C,H,W) image convolved with its own (N,k,k) kernel, borders replicated."""
    n, c, h, w = images.shape
    k = kernels.shape[-1]
    padded = F.pad(images.reshape(1, n * c, h, w), (k // 2,) * 4, mode="replicate")
    weight = kernels.to(images.dtype).repeat_interleave(c, dim=0)[:, None]
    return F.conv2d(padded, weight, groups=n * c).reshape(n, c, h, w)


def augment_batch(raw: RawBatch, resolution: int) -> FaceBatch:
    """A :class:`RawBatch` (already on the target device) augmented as the CPU
    path would: colour match, rotation/zoom/shift/flip, random warp and
    aligned target, motion blur; model-range tensors."""
    images = raw.images.permute(0, 3, 1, 2).float()
    rgb = torch.where(raw.has_ref[:, None, None, None], color_match(images, raw.ref_stats), images)
    image = torch.cat([rgb, raw.masks.permute(0, 3, 1, 2).float()], dim=1)
    image = warp_affine(image, raw.transform_inv, image.shape[-1])
    image = torch.where(raw.flip[:, None, None, None], image.flip(-1), image)
    warped = _sample(image, remap_grid(raw.grid, resolution))
    target = warp_affine(image, raw.target_inv, resolution)
    masks = target[:, 3:] / 255.0
    warped, target = warped[:, :3], target[:, :3]
    # Unblurred samples carry a centred delta kernel: one convolution for all, no branch on device data.
    warped, target = motion_blur(torch.cat([warped, target]), torch.cat([raw.blur, raw.blur])).chunk(2)
    return FaceBatch(warped / 127.5 - 1.0, target / 127.5 - 1.0, masks[:, :1], masks[:, 1:])
