"""Generate large, valid catalogs for benchmarks: `python -m benchmarks.catalog_gen DEST -n 10000`.

The capability tree is the bundled one; providers and models are synthetic but shaped like the
bundled files (features, limits, modalities, cost, lifecycle), spread over the whole tree.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

from modelreg.capability_tree import CapabilityTree
from modelreg.catalog.paths import CAPABILITIES_FILE
from modelreg.catalog.yaml_loader import load_yaml

BUNDLED = Path(__file__).resolve().parent.parent / "models.d"
PROVIDERS = 20

_PROVIDER = """\
# yaml-language-server: $schema=../../schemas/provider.schema.json
name: {name}
display_name: Provider {index}
api: openai
api_base: https://api.{name}.example/v1
api_key_env: {env}_API_KEY
defaults:
  delivery: sync
  features:
    streaming: true
    system_messages: true
  cost:
    currency: USD
  lifecycle:
    status: active
"""

_MODEL = """\
# yaml-language-server: $schema=../../schemas/model.schema.json
name: {name}
provider: {provider}
model_id: {model_id}
display_name: {display}
capabilities:
{capabilities}
features:
{features}
limits:
  context_window: {context}
  max_output_tokens: {output}
modalities:
  input: [{inputs}]
  output: [text]
cost:
  input_per_mtok: {cost_in}
  output_per_mtok: {cost_out}
lifecycle:
  status: {status}{replacement}
priority: {priority}
"""


def generate_catalog(dest: Path, models: int, *, seed: int = 0) -> None:
    """Write a valid catalog of `models` model files (and 20 providers) into `dest`."""
    rng = random.Random(seed)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(BUNDLED / CAPABILITIES_FILE, dest / CAPABILITIES_FILE)
    tree_doc = load_yaml(CAPABILITIES_FILE, (dest / CAPABILITIES_FILE).read_bytes())
    tree = CapabilityTree.from_mapping(tree_doc.data)
    paths = [n.path for n in tree if n.deprecated is None]
    features = sorted(tree.features)
    providers = [f"provider{i:02d}" for i in range(PROVIDERS)]
    for index, name in enumerate(providers):
        (dest / name).mkdir(exist_ok=True)
        (dest / name / "provider.yaml").write_text(
            _PROVIDER.format(name=name, index=index, env=name.upper()), encoding="utf-8")
    first_of: dict[str, str] = {}
    for i in range(models):
        provider = providers[i % PROVIDERS]
        slug = f"model-{i:05d}"
        name = f"{provider}/{slug}"
        caps = sorted(set(rng.sample(paths, rng.choice((1, 1, 2, 3)))))
        feats = rng.sample(features, rng.randint(2, 6))
        status = rng.choices(("active", "preview", "deprecated"), weights=(85, 5, 10))[0]
        replacement = ""
        if status == "deprecated" and provider in first_of:
            replacement = f"\n  replacement: {first_of[provider]}"
        elif status == "deprecated":
            status = "active"
        first_of.setdefault(provider, name)
        text = _MODEL.format(
            name=name,
            provider=provider,
            model_id=f"{slug}:latest",
            display=f"Model {i}",
            capabilities="\n".join(f"  - {c}" for c in caps),
            features="\n".join(f"  {f}: {'true' if rng.random() < 0.8 else 'false'}" for f in sorted(feats)),
            context=rng.choice((8192, 32768, 128000, 200000, 1048576)),
            output=rng.choice((4096, 8192, 16384, 65536)),
            inputs=", ".join(rng.sample(["text", "image", "audio", "pdf"], rng.randint(1, 3))),
            cost_in=round(rng.uniform(0.05, 15), 3),
            cost_out=round(rng.uniform(0.1, 60), 3),
            status=status,
            replacement=replacement,
            priority=rng.randint(0, 500),
        )
        (dest / provider / f"{slug}.yaml").write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dest", type=Path)
    parser.add_argument("-n", "--models", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    generate_catalog(args.dest, args.models, seed=args.seed)
    print(f"wrote {args.models} models to {args.dest}")


if __name__ == "__main__":
    main()
