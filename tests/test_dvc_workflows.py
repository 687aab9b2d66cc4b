"""End-to-end: the everyday DVC workflows on a tiny copy of the pipeline, with the real `dvc` CLI."""

from __future__ import annotations

import json
import re
import time

import pytest
import yaml

from climbpose.core.contract import headline_keys
from climbpose.report import plot_page
from tests.dvc_repo import TINY_PARAMS, DvcRepo, ran
from tests.test_offline_plots import drawn, plot_specs

pytestmark = pytest.mark.slow

# The filter for a readable `dvc exp show` that README.md and docs/user-guide.md#everyday-dvc-workflows give
# (tests/test_docs.py checks that they still do).
KEEP = "Experiment$|(params.yaml:)?(model|experiment|s)$|metrics/test.json:(model_pck_.*|identity_pck_005)$"
STAGES = ["fetch_estimator", "synthesize", "extract", "preprocess", "ood", "split", "pretrain", "finetune", "evaluate"]


@pytest.fixture(scope="module")
def repo(tiny_pipeline, tmp_path_factory):
    """The session's tiny pipeline after its repro (every stage ran), copied for this module. Every
    test leaves its workspace at the committed state."""
    assert ran(tiny_pipeline.first_run) == set(STAGES)
    return tiny_pipeline.copy(tmp_path_factory.mktemp("dvc"))


@pytest.fixture(scope="module")
def experiments(repo) -> dict[str, str]:
    """Two experiments, as a user would run them one after another; name -> `dvc exp run` output.
    The workspace is returned to the committed pipeline afterwards."""
    runs = {
        "dw": ("-S", "model=deciwatch"),
        # Back to the (model, experiment, s) of the first repro, a new finetuning rate: pretraining
        # comes from the run cache (the workspace held DeciWatch's), only what the rate feeds runs.
        "default-lr": ("-S", "model=flip_depthwise", "-S", "finetune.lr=0.0002"),
    }
    done = {name: repo.dvc("exp", "run", *args, "-n", name).stdout for name, args in runs.items()}
    repo.git("reset", "-q", "--hard")
    repo.dvc("checkout", "--force")
    return done


def test_repro_then_status_clean_and_second_repro_is_a_no_op(repo):
    assert any((repo.root / "src").rglob("*.pyc"))  # the stages wrote bytecode into their dependencies
    assert "Data and pipelines are up to date" in repo.dvc("status").stdout
    second = repo.dvc("repro")
    assert ran(second.stdout) == set()
    assert repo.git("status", "--porcelain").stdout == ""
    # The headline is the evaluation's test scores, key for key; PCK can only grow with the threshold.
    metrics = repo.metrics("test")
    scores = json.loads((repo.root / "reports" / "evaluation" / "scores.json").read_text())["test"]
    assert list(metrics) == headline_keys() and metrics == {key: scores[key] for key in headline_keys()}
    for row in ("model", "identity", "subcells"):
        assert metrics[f"{row}_pck_005"] <= metrics[f"{row}_pck_010"] <= metrics[f"{row}_pck_020"], row
    # `dvc metrics show` is readable: the three evaluation files, the ten headline columns (one
    # line each on a wide terminal: the column names set the width, about 21 characters each).
    shown = repo.dvc("metrics", "show").stdout.splitlines()
    assert shown[0].split() == ["Path", *sorted(headline_keys())]
    assert sorted(line.split()[0] for line in shown[1:]) == ["metrics/ood.json", "metrics/test.json", "metrics/val.json"]
    assert max(len(line) for line in shown) < 220


def test_plots_show_draws_the_curves_and_figures_offline(repo, tmp_path):
    # The page template is generated (make setup), not committed: the copy gets it the same way.
    plot_page.write_page(repo.root / ".dvc" / plot_page.FILENAME)
    repo.dvc("plots", "show", "-o", str(tmp_path / "plots"))
    page = (tmp_path / "plots" / "index.html").read_text(encoding="utf-8")
    assert "<script src" not in page and "cdn." not in page
    assert plot_page.bundle() in page  # Vega, Vega-Lite and vega-embed, inlined
    assert '<img src="static/workspace_reports_example_frame.png"' in page
    assert (tmp_path / "plots" / "static" / "workspace_reports_example_frame.png").stat().st_size > 1000
    specs = plot_specs(page)
    assert len(specs) == page.count("vegaEmbed('#")
    # dvc.yaml's grouped charts; the default model skips pretraining (pretrain.skip_models), so its
    # charts are empty rather than one point at epoch 0.
    assert {name: bool(spec) for name, spec in specs.items()} == {
        "finetune_pck": True, "finetune_loss": True, "pretrain_pck": False, "pretrain_loss": False}
    # Each curve, drawn by the Vega-Lite the page carries: one line per series, the workspace's,
    # over whole epochs (epoch 0, the starting weights, is validated but not trained).
    epochs = TINY_PARAMS["finetune"]["max_epochs"]
    series = {"finetune_pck": ["val_pck_005", "val_pck_010", "val_pck_020"], "finetune_loss": ["train_loss", "val_loss"]}
    for name, names in series.items():
        labels, lines, x_axis = drawn(specs[name])
        assert lines == {("workspace", s): epochs + (s != "train_loss") for s in names}, name
        assert "titled 'epoch'" in x_axis, name
        assert labels == [str(e) for e in range(epochs + 1)], (name, labels)


def test_stages_import_the_library_from_their_own_copy_of_the_repository(repo):
    # Queued experiments run in temporary copies: each must run the code its dvc.lock hashed, not
    # the installed package (an editable install points at whichever checkout made the venv).
    init = repo.root / "src" / "climbpose" / "__init__.py"
    original = init.read_text()
    init.write_text(original + "\nopen('imported-from.txt', 'w').write(__file__)\n")
    try:
        repo.dvc("repro", "--single-item", "--force", "split")
        assert (repo.root / "imported-from.txt").read_text() == str(init)
    finally:
        init.write_text(original)
        (repo.root / "imported-from.txt").unlink(missing_ok=True)
    # The package's __init__.py is a dependency of every stage: split's lock entry recorded the edit.
    repo.dvc("repro", "--single-item", "--force", "split")
    assert "Data and pipelines are up to date" in repo.dvc("status").stdout


def test_dag_is_the_documented_chain(repo):
    edges = set(re.findall(r'"(\w+)" -> "(\w+)"', repo.dvc("dag", "--dot").stdout))
    chain = [("synthesize", "extract"), ("extract", "preprocess"), ("preprocess", "split"),
             ("split", "finetune"), ("pretrain", "finetune"), ("finetune", "evaluate")]
    assert set(chain) <= edges, edges


def test_exp_run_reruns_only_what_depends_on_the_change_and_reuses_the_run_cache(experiments):
    assert ran(experiments["dw"]) == {"pretrain", "finetune", "evaluate"}
    assert ran(experiments["default-lr"]) == {"finetune", "evaluate"}
    assert "Stage 'pretrain' is cached - skipping run" in experiments["default-lr"]


def test_metrics_diff_and_exp_show_list_the_pck_keys(repo, experiments):
    committed = repo.metrics("test")
    dw = json.loads(repo.git("show", f"{exp_ref(repo, 'dw')}:metrics/test.json").stdout)
    assert dw != committed  # DeciWatch and the default model score differently
    cells = [[cell.strip() for cell in line.strip("|").split("|")]
             for line in repo.dvc("metrics", "diff", "HEAD", "dw", "--md").stdout.strip().splitlines()[2:]]
    rows = {metric: (old, new) for path, metric, old, new, _ in cells if path == "metrics/test.json"}
    assert {key for key in committed if committed[key] != dw[key]} == set(rows)  # every change, nothing else
    for key, (old, new) in rows.items():
        assert (float(old), float(new)) == pytest.approx((committed[key], dw[key]), abs=1e-3), key
    between = repo.dvc("metrics", "diff", "dw", "default-lr", "--all", "--md").stdout
    assert "model_pck_010" in between and "identity_pck_005" in between  # the baseline, unchanged, with --all
    show = repo.dvc("exp", "show", "--md", "--drop", ".*", "--keep", KEEP).stdout
    header = [column.strip() for column in show.splitlines()[0].strip("|").split("|")]
    # "model" needs no file prefix: no metrics file has a key of that name any more.
    assert sorted(header) == sorted(["Experiment", "model", "experiment", "s", "metrics/test.json:model_pck_005",
                                     "metrics/test.json:model_pck_010", "metrics/test.json:model_pck_020",
                                     "metrics/test.json:identity_pck_005"]), header
    table = json.loads(repo.dvc("exp", "show", "--json").stdout)  # baselines, each with its experiments
    names = {exp["name"] for baseline in table for exp in baseline["experiments"] or []}
    assert set(experiments) <= names


def test_a_queued_experiment_finishes_in_its_own_copy(repo):
    # A setting only the last stage reads: the queue's machinery is what is tested, not training.
    repo.dvc("exp", "run", "--queue", "-S", "evaluate.normaliser=bbox", "-n", "queued-bbox")
    repo.dvc("queue", "start", "-j", "1")
    deadline = time.time() + 400
    while time.time() < deadline:
        status = repo.dvc("queue", "status").stdout
        if "Queued" not in status and "Running" not in status:
            break
        time.sleep(2)
    repo.dvc("queue", "stop", "--kill", check=False)
    assert re.search(r"queued-bbox.*Success", status), status
    params = yaml.safe_load(repo.git("show", f"{exp_ref(repo, 'queued-bbox')}:params.yaml").stdout)
    assert params["evaluate"]["normaliser"] == "bbox"
    scores = json.loads(repo.git("show", f"{exp_ref(repo, 'queued-bbox')}:metrics/test.json").stdout)
    assert scores != repo.metrics("test")  # scored again, with the other normaliser
    assert repo.git("status", "--porcelain").stdout == ""  # the workspace was not touched


def exp_ref(repo: DvcRepo, name: str) -> str:
    refs = repo.git("for-each-ref", "--format=%(refname)", "refs/exps").stdout.split()
    return next(ref for ref in refs if ref.endswith(f"/{name}"))


def test_push_pull_through_a_local_remote_restores_outputs_in_a_second_clone(repo, tmp_path):
    # Remotes in each copy's own config (.dvc/config.local), named on every call: the committed
    # state and the other tests' remotes stay as they are.
    remote = tmp_path / "remote"
    repo.dvc("remote", "add", "-f", "--local", "backup", str(remote))
    repo.dvc("push", "-r", "backup")
    clone_root = tmp_path / "clone"
    repo.run("git", "clone", "-q", str(repo.root), str(clone_root))
    clone = DvcRepo(clone_root, repo.env)
    clone.dvc("remote", "add", "--local", "backup", str(remote))
    clone.dvc("pull", "-r", "backup")
    assert (clone_root / "models" / "finetuned.pt").read_bytes() == (repo.root / "models" / "finetuned.pt").read_bytes()
    assert (clone_root / "data" / "preprocessed").is_dir()
    assert "Data and pipelines are up to date" in clone.dvc("status").stdout


def test_exp_push_lets_a_second_machine_pull_and_apply_an_experiment(repo, experiments, tmp_path):
    # A shared git remote for the experiment refs, a DVC remote for their data and models.
    origin, storage = tmp_path / "origin.git", tmp_path / "storage"
    repo.run("git", "init", "-q", "--bare", "-b", "main", str(origin))
    repo.git("remote", "add", "origin", str(origin))
    repo.git("push", "-q", "origin", "main")
    repo.dvc("remote", "add", "-f", "-d", "--local", "shared", str(storage))
    repo.dvc("exp", "push", "origin", "dw")
    expected = repo.git("show", f"{exp_ref(repo, 'dw')}:metrics/test.json").stdout

    other = DvcRepo(tmp_path / "other", repo.env)
    repo.run("git", "clone", "-q", str(origin), str(other.root))
    other.dvc("remote", "add", "-f", "-d", "--local", "shared", str(storage))
    other.dvc("exp", "pull", "origin", "dw")
    other.dvc("exp", "apply", "dw")
    other.dvc("pull")
    assert yaml.safe_load((other.root / "params.yaml").read_text())["model"] == "deciwatch"
    assert (other.root / "metrics" / "test.json").read_text() == expected
    assert (other.root / "models" / "finetuned.pt").is_file()
    assert "Data and pipelines are up to date" in other.dvc("status").stdout
