"""Sample-quality measures: Frechet distance, precision/recall, class and mode coverage."""

from .coverage import class_coverage, mixture_coverage
from .frechet import frechet_distance, gaussian_stats
from .prd import precision_recall

__all__ = ["class_coverage", "frechet_distance", "gaussian_stats", "mixture_coverage", "precision_recall"]
