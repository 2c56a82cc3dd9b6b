"""`gankit evaluate`: how good are a model's samples, in numbers?

Images with labels: Fréchet distance and precision/recall (k=3) in the feature space of a classifier trained on
the dataset's own training split (`fd_<data>_classifier`; its test accuracy is reported beside), the classes the
samples fall into (covered, KL to the data's class histogram), and for conditional models the share of samples
classified as the label they were asked for. Stacked MNIST: the MNIST classifier on each channel, 1,000 modes.
2-D mixtures: the PacGAN protocol (modes captured, high-quality share, reverse KL). Translation models: see
TranslationEvaluator.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import DataConfig
from .errors import GankitError
from .metrics import class_coverage, frechet_distance, gaussian_stats, mixture_coverage, precision_recall
from .models import GANModel
from .models.base import inference


def generate(model: GANModel, n: int, seed: int, G=None, batch: int = 500, **kwargs: Any) -> torch.Tensor:
    """n samples in the model's own range ([-1, 1] images), drawn in batches from a seeded generator."""
    G = G or getattr(model, model.ema_target)
    generator = model.seeded(seed)
    out = []
    with inference(G):
        for start in range(0, n, batch):
            k = min(batch, n - start)
            extra = {key: v[start:start + k] for key, v in kwargs.items()}
            out.append(model.generate(k, generator=generator, G=G, **extra).cpu())
    return torch.cat(out)


class Evaluator:
    """Holds what does not change between evaluations of one dataset: the classifier and the real statistics."""

    def __init__(self, data_cfg: DataConfig, info, progress: bool = True, max_real: int = 10_000):
        from .data import load_dataset, read_batch
        from .data.mixtures import MIXTURES
        from .metrics.classifier import get_classifier

        self.info = info
        self.name = data_cfg.spec.split(":")[0]
        # Evaluation reads every label of the images a run trained on (a semi-supervised run hid most of them).
        data_cfg = dataclasses.replace(data_cfg, labels_per_class=0)
        self.stacked = self.name == "stacked-mnist"
        with torch.random.fork_rng():  # never disturb a training run's random state
            if not info.is_image:
                if self.name not in MIXTURES:
                    raise GankitError(f"no evaluation is defined for vector data '{self.name}'")
                means, self.sigma = MIXTURES[self.name]
                self.means = means().numpy()
                return
            if info.num_classes < 2:
                raise GankitError(f"evaluation needs labelled images to train its classifier; {self.name} has "
                                  "none (use class sub-folders)")
            clf_cfg = data_cfg
            if self.stacked:  # one MNIST digit per channel
                clf_cfg = dataclasses.replace(data_cfg, spec="mnist" + data_cfg.spec[len("stacked-mnist"):],
                                              channels=1)
            self.classifier = get_classifier(clf_cfg, progress=progress)
            real = load_dataset(dataclasses.replace(data_cfg, split="train", flip=False))
            # The reference set: 10,000 training images at most (seeded), as many as a default evaluation draws.
            keep = torch.randperm(len(real), generator=torch.Generator().manual_seed(0))[:max_real]
            batch = read_batch(real, keep)
            x, labels = batch["x"].cpu(), batch["label"].cpu().numpy()
            feats, _ = self._classify(x)
            self.data_cfg = data_cfg
            self.real_x, self.real_labels = x, labels  # also the reference set of encoder metrics
            self._test: tuple[torch.Tensor, np.ndarray] | None = None
            self.real_feats = feats
            self.real_stats = gaussian_stats(feats)
            self.data_hist = np.bincount(labels, minlength=info.num_classes) / len(labels)

    def _classify(self, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        if not self.stacked:
            return self.classifier.run(x)
        parts = [self.classifier.run(x[:, c:c + 1]) for c in range(3)]
        feats = np.concatenate([f for f, _ in parts], 1)
        labels = parts[0][1] * 100 + parts[1][1] * 10 + parts[2][1]
        return feats, labels

    def __call__(self, model: GANModel, n: int = 10_000, seed: int = 0, G=None) -> dict[str, Any]:
        with torch.random.fork_rng():
            return self._evaluate(model, n, seed, G)

    def _evaluate(self, model, n, seed, G) -> dict[str, Any]:
        if not self.info.is_image:
            x = generate(model, n, seed, G).numpy()
            return {"n": n, **mixture_coverage(x, self.means, self.sigma)}
        x = generate(model, n, seed, G)
        feats, labels = self._classify(x)
        m: dict[str, Any] = {"n": n, "classifier_test_accuracy": round(self.classifier.test_accuracy, 5)}
        m[f"fd_{self.name.replace('-', '_')}_classifier"] = frechet_distance(*gaussian_stats(feats), *self.real_stats)
        m_real = min(len(self.real_feats), 10_000)
        sub = np.random.default_rng(seed).choice(len(self.real_feats), m_real, replace=False)
        m["precision"], m["recall"] = precision_recall(self.real_feats[sub], feats[:m_real])
        if self.stacked:  # the protocol's reference is the uniform distribution over the 1,000 modes
            cov = class_coverage(labels, self.info.num_classes)
            m["modes_covered"], m["kl_to_uniform"] = cov["classes_covered"], cov["kl_to_data"]
        else:
            cov = class_coverage(labels, self.info.num_classes, self.data_hist)
            m["classes_covered"], m["kl_to_data"] = cov["classes_covered"], cov["kl_to_data"]
            m["class_histogram"] = cov["histogram"]
        if model.conditional:
            asked = torch.arange(n) % self.info.num_classes
            xc = generate(model, n, seed + 1, G, label=asked)
            m["conditional_accuracy"] = float((self._classify(xc)[1] == asked.numpy()).mean())
        if not self.stacked:
            if model.encodes:
                m.update(self.encoder_metrics(model, G))
            if model.classifies:
                x_test, y_test = self.test_set()
                with inference(model):
                    pred = torch.cat([model.classify_batch(part.to(model.device)).argmax(1).cpu()
                                      for part in x_test.split(500)])
                m["classify_accuracy"] = float((pred.numpy() == y_test).mean())
            if model.scores_anomalies and self.data_cfg.exclude_classes:
                m.update(self.anomaly_metrics(model))
        return m

    def test_set(self) -> tuple[torch.Tensor, np.ndarray]:
        """The held-out split with every class and label (10,000 images at most), in [-1, 1], and its labels."""
        if self._test is None:
            from .data import load_dataset, read_batch

            test = load_dataset(dataclasses.replace(self.data_cfg, split="test", flip=False, exclude_classes=[]))
            batch = read_batch(test, torch.arange(min(len(test), 10_000)))
            self._test = batch["x"].cpu(), batch["label"].cpu().numpy()
        return self._test

    def anomaly_metrics(self, model: GANModel) -> dict[str, Any]:
        """A run trained without some classes: how well the encoder scorer (one pass, f-AnoGAN) tells them apart in
        the held-out split (AUROC, the left-out classes positive)."""
        from sklearn.metrics import roc_auc_score

        x_test, y_test = self.test_set()
        with inference(model):
            scores = torch.cat([model.anomaly_scores(part.to(model.device), "encoder")[0].float().cpu()
                                for part in x_test.split(500)])
        anomalous = np.isin(y_test, self.data_cfg.exclude_classes)
        return {"anomaly_auroc_encoder": float(roc_auc_score(anomalous, scores.numpy()))}

    def encoder_metrics(self, model: GANModel, G=None) -> dict[str, Any]:
        """What the encoder knows of the classes, without having seen a label: for a code vector, 1-nearest-neighbour
        and linear-probe accuracy of the codes of held-out images (the training images' codes as the reference); for
        categorical codes, the accuracy of each as a classifier (best one-to-one matching of categories to classes);
        and the share of held-out images whose reconstruction G(E(x)) the classifier reads as their own label."""
        from .metrics.latent import cluster_accuracy, linear_probe_accuracy, nearest_neighbour_accuracy

        x_test, y_test = self.test_set()

        def encode(x: torch.Tensor) -> np.ndarray:
            with inference(model):
                return torch.cat([model.encode_batch(part.to(model.device)).float().cpu()
                                  for part in x.split(500)]).numpy()

        codes_test = encode(x_test)
        m: dict[str, Any] = {}
        names = model.code_names()
        if not model.categorical_codes():  # a vector of codes (BiGAN's z): how well it separates the classes
            codes_train = encode(self.real_x)
            m["encoding_1nn_accuracy"] = nearest_neighbour_accuracy(codes_train, self.real_labels, codes_test, y_test)
            m["encoding_linear_accuracy"] = linear_probe_accuracy(codes_train, self.real_labels, codes_test, y_test)
        for name in model.categorical_codes():  # a category (InfoGAN's c1): how well it is the class
            column = codes_test[:, names.index(name)].astype(np.int64)
            m[f"cluster_accuracy_{name}"] = cluster_accuracy(column, y_test)
        G = G or getattr(model, model.ema_target)
        with inference(model), inference(G):
            recon = torch.cat([model.decode_batch(torch.from_numpy(part).to(model.device), G).float().cpu()
                               for part in np.array_split(codes_test, max(1, len(codes_test) // 500))])
        m["reconstruction_label_kept"] = float((self._classify(recon)[1] == y_test).mean())
        return m


class TranslationEvaluator:
    """Translation models on the held-out split (data.split=test, centre crops, no flips): paired data gets PSNR,
    SSIM and the Laplacian-patch Fréchet distance of G(A) to B; unpaired data the distance of G_AB(A) to the B
    images, and both cycle reconstruction errors (mean |G_BA(G_AB(a)) - a| in [0, 1] units)."""

    def __init__(self, data_cfg: DataConfig, info, progress: bool = True, max_items: int = 2000):
        from .data import load_dataset

        self.kind = info.kind
        cfg = dataclasses.replace(data_cfg, split="test", crop="center", flip=False)
        try:
            data = load_dataset(cfg)
        except GankitError as e:
            raise GankitError(f"evaluation translates the held-out split (data.split=test): {e}") from None
        count = min(len(data), max_items)
        with torch.random.fork_rng():
            items = [data[(i, i)][0] for i in range(count)]
        self.A = torch.stack([it["A"] for it in items]).float() / 255
        self.B = torch.stack([it["B"] for it in items]).float() / 255

    def __call__(self, model: GANModel, n: int = 2000, seed: int = 0, G=None) -> dict[str, Any]:
        from .metrics.image_quality import laplacian_fd, psnr, ssim

        A, B = self.A[:n], self.B[:n]
        fake_B = model.translate(A, "AtoB", seed=seed)
        m: dict[str, Any] = {"pairs" if self.kind == "paired" else "images": len(A)}
        if self.kind == "paired":
            p = psnr(fake_B, B)
            m["psnr_db"] = float(p[torch.isfinite(p)].mean()) if torch.isfinite(p).any() else float("inf")
            m["ssim"] = float(ssim(fake_B, B).mean()) if min(B.shape[-2:]) >= 11 else None
        else:
            m["cycle_l1_A"] = float((model.translate(fake_B, "BtoA", seed=seed) - A).abs().mean())
            fake_A = model.translate(B, "BtoA", seed=seed)
            m["cycle_l1_B"] = float((model.translate(fake_A, "AtoB", seed=seed) - B).abs().mean())
        if min(B.shape[-2:]) >= 28 and len(B) >= 2:
            m.update(laplacian_fd(B, fake_B, seed=seed))
        return m


class MultiDomainEvaluator:
    """StarGAN on the held-out split: each held-out image translated to every domain, and the share of translations
    the model's own D_cls reads as the target (`target_accuracy_own_D`, a quick check: it is the judge G was trained
    against; benchmarks/stargan_mnist.py judges with independent classifiers)."""

    def __init__(self, data_cfg: DataConfig, info, progress: bool = True, max_items: int = 500):
        from .data import load_dataset, read_batch

        data = load_dataset(dataclasses.replace(data_cfg, split="test", flip=False))
        self.x = read_batch(data, torch.arange(min(len(data), max_items)))["x"].cpu()

    def __call__(self, model: GANModel, n: int = 500, seed: int = 0, G=None) -> dict[str, Any]:
        from .losses.classification import attribute_predictions

        x = self.x[:n].to(model.device)
        m: dict[str, Any] = {"images": len(x)}
        with inference(model):
            source = attribute_predictions(model.D.classify(x), model.groups)  # what a flipped attribute flips
            for name, target in model.all_targets():
                pred = attribute_predictions(model.D.classify(model.retarget(x, target)), model.groups)
                (attr, value), = target.items()
                j = model.attrs.index(attr)
                wanted = 1 - source[:, j] if value == "flip" else value
                m[f"target_accuracy_own_D_{name}"] = float((pred[:, j] == wanted).float().mean())
        accuracies = [v for k, v in m.items() if k.startswith("target_accuracy_own_D_")]
        m["target_accuracy_own_D"] = sum(accuracies) / len(accuracies)
        return m


def make_evaluator(data_cfg: DataConfig, model: GANModel, progress: bool = True
                   ) -> Evaluator | TranslationEvaluator | MultiDomainEvaluator:
    """Two-domain translation (paired or unpaired data), multi-domain translation (StarGAN), or samples."""
    if model.translation:
        evaluator = TranslationEvaluator if model.info.kind else MultiDomainEvaluator
        return evaluator(data_cfg, model.info, progress=progress)
    return Evaluator(data_cfg, model.info, progress=progress)


def table(metrics: dict[str, Any]) -> str:
    rows = [(k, v) for k, v in metrics.items() if not isinstance(v, list)]
    width = max(len(k) for k, _ in rows)
    fmt = lambda v: f"{v:.4f}" if isinstance(v, float) else str(v)  # noqa: E731
    return "\n".join(f"{k:<{width}}  {fmt(v)}" for k, v in rows)


def evaluate(path: str | Path, n: int = 10_000, seed: int = 0, out: str | Path | None = None,
             progress: bool = True) -> dict[str, Any]:
    """Evaluate a run folder's newest checkpoint (or a model folder trained on a built-in dataset)."""
    from .api import load
    from .config import resolve_config

    path = Path(path)
    model = load(path)
    if (path / "config.yaml").is_file():
        data_cfg = resolve_config({"model": {"name": model.cfg.name}, **_yaml(path / "config.yaml")}).data
    else:
        data_cfg = DataConfig(spec=model.info.name, img_size=model.info.img_size or None,
                              channels=model.info.img_channels or None, fit=model.info.fit)
    evaluator = make_evaluator(data_cfg, model, progress=progress)
    metrics = {"step": getattr(model, "trained_steps", None), **evaluator(model, n=n, seed=seed)}
    if out is not None:
        Path(out).write_text(json.dumps(metrics, indent=2) + "\n")
    if progress:
        print(table(metrics), file=sys.stdout)
    return metrics


def _yaml(path: Path) -> dict[str, Any]:
    from .config import load_yaml

    tree = load_yaml(path)
    return {k: v for k, v in tree.items() if k in ("data", "train")}
