"""Writes models/MODEL_CARD.md from models/damage-seg.metrics.json (which train.py writes) and
models/evaluation.json (which `gradeline-worker evaluate --report` writes).

    python3 experiment/model_card.py
"""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def headline(figures: dict) -> dict:
    """The evaluation report's headline figures, as `Figures.headline` names them."""
    names = {"accepted_rate": "accepted_rate", "clean_grade_a_rate": "clean_grade_a_rate",
             "grade_agreement": "grade_agreement", "must_reject_correct": "must_reject_correct"}
    out = {name: figures[key] for name, key in names.items() if figures.get(key) is not None}
    for kind, detection in figures["damage"].items():
        for measure in ("recall", "precision"):
            if detection.get(measure) is not None:
                out[f"damage.{kind}.{measure}"] = detection[measure]
    out.update({f"iou.{name}": value for name, value in figures["iou"].items()})
    return out


def main() -> None:
    summary = json.loads((ROOT / "models" / "damage-seg.metrics.json").read_text())
    training, metrics = summary["training"], summary["held_out_metrics"]
    synth_metrics = summary.get("held_out_metrics_synth", {})
    rows = "\n".join(f"| {name} | {m['iou']:.3f} | {m['dice']:.3f} | "
                     + (f"{synth_metrics[name]['iou']:.3f} | {synth_metrics[name]['dice']:.3f}" if name in synth_metrics else "- | -")
                     + " |" for name, m in metrics.items())
    evaluation = json.loads((ROOT / "models" / "evaluation.json").read_text())["figures"]
    golden = "\n".join(f"| {name} | {value:.3f} |" for name, value in sorted(headline(evaluation).items()))
    damage = [metrics[c] for c in ("crack", "scratch", "chip")]
    def cell(entry):
        iou = "-" if entry["iou"] is None else f"{entry['iou']:.2f}"
        return f"{entry['true_px']} / {entry['predicted_px']} / {iou}"
    sample_rows = "| photo | crack | scratch | chip |\n|---|---|---|---|\n" + "\n".join(
        f"| {row['file']} | {cell(row['crack'])} | {cell(row['scratch'])} | {cell(row['chip'])} |"
        for row in summary.get("samples", []))
    steps = training.get("lineage", [])
    lineage = ("\n- It descends from earlier runs, each warm-started from the one before (the renderer's commit\n"
               "  in parentheses; `git checkout COMMIT -- experiment/` to make that run's data again):\n"
               + "".join(f"  - {step}\n" for step in steps)) if steps else ""
    card = f"""# Model card: damage-seg

A U-Net (encoder and bottleneck widths {training.get('widths', [16, 32, 48, 64])}) that segments phone photos into
{len(summary['classes'])} classes: {", ".join(summary['classes'])}. It is trained only on synthetic kiosk
photos ({"most from the domain-randomized renderer `domain.py`, a quarter from `synth.py`"
        if 'held_out_metrics_synth' in summary else "from one renderer, `synth.py`"}, in
`experiment/gradeline_experiment/`). It is meant for Gradeline's tests and demos, not for
grading real phones.

| | |
|---|---|
| file | `models/{summary['file']}` |
| SHA-256 | `{summary['sha256']}` |
| input | `{summary['input']['name']}`: {summary['input']['shape']}, {summary['input']['layout']} |
| preprocessing | {summary['input']['preprocess']} |
| output | `{summary['output']['name']}`: {summary['output']['shape']}, one logit per class |
| ONNX opset | 13 |

## Training

- Data: {training['train_photos']} training photos (seed {training['seed']}) and {training['val_photos']} held-out photos
  (seed {training['seed'] + 1000}), each a kiosk-sized render resized to 256x512 with the serving
  pipeline's area filter; labels resized with nearest.
- {training['steps']} steps of Adam (learning rate {training['lr']}, cosine decay) in {training['minutes']} minutes on
  {training['threads']} CPU threads, batch {training['batch']} of random {training['crop'][0]}x{training['crop'][1]} crops (half centred on
  damage); {training.get('augment', 'horizontal flips')}; cross-entropy with class weights
  {training['class_weights']}, plus {training.get('dice_weight', 0)} x soft Dice loss over the damage classes.
  {"Started from the weights of " + training['warm_start'] + " where names and shapes match." if training.get('warm_start') else ""}
- PyTorch {training['torch']} (Debian's python3-torch).
- Commands, from the repository root{"" if 'held_out_metrics_synth' in summary else
  " (the experiment as of commit 4825dfd, `git checkout 4825dfd -- experiment/`; make_dataset.py and train.py have changed since)"}:

  ```sh
  {training['commands'][0]}
  {training['commands'][1]}
  python3 experiment/reference.py     # parity fixtures, with onnxruntime
  python3 experiment/model_card.py    # this file
  ```
{lineage}
## Held-out metrics (full 512x256 photos, argmax of the logits)

{"| class | IoU (domain) | Dice (domain) | IoU (synth) | Dice (synth) |" if synth_metrics else "| class | IoU | Dice | | |"}
|---|---|---|---|---|
{rows}

Damage classes are rare (together about 0.2% of pixels) and thin: a scratch is often one pixel
wide at 256x512. Their scores are what to watch when the generator or the network changes.
Mean damage IoU: {sum(d['iou'] for d in damage) / 3:.3f}.

## On the golden set

`gradeline-worker evaluate --golden experiment/evalset/golden` with the shipped config: photos
drawn by a second renderer, in styles training never saw (docs/model.md). The full report is
`models/evaluation.md`.

| figure | value |
|---|---|
{golden}

## On the sample photos

`samples/` at 256x512 against its label maps (`python3 experiment/evaluate_samples.py`): pixels
labelled, pixels predicted and IoU per damage class ("-" where a class is in neither).

{sample_rows}

## Limits

- Synthetic data only: real lighting, reflections, cases, stickers and camera noise are not
  modelled. The Checker functions exist to refuse inputs far from this distribution.
- Fixed input size 512x256 (portrait); the batch size is free.
"""
    (ROOT / "models" / "MODEL_CARD.md").write_text(card)
    print("wrote models/MODEL_CARD.md")


if __name__ == "__main__":
    main()
