"""descent.train: the data, the CLI's checks, the loop, checkpoints and --resume.

The real Fashion-MNIST files come from Debian's ``dataset-fashion-mnist`` (the set-up
installs it); the IDX reader and ``--data`` / ``DESCENT_DATA`` are also checked on small
files written here.  Runs use a few hundred images, one thread and float64 where two runs
are compared up to rounding; the resume test compares bit for bit, which holds on a CPU
because the same kernels run in the same order on the same bits (the checkpoint restores
every state the run reads: parameters, optimizer, scheduler, RNG, epoch).
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys

import descent
import numpy as np
import pytest
from descent import train
from descent.train import config as C
from descent.train import data as D

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _real_data_or_skip(request):
    """Tests that read the real images need Debian's dataset-fashion-mnist (or DESCENT_DATA);
    the tests on files written here (``fake_data``, ``tmp_path``-only) run without it."""
    from _requires import fashion_mnist_present, require_system

    name = request.node.name
    needs_data = name.startswith("test_cli_torch_rejects") or "--resume" in name
    if "fake_data" in request.fixturenames or (name.startswith(("test_read_idx", "test_cli_", "test_config"))
                                                and not needs_data):
        return
    require_system(fashion_mnist_present(), "Fashion-MNIST's IDX files", "dataset-fashion-mnist")

TINY_CNN = {"channels": (4, 8), "hidden": (16,)}
FAST = dict(threads=1, test_subset=200)


def write_idx(path, array):
    """An IDX file of unsigned bytes (gzip when the name ends in .gz)."""
    array = np.asarray(array, dtype=np.uint8)
    head = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as fh:
        fh.write(head + array.tobytes())


@pytest.fixture(scope="module")
def fake_data(tmp_path_factory):
    """A folder with the four files, 300 + 100 random images: what --data / DESCENT_DATA point to."""
    root = tmp_path_factory.mktemp("fmnist")
    rng = np.random.default_rng(0)
    for split, n in (("train", 300), ("test", 100)):
        img, lab = D.FILES[split]
        write_idx(root / (img + ".gz"), rng.integers(0, 256, (n, 28, 28)))
        write_idx(root / lab, rng.integers(0, 10, n))  # one of them uncompressed
    return root


# ------------------------------------------------------------------ data

def test_read_idx_header_limit_and_errors(tmp_path):
    a = np.arange(5 * 28 * 28).reshape(5, 28, 28) % 256
    for name in ("x-idx3-ubyte", "x-idx3-ubyte.gz"):
        write_idx(tmp_path / name, a)
        np.testing.assert_array_equal(D.read_idx(tmp_path / name), a)
        np.testing.assert_array_equal(D.read_idx(tmp_path / name, limit=2), a[:2])
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x01" + b"\0" * 8)  # floats, not bytes
    with pytest.raises(ValueError, match="Invalid IDX file"):
        D.read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes((tmp_path / "x-idx3-ubyte").read_bytes()[:100])
    with pytest.raises(ValueError, match="truncated"):
        D.read_idx(tmp_path / "short")


def test_fashion_mnist_from_the_debian_package():
    x, y = D.load("train", limit=10)
    assert x.shape == (10, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
    assert y.tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]  # the data set's first ten labels
    xt, yt = D.load("test")
    assert xt.shape == (10_000, 28, 28) and np.bincount(yt).tolist() == [1000] * 10


def test_normalization_constants():
    x, _ = D.load("train")
    assert x.shape[0] == 60_000
    counts = np.bincount(x.ravel(), minlength=256)  # exact integer statistics of all 47 M pixels
    level = np.arange(256) / 255.0
    mean = counts @ level / counts.sum()
    std = np.sqrt(counts @ (level - mean) ** 2 / counts.sum())
    assert abs(mean - D.MEAN) < 5e-5 and abs(std - D.STD) < 5e-5, (mean, std)


def test_data_dir_from_argument_and_environment(fake_data, monkeypatch, tmp_path):
    monkeypatch.setenv(D.ENV, str(fake_data))
    assert D.data_dir() == fake_data
    x, y = D.load("test")
    assert x.shape == (100, 28, 28) and y.shape == (100,)
    monkeypatch.delenv(D.ENV)
    assert D.data_dir() == D.DEFAULT_DIR
    with pytest.raises(D.DataMissing) as err:
        D.load("train", path=tmp_path)
    assert D.PACKAGE in str(err.value) and D.ENV in str(err.value)


# ------------------------------------------------------------------ the CLI's checks

BAD = [
    (["--optimizer", "nosuch"], "--optimizer", "unknown rule 'nosuch'"),
    (["--optimizer", "newton"], "--optimizer", "needs the objective"),
    (["--optimizer", "sparse_adam"], "--optimizer", "'sparse_adam' needs sparse gradients"),
    (["--lr", "-0.001"], "--lr", "Invalid learning rate: -0.001"),
    (["--opt", "momentm=0.9", "--optimizer", "sgd"], "--opt", "sgd takes no hyperparameter 'momentm'"),
    (["--opt", "betas=0.9,1.5"], "--opt", "Invalid beta parameter at index 1: 1.5"),
    (["--resume", "no/such/last.pt"], "--resume", "no checkpoint at no/such/last.pt"),
    (["--schedule", "cosine"], "--schedule", "unknown schedule 'cosine'"),
    (["--schedule", "exponential_lr"], "--sched", "exponential_lr needs gamma"),
    (["--impl", "torch", "--optimizer", "heavy_ball"], "--impl", "torch.optim has no class for rule 'heavy_ball'"),
    (["--batch-size", "0"], "--batch-size", "must be an integer >= 1"),
    (["--epochs", "two"], "--epochs", "invalid int value: 'two'"),
]


def run_cli(args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "descent.train", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def assert_one_line_error(proc, flag, text):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"argument {flag}" in lines[0] and text in lines[0], lines[0]
    assert proc.stdout == ""


@pytest.mark.parametrize("args,flag,text", BAD, ids=[b[1] + ":" + b[2][:20] for b in BAD])
def test_cli_bad_argument_is_one_line(args, flag, text):
    assert_one_line_error(run_cli(args), flag, text)


def test_cli_missing_data_names_package_and_variable(tmp_path):
    proc = run_cli([], env={D.ENV: str(tmp_path)})
    assert_one_line_error(proc, "--data", D.PACKAGE)
    assert D.ENV in proc.stderr


def test_cli_torch_rejects_keyword_and_bad_checkpoint(tmp_path):
    # both need torch (the class's signature, torch.load): one process for the two
    bad = tmp_path / "last.pt"
    bad.write_bytes(b"not a checkpoint")
    code = ("import sys\nfrom descent.train.cli import main\n"
            "a = main(['--impl', 'torch', '--opt', 'foo=1', '--subset', '64', '--epochs', '1'])\n"
            f"b = main(['--resume', {str(bad)!r}, '--subset', '64', '--epochs', '1'])\n"
            "sys.exit(10 * a + b)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 22 and "Traceback" not in proc.stderr, proc.stderr
    first, second = proc.stderr.strip().splitlines()
    assert "argument --opt: torch.optim.Adam takes no hyperparameter 'foo'" in first
    assert "argument --resume: cannot read checkpoint" in second


def test_config_values_and_rule_names():
    assert C.parse_value("0.9,0.99") == (0.9, 0.99) and C.parse_value("true") is True and C.parse_value("1e-3") == 1e-3
    assert C.parse_pairs(["momentum=0.9", "nesterov=True"], "--opt") == {"momentum": 0.9, "nesterov": True}
    with pytest.raises(C.ConfigError, match="argument --opt: expected KEY=VALUE"):
        C.parse_pairs(["momentum"], "--opt")
    names = C.rule_names()
    for name in ("adam", "adamw", "sgd", "rmsprop", "momentum", "adam_lecture"):
        assert name in names
    assert "nesterov" not in names and "newton" not in names
    assert C.torch_twin("adamw") == "AdamW" and C.torch_twin("momentum") is None


def test_schedule_defaults_come_from_the_run():
    s = C.make_schedule("warmup_cosine", 0.1, total_steps=40, steps_per_epoch=20)
    assert s.params["total_steps"] == 40 and s.params["warmup_steps"] == 4
    t = C.make_schedule("CosineAnnealingLR", 0.1, 40, 20)
    assert t.name == "cosine_annealing_lr" and t.params["T_max"] == 40
    assert C.make_schedule("step_lr", 0.1, 40, 20, {"gamma": 0.5}).params["step_size"] == 20
    with pytest.raises(C.ConfigError, match="argument --sched: warmup_cosine takes no argument 'warm'"):
        C.make_schedule("warmup_cosine", 0.1, 40, 20, {"warm": 3})


# ------------------------------------------------------------------ pieces of the loop

def test_schedule_lr_holds_the_schedules_value_exactly():
    p = torch.nn.Parameter(torch.zeros(3))
    opt = torch.optim.SGD([p], lr=0.1)
    s = descent.schedules.warmup_cosine(0.1, 3, 20)
    sched = train.ScheduleLR(opt, s)
    seen = [opt.param_groups[0]["lr"]]
    for _ in range(25):
        opt.step()
        sched.step()
        seen.append(opt.param_groups[0]["lr"])
    assert seen == [s(t) for t in range(26)]  # exact: the value is written, not recomputed
    state = sched.state_dict()
    assert "schedule" not in state and state["last_epoch"] == 25
    # a torch-named schedule through ScheduleLR equals torch's own scheduler (rounding)
    q = torch.nn.Parameter(torch.zeros(3))
    o1, o2 = torch.optim.SGD([p], lr=0.1), torch.optim.SGD([q], lr=0.1)
    mine = train.ScheduleLR(o1, descent.schedules.cosine_annealing_lr(0.1, 10))
    theirs = torch.optim.lr_scheduler.CosineAnnealingLR(o2, T_max=10)
    for _ in range(15):
        o1.step(), o2.step(), mine.step(), theirs.step()
        assert abs(o1.param_groups[0]["lr"] - o2.param_groups[0]["lr"]) < 1e-12


def test_batches_split_the_same_global_batches_over_processes():
    images = torch.arange(40, dtype=torch.uint8).reshape(40, 1, 1).expand(40, 28, 28).contiguous()
    labels = torch.arange(40) % 10
    one = train.Batches(images, labels, 8, "cpu", torch.float64, seed=3)
    two = [train.Batches(images, labels, 4, "cpu", torch.float64, seed=3, world=2, rank=r) for r in (0, 1)]
    for epoch in (1, 2):
        one.set_epoch(epoch)
        for b in two:
            b.set_epoch(epoch)
        whole = [set(x[:, 0, 0, 0].tolist()) for x, _ in one]
        halves = [set(a[:, 0, 0, 0].tolist()) | set(b[:, 0, 0, 0].tolist()) for (a, _), (b, _) in zip(*two, strict=True)]
        assert whole == halves and len(whole) == 5
    one.set_epoch(1)
    first = [x for x, _ in one]
    one.set_epoch(2)
    assert not all(torch.equal(a, b) for a, b in zip(first, [x for x, _ in one], strict=True))  # set_epoch reshuffles


def test_max_norm_bounds_every_unit():
    torch.manual_seed(0)
    net = train.mlp(hidden=(32,))
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(10)
    train.max_norm_(net, 0.5)
    for m in net.modules():
        if isinstance(m, torch.nn.Linear):
            assert m.weight.norm(dim=1).max() <= 0.5 * (1 + 1e-6)


# ------------------------------------------------------------------ whole runs

def params_of(result):
    return {k: v.detach().clone() for k, v in result.model.state_dict().items()}


def max_gap(a, b):
    return max(float((a[k] - b[k]).abs().max()) for k in a)


@pytest.mark.parametrize("rule,opt,lr", [("adam", {}, 1e-3), ("sgd", {"momentum": 0.9}, 0.05),
                                         ("rmsprop", {}, 1e-3), ("adamw", {"weight_decay": 0.1}, 1e-3)])
def test_descent_rule_equals_torch_class_in_training(rule, opt, lr):
    run = dict(model="mlp", arch={"hidden": (32,)}, optimizer=rule, opt=opt, lr=lr, schedule="warmup_cosine",
               epochs=2, batch_size=50, subset=200, dtype="float64", **FAST)
    mine, theirs = train.fit(**run), train.fit(**run, impl="torch")
    assert max_gap(params_of(mine), params_of(theirs)) < 1e-12
    assert abs(mine.epochs[-1]["test_loss"] - theirs.epochs[-1]["test_loss"]) < 1e-12
    assert [r["lr"] for r in mine.steps] == [r["lr"] for r in theirs.steps]


def test_resume_continues_bit_for_bit(tmp_path):
    """Two epochs straight == one epoch (in another process, through the CLI), stop, resume one."""
    run = dict(model="cnn", arch=TINY_CNN, dropout=0.25, optimizer="adam", lr=2e-3, schedule="warmup_cosine",
               epochs=2, batch_size=64, subset=256, **FAST)
    straight = train.fit(**run)
    args = ["--model", "cnn", "--arch", "channels=4,8", "--arch", "hidden=16", "--dropout", "0.25", "--optimizer", "adam",
            "--lr", "2e-3", "--schedule", "warmup_cosine", "--epochs", "2", "--batch-size", "64", "--subset", "256",
            "--test-subset", "200", "--threads", "1", "--device", "cpu", "--stop-after", "1", "--out", str(tmp_path)]
    proc = run_cli(args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("epoch 1/2, train loss ")
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["event"] for r in records] == ["start"] + ["step"] * 4 + ["epoch"]
    assert records[-1]["stopped"] == "stop_after" and records[4]["step"] == 4
    resumed = train.fit(**run, resume=str(tmp_path / "last.pt"), out=str(tmp_path))
    a, b = params_of(straight), params_of(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)  # bit for bit (see the module docstring)
    sa, sb = straight.optimizer.state_dict()["state"], resumed.optimizer.state_dict()["state"]
    assert all(torch.equal(torch.as_tensor(sa[i][k]), torch.as_tensor(sb[i][k])) for i in sa for k in sa[i])
    assert [r["loss"] for r in straight.steps[4:]] == [r["loss"] for r in resumed.steps]
    assert [e["test_loss"] for e in straight.epochs] == [e["test_loss"] for e in resumed.epochs]
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["event"] for x in lines].count("start") == 2  # appended on resume
    with pytest.raises(C.ConfigError, match="argument --resume: .* was made with --lr 0.002, not 0.001"):
        train.fit(**{**run, "lr": 1e-3}, resume=str(tmp_path / "last.pt"))


def test_muon_trains_the_matrices_and_adamw_the_rest(tmp_path):
    """--optimizer muon: Muon on every 2-D weight, AdamW on biases and kernels, one schedule for
    both parts, and a checkpoint that resumes both bit for bit."""
    run = dict(model="cnn", arch=TINY_CNN, optimizer="muon", opt={"adjust_lr_fn": "match_rms_adamw"}, lr=2e-3,
               schedule="warmup_cosine", epochs=2, batch_size=64, subset=256, **FAST)
    straight = train.fit(**run)
    opt = straight.optimizer
    muon, adamw = opt.parts
    assert [p.ndim for g in muon.param_groups for p in g["params"]] == [2, 2]
    assert all(p.ndim != 2 for g in adamw.param_groups for p in g["params"])
    assert opt.param_groups == muon.param_groups + adamw.param_groups
    # the scheduler drove both parts: after the last step the cosine has reached 0 in every group
    assert {g["lr"] for g in opt.param_groups} == {0.0} and len({r["lr"] for r in straight.steps}) > 2
    for p in straight.model.parameters():
        assert set(opt.state[p]) >= ({"momentum_buffer"} if p.ndim == 2 else {"exp_avg", "exp_avg_sq"})
    train.fit(**run, stop_after=1, out=str(tmp_path))
    resumed = train.fit(**run, resume=str(tmp_path / "last.pt"), out=str(tmp_path))
    a, b = params_of(straight), params_of(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    split = resumed.optimizer  # loading gave the parts new group dicts: still the ones the scheduler writes
    assert all(g is h for g, h in zip(split.param_groups, [g for o in split.parts for g in o.param_groups], strict=True))
    mine, theirs = train.fit(**run, dtype="float64"), train.fit(**run, dtype="float64", impl="torch")
    # torch's Muon runs its Newton-Schulz iterations in bfloat16 (see tests/test_parity_matrix.py):
    # the same run up to that rounding, not to 1e-12
    assert 0 < max_gap(params_of(mine), params_of(theirs)) < 1e-2
    with pytest.raises(ValueError, match="Invalid state_dict: expected 2 parts"):
        opt.load_state_dict({"parts": [muon.state_dict()]})


def test_loader_paths_agree_and_other_options_run(fake_data):
    run = dict(model="cnn", arch=TINY_CNN, optimizer="sgd", opt={"momentum": 0.9}, lr=0.05, epochs=1,
               batch_size=32, subset=128, data=str(fake_data), test_subset=100, threads=1)
    device = train.fit(**run, loader="device")
    workers = train.fit(**run, loader="workers")
    compiled = train.fit(**run, compile="eager")  # the torch.compile path, without a C++ compiler
    a = params_of(device)
    assert all(torch.equal(a[k], params_of(workers)[k]) for k in a)
    assert all(torch.equal(a[k], params_of(compiled)[k]) for k in a)
    amp = train.fit(**run, amp="bf16")  # autocast (bf16 on the CPU here, on the GPU with --device cuda)
    assert np.isfinite(amp.epochs[-1]["train_loss"]) and max_gap(a, params_of(amp)) > 0


def test_stopping_rules_tol_patience_and_max_norm():
    base = dict(model="mlp", arch={"hidden": (16,)}, batch_size=50, subset=200, val=100, **FAST)
    tiny = train.fit(**base, optimizer="adam", lr=1e-3, epochs=3, tol=10.0)  # every update is shorter than 10
    assert tiny.stopped == "tol" and len(tiny.steps) == 1 and tiny.steps[0]["update_norm"] < 10.0
    calls = []
    frozen = train.fit(**base, optimizer="sgd", lr=0.0, epochs=5, patience=2,  # lr 0: the val loss never improves
                       on_epoch=lambda rec, model: calls.append((rec["epoch"], model is not None)))
    assert frozen.stopped == "early stopping" and len(frozen.epochs) == 3 and frozen.best_epoch == 1
    assert calls == [(1, True), (2, True), (3, True)]
    assert all(r["update_norm"] == 0.0 for r in frozen.steps)
    capped = train.fit(**base, optimizer="sgd", lr=0.5, epochs=1, max_norm=0.3)
    for m in capped.model.modules():
        if isinstance(m, torch.nn.Linear):
            assert float(m.weight.detach().norm(dim=1).max()) <= 0.3 * (1 + 1e-6)
    assert set(capped.epochs[-1]) >= {"val_loss", "val_acc", "test_loss", "test_acc", "train_loss", "best_epoch"}


def test_step_gbs_counts_the_least_traffic_of_a_step():
    """The benches' GB/s: 28 bytes per parameter for Adam, 20 for SGD with momentum."""
    from descent.train import timing

    assert timing.step_gbs("adam", 1_000_000, 1e-3) == pytest.approx(28.0)
    assert timing.step_gbs("sgd", 1_000_000, 2e-3) == pytest.approx(10.0)
    with pytest.raises(ValueError, match="Invalid rule: 'lion'"):
        timing.step_gbs("lion", 1, 1.0)
