"""The evaluation report: the paper's Table II and Fig. 8 for our data, as Markdown + PNG.

Every method is scored on the same balanced test sets (seen objects in held-out scenes; novel
objects never trained on): the common-sense heuristic, HoG + kNN, HoG + 18 linear SVMs and each
given network checkpoint. The learning curve trains the network afresh on growing random subsets
of the training trials (each run resumable in its own folder).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from supersize_grasp.config import Config

from .baselines import CommonSenseHeuristic, HogKnn, HogSvm, hog_features
from .checkpoint import load_checkpoint
from .evaluation import Accuracy, accuracy, paired_difference
from .patches import crop_patch
from .samples import PatchSamples
from .training import TrainPlan, predict_scores, train
from .workflow import novel_test_samples, training_samples


@dataclass
class MethodResult:
    name: str
    kind: str  # "baseline" or "network"
    seen: Accuracy
    novel: Accuracy
    novel_predicted: np.ndarray
    note: str = ""


@dataclass
class CurvePoint:
    trials: int
    seen: Accuracy
    novel: Accuracy


def executed_predictions(scores: np.ndarray, samples: PatchSamples) -> np.ndarray:
    return (scores[np.arange(len(samples)), samples.angle_bin] > 0.5).astype(np.uint8)


def build_report(
    config: Config,
    train_stores: Sequence[Path],
    novel_stores: Sequence[Path],
    models: Mapping[str, Path],
    out_dir: Path,
    *,
    curve_sizes: Sequence[int] = (),
    curve_epochs: int | None = None,
    progress: bool = True,
) -> Path:
    """Evaluate everything and write ``out_dir/report.md`` with its figures; returns its path."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    learning = config.learning
    data = training_samples(config, train_stores, progress)
    novel = novel_test_samples(config, novel_stores, progress)
    if not len(novel) or not len(data.seen_test):
        raise ValueError(
            f"empty test set: {len(data.seen_test)} seen and {len(novel)} novel balanced trials "
            "(a test set needs successes and failures)"
        )
    seen = data.seen_test
    results: list[MethodResult] = []

    heuristic = CommonSenseHeuristic(
        learning.gripper_min_opening,
        learning.gripper_opening,
        learning.heuristic_angle_tolerance_deg,
    ).fit(data.train)
    results.append(_baseline(heuristic, seen, novel, "from depth; not learned"))
    features = {name: hog_features(s) for name, s in (("train", data.train), ("seen", seen))}
    features["novel"] = hog_features(novel)
    for method in (HogKnn(seed=learning.test_seed), HogSvm(seed=learning.test_seed)):
        method.fit(data.train, features["train"])
        results.append(
            _baseline(method, seen, novel, "one per angle bin", features["seen"], features["novel"])
        )

    examples = None
    for name, path in models.items():
        checkpoint = load_checkpoint(path)
        net = checkpoint.build()
        seen_scores, novel_scores = predict_scores(net, seen), predict_scores(net, novel)
        examples = examples or (name, novel_scores)
        results.append(
            MethodResult(
                name,
                "network",
                accuracy(executed_predictions(seen_scores, seen), seen.label),
                accuracy(executed_predictions(novel_scores, novel), novel.label),
                executed_predictions(novel_scores, novel),
                f"{checkpoint.profile} profile, {checkpoint.inputs}, {checkpoint.epoch} epochs, "
                f"trunk {checkpoint.trunk_init.split(':')[0]}",
            )
        )

    curve = []
    # A size past the training set is the whole set (the seen test's scenes never train).
    for n in sorted({min(n, len(data.train)) for n in curve_sizes}):
        rng = np.random.default_rng(learning.seed + n)
        subset = data.train.subset(np.sort(rng.permutation(len(data.train))[:n]))
        checkpoint = train(
            subset,
            learning,
            out_dir / "curve" / f"trials-{n}",
            TrainPlan(curve_epochs or learning.epochs, learning.lr, source=data.source),
            num_bins=config.trial.num_angle_bins,
            progress=progress,
        )
        net = checkpoint.build()
        curve.append(
            CurvePoint(
                n,
                accuracy(executed_predictions(predict_scores(net, seen), seen), seen.label),
                accuracy(executed_predictions(predict_scores(net, novel), novel), novel.label),
            )
        )

    figures = {}
    if curve:
        figures["curve"] = _plot_curve(curve, results, out_dir / "accuracy_vs_trials.png")
    if examples is not None:
        figures["examples"] = _plot_examples(
            novel, examples[1], examples[0], out_dir / "novel_examples.png", learning.test_seed
        )
    path = out_dir / "report.md"
    path.write_text(
        _markdown(config, data, novel, results, curve, figures, time.perf_counter() - started)
    )
    (out_dir / "results.json").write_text(json.dumps(_json(results, curve), indent=2) + "\n")
    return path


def _baseline(method, seen, novel, note, seen_features=None, novel_features=None) -> MethodResult:
    kwargs_seen = {} if seen_features is None else {"features": seen_features}
    kwargs_novel = {} if novel_features is None else {"features": novel_features}
    seen_pred = method.predict(seen, **kwargs_seen)
    novel_pred = method.predict(novel, **kwargs_novel)
    return MethodResult(
        method.name,
        "baseline",
        accuracy(seen_pred, seen.label),
        accuracy(novel_pred, novel.label),
        novel_pred,
        note,
    )


def _gap(results: list[MethodResult], novel: PatchSamples, seed: int) -> str:
    networks = [r for r in results if r.kind == "network"]
    baselines = [r for r in results if r.kind == "baseline"]
    if not networks or not baselines:
        return ""
    best_net = max(networks, key=lambda r: r.novel.value)
    best_base = max(baselines, key=lambda r: r.novel.value)
    diff, low, high = paired_difference(
        best_net.novel_predicted, best_base.novel_predicted, novel.label, seed
    )
    verdict = "beats" if low > 0 else ("is not distinguishable from" if high >= 0 else "loses to")
    return (
        f"On novel objects, **{best_net.name}** {verdict} the best hand-made baseline "
        f"(**{best_base.name}**): accuracy difference {diff:+.1%}, 95 % paired-bootstrap interval "
        f"[{low:+.1%}, {high:+.1%}] over {len(novel)} trials."
    )


def _markdown(config, data, novel, results, curve, figures, seconds) -> str:
    seen = data.seen_test
    lines = [
        "# Grasp learning report",
        "",
        "Accuracy of predicting an executed trial's label at its angle, on balanced test sets "
        "(chance: 50 %), with 95 % Wilson intervals. The paper's Table II analogue.",
        "",
        f"- Training: {len(data.train)} labelled trials, "
        f"{int(data.train.label.sum())} successes ({data.train.label.mean():.1%}).",
        f"- Seen test: {len(seen)} trials (half successes) from scenes held out of training "
        f"({config.learning.seen_test_fraction:.0%} of the training stores' scenes).",
        f"- Novel test: {len(novel)} trials (half successes) on the novel object split only, "
        f"{len(set(novel.object_id.tolist()) - {''})} distinct objects.",
        f"- Patch: {config.learning.patch_scale}x the {config.learning.gripper_opening * 100:.1f}"
        f" cm gripper opening; {config.trial.num_angle_bins} angle bins.",
        "",
        "| Method | Seen objects | Novel objects | Notes |",
        "|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r.name} | {r.seen} | {r.novel} | {r.note} |")
    gap = _gap(results, novel, config.learning.test_seed)
    if gap:
        lines += ["", gap]
    if curve:
        lines += [
            "",
            "## Accuracy against training-set size (Fig. 8 analogue)",
            "",
            "| Training trials | Seen objects | Novel objects |",
            "|---|---|---|",
            *[f"| {p.trials} | {p.seen} | {p.novel} |" for p in curve],
            "",
            f"![accuracy against trials]({figures['curve'].name})",
        ]
    if "examples" in figures:
        lines += [
            "",
            "## Novel-object examples",
            "",
            "Green: the executed grasp succeeded, red: it failed (true label, at the executed "
            "angle); the title is the network's success probability there. Blue dashed: the "
            "angle the network likes best.",
            "",
            f"![examples]({figures['examples'].name})",
        ]
    lines += ["", f"_Generated in {seconds:.0f} s._", ""]
    return "\n".join(lines)


def _json(results, curve) -> dict:
    def acc(a: Accuracy) -> dict:
        return {
            "accuracy": a.value,
            "correct": a.correct,
            "total": a.total,
            "ci95": [a.low, a.high],
        }

    return {
        "methods": [
            {"name": r.name, "kind": r.kind, "seen": acc(r.seen), "novel": acc(r.novel)}
            for r in results
        ],
        "curve": [{"trials": p.trials, "seen": acc(p.seen), "novel": acc(p.novel)} for p in curve],
    }


def _plot_curve(curve, results, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    x = [p.trials for p in curve]
    for name, get, style in (("seen", lambda p: p.seen, "o-"), ("novel", lambda p: p.novel, "s-")):
        y = [get(p).value for p in curve]
        err = [
            [get(p).value - get(p).low for p in curve],
            [get(p).high - get(p).value for p in curve],
        ]
        ax.errorbar(x, y, yerr=err, fmt=style, capsize=3, label=f"network, {name} objects")
    baselines = [r for r in results if r.kind == "baseline"]
    if baselines:
        best = max(baselines, key=lambda r: r.novel.value)
        ax.axhline(best.novel.value, color="grey", ls="--", label=f"{best.name}, novel")
    ax.axhline(0.5, color="black", lw=0.5)
    ax.set_xscale("log")
    ax.set_xlabel("training trials")
    ax.set_ylabel("balanced accuracy")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _plot_examples(novel: PatchSamples, scores, name: str, path: Path, seed: int) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    picks = rng.choice(len(novel), size=min(24, len(novel)), replace=False)
    cols = 6
    rows = math.ceil(len(picks) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2 * cols, 2.2 * rows), squeeze=False)
    num_bins = scores.shape[1]
    for ax, i in zip(axes.flat, picks, strict=False):
        patch = crop_patch(novel.rgb[i], 96)
        ax.imshow(patch)
        c = 47.5
        for phi, style in (
            (float(novel.angle[i]), "-"),
            ((int(np.argmax(scores[i])) + 0.5) * math.pi / num_bins, "--"),
        ):
            colour = ("g" if novel.label[i] else "r") if style == "-" else "b"
            d = 35 if style == "-" else 25
            ax.plot(
                [c - d * math.cos(phi), c + d * math.cos(phi)],
                [c - d * math.sin(phi), c + d * math.sin(phi)],
                style,
                color=colour,
                lw=2,
            )
        ax.set_title(f"p={scores[i, novel.angle_bin[i]]:.2f}", fontsize=9)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle(f"{name}: novel-object test patches", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
