"""Checks that a Verdict dataset-version folder loads with Hugging Face `datasets` as is.

usage: python check_card.py FOLDER EXPECTED_JSON

EXPECTED_JSON is a JSON object, inline or the path of a file holding one:
  {"splits": {"train": 3, "test": 1}, "columns": ["prompt", "chosen", "rejected"]}

Checks the README.md front matter (YAML with configs, license, task_categories and
size_categories, a `default` config, a known size category that fits the row count), then
`datasets.load_dataset(FOLDER)` offline: split names, row counts, columns (in any order) of
every split. Prints `ok: ...` and exits 0, or prints every problem and exits 1 (2 on misuse).
Run it with the venv of scripts/pyenv.sh.
"""

import json
import os
import re
import sys
import tempfile

# Never reach the Hugging Face Hub; set before `datasets` is imported.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

REQUIRED_KEYS = ("configs", "license", "task_categories", "size_categories")
# The Hub's size categories: name -> (lowest row count, highest + 1 or None).
SIZE_CATEGORIES = {
    "n<1K": (0, 10**3), "1K<n<10K": (10**3, 10**4), "10K<n<100K": (10**4, 10**5),
    "100K<n<1M": (10**5, 10**6), "1M<n<10M": (10**6, 10**7), "10M<n<100M": (10**7, 10**8),
    "100M<n<1B": (10**8, 10**9), "1B<n<10B": (10**9, 10**10), "10B<n<100B": (10**10, 10**11),
    "100B<n<1T": (10**11, 10**12), "n>1T": (10**12, None),
}


def fail(problems):
    for p in problems:
        print(f"check_card: {p}", file=sys.stderr)
    sys.exit(1)


def front_matter(readme):
    """The README's YAML front matter as a dict."""
    import yaml

    try:
        text = open(readme, encoding="utf-8").read()
    except OSError as e:
        fail([f"cannot read {readme}: {e}"])
    m = re.match(r"---\r?\n(.*?\r?\n)?---[ \t]*(\r?\n|$)", text, re.S)
    if not m:
        fail([f"{readme} does not start with a '---' ... '---' YAML front matter block"])
    try:
        meta = yaml.safe_load(m.group(1) or "")
    except yaml.YAMLError as e:
        fail([f"{readme} front matter is not valid YAML: {e}"])
    if not isinstance(meta, dict):
        fail([f"{readme} front matter is not a YAML mapping: {meta!r}"])
    return meta


def check_meta(meta, total_rows):
    problems = [f"front matter lacks key {k!r}" for k in REQUIRED_KEYS if k not in meta]
    configs = meta.get("configs")
    if "configs" in meta and not (
        isinstance(configs, list) and any(isinstance(c, dict) and c.get("config_name") == "default" for c in configs)
    ):
        problems.append(f"configs has no entry with config_name: default: {configs!r}")
    sizes = meta.get("size_categories")
    for size in [sizes] if isinstance(sizes, str) else sizes or []:
        if size not in SIZE_CATEGORIES:
            problems.append(f"unknown size_categories value {size!r}; expected one of {list(SIZE_CATEGORIES)}")
            continue
        low, high = SIZE_CATEGORIES[size]
        if not (low <= total_rows and (high is None or total_rows < high)):
            problems.append(f"size_categories {size!r} does not fit the {total_rows} rows expected")
    return problems


def load(folder, problems):
    """{split: (rows, columns)} as `datasets.load_dataset(folder)` sees it (throwaway cache),
    or None after adding why it failed to problems."""
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    with tempfile.TemporaryDirectory(prefix="check_card-") as cache:
        try:
            ds = datasets.load_dataset(folder, cache_dir=cache)
        except Exception as e:
            problems.append(f"load_dataset({folder!r}) failed:")
            c, depth = e, 0
            while c is not None and depth < 5:  # the root cause is the telling part
                msg = str(c).strip()
                problems.append(f"  {type(c).__name__}: {msg[:400]}{' ...' if len(msg) > 400 else ''}")
                c, depth = c.__cause__ or c.__context__, depth + 1
            return None
        return {name: (split.num_rows, list(split.column_names)) for name, split in ds.items()}


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        sys.exit(2)
    folder, expected = os.path.abspath(argv[1]), argv[2]
    try:
        expected = json.loads(expected if expected.lstrip().startswith("{") else open(expected).read())
        want_splits = {str(k): int(v) for k, v in expected["splits"].items()}
        want_columns = [str(c) for c in expected["columns"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        print(f"check_card: bad EXPECTED_JSON ({type(e).__name__}: {e})", file=sys.stderr)
        sys.exit(2)
    if not os.path.isdir(folder):
        fail([f"{folder} is not a folder"])

    meta = front_matter(os.path.join(folder, "README.md"))
    problems = check_meta(meta, sum(want_splits.values()))

    got = load(folder, problems)
    if got is None:
        fail(problems)
    if sorted(got) != sorted(want_splits):
        problems.append(f"splits are {sorted(got)}, expected {sorted(want_splits)}")
    for name, (rows, columns) in sorted(got.items()):
        if name in want_splits and rows != want_splits[name]:
            problems.append(f"split {name!r} has {rows} rows, expected {want_splits[name]}")
        if sorted(columns) != sorted(want_columns):
            problems.append(f"split {name!r} has columns {columns}, expected {want_columns}")
    if problems:
        fail(problems)
    splits = ", ".join(f"{name}={rows}" for name, (rows, _) in sorted(got.items()))
    print(f"ok: {folder}: {splits}; columns {next(iter(got.values()))[1]}")


if __name__ == "__main__":
    main(sys.argv)
