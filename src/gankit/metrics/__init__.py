"""Sample-quality measures: Frechet distance, precision/recall, class and mode coverage, PSNR/SSIM and a
Laplacian-patch Frechet distance for photos."""

from .coverage import class_coverage, mixture_coverage
from .frechet import frechet_distance, gaussian_stats
from .image_quality import laplacian_fd, psnr, ssim
from .prd import precision_recall

__all__ = ["class_coverage", "frechet_distance", "gaussian_stats", "laplacian_fd", "mixture_coverage",
           "precision_recall", "psnr", "ssim"]
