"""The cases of the misuse campaign (bench/misuse.py), one group per command, and their fixtures.

A group is a function decorated with @group returning its Cases; a new command or feature (the
overlay, model images, LSTM) adds a group or appends to one. Fixtures are built once per campaign,
on first use, and shared read-only: the runner hashes each fixture a case names before and after the
case (a change is data loss), so a case that damages one copies it in its `setup`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from misuse import Case, Expect, Run
from misuse_fixtures import Fixtures, _env  # noqa: F401  (Fixtures: the runner's)

CASES: list[Case] = []


def group(fn):
    """Register a function's cases (its order is the campaign's order)."""
    CASES.extend(fn())
    return fn


# ---- helpers for setups and checks -----------------------------------------------------------------

def write(rel: str, content: str | bytes):
    """setup: write {tmp}/rel."""
    def setup(paths: dict) -> None:
        p = Path(paths["tmp"]) / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return setup


def copy(name: str, as_: str | None = None, then=None):
    """setup: copy fixture `name` to {tmp}/<as_ or name> (placeholder {<as_ or name>_copy}); then(path)."""
    def setup(paths: dict) -> None:
        dst = Path(paths["tmp"]) / (as_ or name)
        src = Path(paths[name])
        (shutil.copytree(src, dst, symlinks=True) if src.is_dir() else shutil.copy2(src, dst))
        paths[f"{as_ or name}_copy"] = str(dst)
        if then is not None:
            then(dst)
    return setup


def both(*setups):
    def setup(paths: dict) -> None:
        for s in setups:
            s(paths)
    return setup


def no_ellipsis_within(width: int):
    def check(run: Run) -> str | None:
        """no header or word cut, no line past the width"""
        out = run.out.replace("6 \u2026", "").replace("6 ...", "")  # the fixture's own note holds one
        if "\u2026" in out or "..." in out:
            return "a cell was cut (ellipsis)"
        long = [ln for ln in run.out.splitlines() if len(ln) > width]
        return f"{len(long)} line(s) wider than {width}" if long else None
    return check


def json_file_ok(rel: str):
    def check(run: Run) -> str | None:
        """the rebuilt file is whole"""
        p = Path(run.paths["tmp"]) / rel
        try:
            json.loads(p.read_text())
        except (OSError, ValueError) as exc:
            return f"{rel} still damaged after the rebuild ({type(exc).__name__})"
        return None
    return check


def output_has(*needles: str):
    def check(run: Run) -> str | None:
        """the output holds the right numbers"""
        missing = [n for n in needles if n not in run.out]
        return f"output lacks {missing}" if missing else None
    return check


def E(code=2, *says, **kw) -> Expect:
    return Expect(code=code, says=tuple(says), **kw)


BIG = "{tmp}/out"  # an output place that must not be created by a refused command


# ---- the groups ------------------------------------------------------------------------------------

@group
def build_cases():
    c = []
    nothing = ("{tmp}/o",)
    c += [
        Case("build/config-binary", "a binary file as --config", E(2, "c.yaml", not_created=nothing),
             argv=("build", "--config", "{tmp}/c.yaml", "--out", "{tmp}/o"), setup=write("c.yaml", bytes(range(256))),
             fast=True),
        Case("build/config-key-twice", "a YAML key given twice", E(2, "given twice", not_created=nothing),
             argv=("build", "--config", "{tmp}/c.yaml", "--out", "{tmp}/o"),
             setup=write("c.yaml", "hls: {n_pe: 4}\nhls: {n_pe: 8}\n"), fast=True),
        Case("build/config-unknown-key", "a misspelt config key", E(2, "n_pes", not_created=nothing),
             argv=("build", "--config", "{tmp}/c.yaml", "--out", "{tmp}/o"), setup=write("c.yaml", "hls: {n_pes: 4}\n"),
             fast=True),
        Case("build/unknown-board", "--board that does not exist", E(2, "nosuch", not_created=nothing),
             argv=("build", "--board", "nosuch", "--out", "{tmp}/o"), fast=True),
        Case("build/pe-zero", "--pe 0", E(2, "--pe", not_created=nothing), argv=("build", "--pe", "0", "--out", "{tmp}/o"),
             fast=True),
        Case("build/clock-nan", "--clock nan", E(2, "--clock", not_created=nothing),
             argv=("build", "--clock", "nan", "--out", "{tmp}/o"), fast=True),
        Case("build/epochs-zero", "--epochs 0", E(2, "--epochs", not_created=nothing),
             argv=("build", "--epochs", "0", "--out", "{tmp}/o"), fast=True),
        Case("build/max-drop-nan", "--max-accuracy-drop nan", E(2, "--max-accuracy-drop", not_created=nothing),
             argv=("build", "--max-accuracy-drop", "nan", "--out", "{tmp}/o"), fast=True),
        Case("build/out-is-cwd", "--out . (the current folder)", E(2, "current folder", untouched=("{tmp}",)),
             argv=("build", "--out", ".", "--force")),
        Case("build/out-users-folder-force", "--out a user's folder with --force", E(2, "not an eie-flow"),
             argv=("build", "--out", "{userdir}", "--force"), needs=("userdir",)),
        Case("build/out-below-file", "--out below a file", E(2, "is a file"),
             argv=("build", "--out", "{tmp}/f/sub"), setup=write("f", "x"), fast=True),
        Case("build/out-proc", "--out under /proc", E(2, "kernel"), argv=("build", "--out", "/proc/flow-out"), fast=True),
        Case("build/model-missing", "--model that does not exist", E(2, "does not exist", not_created=nothing),
             argv=("build", "--model", "{tmp}/nope.keras", "--out", "{tmp}/o")),
        Case("build/model-text-file", "--model a text file", E(2, "nope", not_created=nothing),
             argv=("build", "--model", "{tmp}/nope.keras", "--out", "{tmp}/o"), setup=write("nope.keras", "hello\n")),
        Case("build/model-tanh", "--model with a tanh layer", E(2, "tanh", not_created=nothing),
             argv=("build", "--model", "{keras_tanh}", "--out", "{tmp}/o"), needs=("keras_tanh",)),
        Case("build/model-width-mismatch", "--model taking 30 inputs on the 64-input digits", E(2, "(30,)", not_created=nothing),
             argv=("build", "--model", "{keras_wide}", "--out", "{tmp}/o"), needs=("keras_wide",)),
        Case("build/skip-train-without-model", "--skip-train with no --model", E(2, "--skip-train", not_created=nothing),
             argv=("build", "--skip-train", "--out", "{tmp}/o")),
        Case("build/data-dir-not-folder", "--data-dir a file", E(2, "not a folder", not_created=nothing),
             argv=("build", "--data-dir", "{tmp}/f", "--out", "{tmp}/o"), setup=write("f", "x"), fast=True),
        Case("build/data-dir-npz-config", "--data-dir with a config that reads a .npz", E(2, "data.path", not_created=nothing),
             argv=("build", "--config", "{tmp}/c.yaml", "--data-dir", "{mnist}", "--out", "{tmp}/o"),
             setup=write("c.yaml", "data: {name: npz, path: /x.npz}\n"), needs=("mnist",), fast=True),
        Case("build/layers-unknown", "hls.layers naming a layer the model lacks", E(2, "nosuch", not_created=nothing),
             argv=("build", "--config", "{tmp}/c.yaml", "--out", "{tmp}/o"),
             setup=write("c.yaml", "hls: {layers: {nosuch: {n_pe: 2}}}\n")),
        Case("build/rebuild-latin1-80", "rebuild with a latin-1 stdout at 80 columns (the end-of-build tables)",
             E(0, "build finished", check=no_ellipsis_within(80)),
             argv=("build", "--model", "{compressed}", "--skip-train", "--out", "{build_copy}", "--no-progress", "--pe", "2"),
             needs=("build", "compressed"), setup=copy("build"), env={"PYTHONIOENCODING": "latin-1", "COLUMNS": "80"}),
        Case("build/truncated-bundle-json-rebuild", "rebuild after bundle/model.json was truncated",
             E(0, check=json_file_ok("build/bundle/model.json")),
             argv=("build", "--model", "{compressed}", "--skip-train", "--out", "{build_copy}", "--no-progress", "--pe", "2"),
             needs=("build", "compressed"), owner="robust-a",
             setup=copy("build", then=lambda d: (d / "bundle" / "model.json").write_text('{"trunc'))),
        Case("build/user-file-in-compressed-force", "flow build --force with a user's file in the build's compressed/",
             E((0, 2), untouched=("{build_copy}/compressed/notes.txt",)),
             argv=("build", "--model", "{compressed}", "--skip-train", "--out", "{build_copy}", "--no-progress", "--pe",
                   "2", "--force"),
             needs=("build", "compressed"), owner="robust-a",
             setup=copy("build", then=lambda d: ((d / "compressed").mkdir(exist_ok=True),
                                                 (d / "compressed" / "notes.txt").write_bytes(b"mine")))),
    ]
    return c


@group
def compress_cases():
    nothing = ("{tmp}/o",)
    return [
        Case("compress/sigmoid-output", "a model with a sigmoid output", E(2, "sigmoid", not_created=nothing),
             argv=("compress", "--model", "{keras_sigmoid}", "--out", "{tmp}/o"), needs=("keras_sigmoid",)),
        Case("compress/tanh-layer", "a model with a tanh layer", E(2, "tanh", not_created=nothing),
             argv=("compress", "--model", "{keras_tanh}", "--out", "{tmp}/o"), needs=("keras_tanh",)),
        Case("compress/bits-1", "compress.bits: 1", E(2, "1 code bit", not_created=nothing),
             argv=("compress", "--config", "{tmp}/c.yaml", "--out", "{tmp}/o"), setup=write("c.yaml", "compress: {bits: 1}\n")),
        Case("compress/layer-bits-unknown", "layer_bits naming no layer", E(2, "nosuch", not_created=nothing),
             argv=("compress", "--config", "{tmp}/c.yaml", "--out", "{tmp}/o"),
             setup=write("c.yaml", "compress: {layer_bits: {nosuch: 4}}\n")),
        Case("compress/lenet5-on-digits", "lenet5 on the 8x8 digits", E(2, "12x12", not_created=nothing),
             argv=("compress", "--model", "lenet5", "--out", "{tmp}/o")),
        Case("compress/out-exists", "--out an existing compressed folder without --force", E(2, "--force"),
             argv=("compress", "--out", "{compressed}"), needs=("compressed",)),
        Case("compress/force-users-folder", "--force onto a user's folder", E(2, "not an eie-flow"),
             argv=("compress", "--out", "{userdir}", "--force"), needs=("userdir",)),
        Case("compress/model-text-file", "--model a text file named .keras", E(2, "m.keras", not_created=nothing),
             argv=("compress", "--model", "{tmp}/m.keras", "--out", "{tmp}/o"), setup=write("m.keras", "text\n")),
        Case("compress/data-dir-npz-config", "--data-dir with a config that reads a .npz", E(2, "data.path", not_created=nothing),
             argv=("compress", "--config", "{tmp}/c.yaml", "--data-dir", "{mnist}", "--out", "{tmp}/o"),
             setup=write("c.yaml", "data: {name: npz, path: /x.npz}\n"), needs=("mnist",), fast=True),
        Case("compress/npz-nan", "a .npz holding NaN", E(2, "NaN", not_created=nothing),
             argv=("compress", "--config", "{tmp}/c.yaml", "--out", "{tmp}/o"), needs=("npz_nan",),
             setup=lambda p: Path(p["tmp"], "c.yaml").write_text(f"data: {{name: npz, path: {p['npz_nan']}}}\n")),
        Case("compress/npz-one-class", "a .npz with one class", E(2, "single class", not_created=nothing),
             argv=("compress", "--config", "{tmp}/c.yaml", "--out", "{tmp}/o"), needs=("npz_one_class",),
             setup=lambda p: Path(p["tmp"], "c.yaml").write_text(f"data: {{name: npz, path: {p['npz_one_class']}}}\n")),
        Case("compress/mnist-missing", "model lenet300 on MNIST with no data folder", E(2, "--data-dir", not_created=nothing),
             argv=("compress", "--config", "{tmp}/c.yaml", "--out", "{tmp}/o"), env={"FLOW_DATA_DIR": None},
             setup=write("c.yaml", "data: {name: mnist}\n")),
        Case("compress/user-file-kept-on-force", "flow compress --force over its own folder holding a user's file",
             E((0, 2), untouched=("{cm_copy}/notes.txt",)),
             argv=("compress", "--config", "{quick_cfg}", "--out", "{cm_copy}", "--force", "--no-progress",
                   "--allow-accuracy-drop"),
             needs=("compressed", "quick_cfg"), owner="robust-a",
             setup=copy("compressed", as_="cm", then=lambda d: (d / "notes.txt").write_bytes(b"mine"))),
    ]


def _sim_cases(cmd: str) -> list[Case]:
    nothing = ("{tmp}/o",)
    return [
        Case(f"{cmd}/not-a-folder", "a file instead of the compressed folder", E(2, "not a folder"),
             argv=(cmd, "{tmp}/f"), setup=write("f", "x"), fast=True),
        Case(f"{cmd}/n-negative", "--n -1", E(2, "--n"), argv=(cmd, "{compressed}", "--n", "-1"), needs=("compressed",),
             fast=True),
        Case(f"{cmd}/out-is-a-file", "--out an existing file", E(2, "is a file"),
             argv=(cmd, "{compressed}", "--out", "{tmp}/f"), setup=write("f", "x"), needs=("compressed",), fast=True),
        Case(f"{cmd}/out-below-a-file", "--out below a file", E(2, "is a file"),
             argv=(cmd, "{compressed}", "--out", "{tmp}/f/sub"), setup=write("f", "x"), needs=("compressed",), fast=True),
        Case(f"{cmd}/out-proc", "--out under /proc", E(2, "kernel"), argv=(cmd, "{compressed}", "--out", "/proc/x"),
             needs=("compressed",), fast=True),
        Case(f"{cmd}/out-relative-deleted-cwd", "a relative --out from a deleted working folder",
             E(2, "no longer exists"), argv=(cmd, "{compressed}", "--out", "rel"), needs=("compressed",),
             wrap="deleted-cwd", fast=True),
        Case(f"{cmd}/read-only-default-out", "a read-only compressed folder, default output place",
             E(2, "not writable", "--out"), argv=(cmd, "{cm_copy}", "--n", "5"), needs=("compressed",),
             setup=copy("compressed", as_="cm"), wrap="ro:{cm_copy}"),
        Case(f"{cmd}/data-dir-npz-folder", "--data-dir on a folder compressed from a .npz",
             E(2, "data.path", untouched=(), not_created=nothing),
             argv=(cmd, "{cm_npz}", "--data-dir", "{mnist}", "--n", "5", "--out", "{tmp}/o"),
             needs=("cm_npz", "mnist"), fast=True),
        Case(f"{cmd}/width-mismatch", "--data-dir MNIST (784 inputs) for the 64-input model",
             E(2, "{mnist}", "pass --data-dir", not_created=("{tmp}/o/hls",)),
             argv=(cmd, "{compressed}", "--data-dir", "{mnist}", "--n", "5", "--out", "{tmp}/o"),
             needs=("compressed", "mnist")),
        Case(f"{cmd}/damaged-model-keras", "model.keras truncated", E(2, "model.keras"),
             argv=(cmd, "{cm_copy}", "--n", "5", "--out", "{tmp}/o"), needs=("compressed",),
             setup=copy("compressed", as_="cm", then=lambda d: (d / "model.keras").write_bytes(
                 (d / "model.keras").read_bytes()[:300]))),
    ]


@group
def csim_cases():
    return _sim_cases("csim") + [
        Case("csim/min-agreement-2", "--min-agreement 2", E(2, "--min-agreement"),
             argv=("csim", "{compressed}", "--min-agreement", "2"), needs=("compressed",), fast=True),
        Case("csim/runs", "a plain csim of the compressed folder (must be right)",
             E(0, "mismatches vs reference", check=output_has("0 bits in 0 samples")),
             argv=("csim", "{compressed}", "--n", "50", "--out", "{tmp}/o"), needs=("compressed",), tools=("g++",)),
    ]


@group
def rtlsim_cases():
    return _sim_cases("rtlsim") + [
        Case("rtlsim/model-n-negative", "--model-n -1", E(2, "--model-n"),
             argv=("rtlsim", "{compressed}", "--model-n", "-1"), needs=("compressed",), fast=True),
        Case("rtlsim/cache-below-a-file", "EIE_RTL_CACHE below a file", E(2, "EIE_RTL_CACHE", not_created=("{tmp}/o",)),
             argv=("rtlsim", "{compressed}", "--n", "5", "--out", "{tmp}/o"), needs=("compressed",),
             setup=write("f", "x"), env={"EIE_RTL_CACHE": "{tmp}/f/cache"}, fast=True),
        Case("rtlsim/home-read-only", "no EIE_RTL_CACHE and a read-only HOME", E(2, "EIE_RTL_CACHE"),
             argv=("rtlsim", "{compressed}", "--n", "5", "--out", "{tmp}/o"), needs=("compressed",),
             setup=write("home/.keep", ""), env={"EIE_RTL_CACHE": None, "HOME": "{tmp}/home"}, wrap="ro:{tmp}/home"),
        Case("rtlsim/runs", "a plain rtlsim of the compressed folder (must be right)",
             E(0, check=output_has("bit mismatches vs reference 0", "mismatches on")),
             argv=("rtlsim", "{compressed}", "--n", "20", "--model-n", "20", "--out", "{tmp}/o"), needs=("compressed",),
             tools=("verilator",)),
    ]


@group
def report_cases():
    return [
        Case("report/not-a-folder", "a path that does not exist", E(2, "does not exist"), argv=("report", "{tmp}/nope"),
             fast=True),
        Case("report/no-state", "a folder that is not a build", E(2, "build_state.json"), argv=("report", "{tmp}"),
             fast=True),
        Case("report/damaged-state", "build_state.json truncated", E(2, "build_state.json"),
             argv=("report", "{tmp}/b"), setup=write("b/build_state.json", '{"steps": {"a"'), fast=True),
        Case("report/width-80", "an 80-column terminal", E(0, "LUT", check=no_ellipsis_within(80)),
             argv=("report", "{fakebuild}"), needs=("fakebuild",), env={"COLUMNS": "80"}, fast=True),
        Case("report/width-200", "a 200-column terminal", E(0, "LUT", check=no_ellipsis_within(200)),
             argv=("report", "{fakebuild}"), needs=("fakebuild",), env={"COLUMNS": "200"}, fast=True),
        Case("report/latin-1", "PYTHONIOENCODING=latin-1", E(0, "LUT", check=output_has("<= 6 ...")),
             argv=("report", "{fakebuild}"), needs=("fakebuild",), env={"PYTHONIOENCODING": "latin-1"}, fast=True),
        Case("report/ascii-locale", "LC_ALL=C with an ASCII stdout", E(0, "LUT", check=output_has("<= 6 ...")),
             argv=("report", "{fakebuild}"), needs=("fakebuild",),
             env={"LC_ALL": "C", "PYTHONIOENCODING": "ascii"}, fast=True),
        Case("report/rtl-json-damaged", "reports/rtl.json truncated: the tables cannot silently vanish",
             E(0, "rtl.json"), argv=("report", "{fakebuild_copy}"), needs=("fakebuild",), owner="robust-a",
             setup=copy("fakebuild", then=lambda d: (d / "reports" / "rtl.json").write_text('{"rtlsim": {'))),
        Case("report/json-rtl-json-damaged", "--json with reports/rtl.json truncated", E(0, "rtl.json"),
             argv=("report", "{fakebuild_copy}", "--json"), needs=("fakebuild",), owner="robust-a",
             setup=copy("fakebuild", then=lambda d: (d / "reports" / "rtl.json").write_text("[1, 2]"))),
    ]


@group
def run_cases():
    return [
        Case("run/timeout-nan", "--timeout nan (would never time out)", E(2, "--timeout", "> 0"),
             argv=("run", "--sim", "{tmp}/b", "--timeout", "nan"), fast=True),
        Case("run/timeout-zero", "--timeout 0", E(2, "--timeout", "> 0"), argv=("run", "--sim", "{tmp}/b", "--timeout", "0"),
             fast=True),
        Case("run/timeout-negative", "--timeout -5", E(2, "--timeout", "> 0"),
             argv=("run", "--sim", "{tmp}/b", "--timeout=-5"), fast=True),
        Case("run/not-a-bundle", "a folder that is not a bundle", E(2, "model.json"), argv=("run", "--sim", "{tmp}"),
             fast=True),
        Case("run/batch-size-zero", "--batch-size 0", E(2, "--batch-size"),
             argv=("run", "--sim", "{bundle}", "--batch-size", "0"), needs=("bundle",)),
        Case("run/limit-zero", "--limit 0", E(2, "--limit"), argv=("run", "--sim", "{bundle}", "--limit", "0"),
             needs=("bundle",)),
        Case("run/json-into-proc", "--json under /proc", E(2, "--json"),
             argv=("run", "--sim", "{bundle}", "--json", "/proc/x.json"), needs=("bundle",)),
        Case("run/library-without-sim", "--library without --sim", E(2, "--sim"),
             argv=("run", "{bundle}", "--library", "{tmp}/lib.so"), needs=("bundle",), setup=write("lib.so", "x")),
        Case("run/build-folder", "the build folder instead of its bundle", E(2, "bundle"),
             argv=("run", "--sim", "{build}"), needs=("build",)),
        Case("run/damaged-model-json", "bundle/model.json truncated", E(2, "model.json"),
             argv=("run", "--sim", "{bundle_copy}"), needs=("bundle",),
             setup=copy("bundle", then=lambda d: (d / "model.json").write_text('{"proj'))),
        Case("run/sim-runs", "the simulated board on the bundle's vectors (must be right)",
             E(0, check=output_has("bit agreement       1.0000")),
             argv=("run", "--sim", "{bundle_copy}", "--json", "{tmp}/r.json"), needs=("bundle",), setup=copy("bundle")),
    ]


@group
def boards_cases():
    return [
        Case("boards/list", "list the boards", E(0, "pynq-z2"), argv=("boards",), fast=True),
        Case("boards/extra-argument", "an unexpected argument", E(2, "unrecognized"), argv=("boards", "kv260", "x"),
             fast=True),
        Case("flow/unknown-command", "a command that does not exist", E(2, "invalid choice"), argv=("bild",), fast=True),
    ]


_HLS_MODEL = """
import numpy as np, hls4ml, tensorflow as tf
from flow.compress.io import load_compressed
model = load_compressed('{compressed}').model
def convert(eie=None, model_eie=None, io_type='io_parallel'):
    cfg = hls4ml.utils.config_from_keras_model(model, granularity='name', backend='Vivado')
    if eie is not None: cfg['LayerName']['fc1']['EIE'] = eie
    if model_eie is not None: cfg['Model']['EIE'] = model_eie
    return hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, output_dir='{tmp}/prj',
                                                      backend='EIE', io_type=io_type)
"""
_README_CALL = """
hls_model = hls4ml.converters.convert_from_keras_model(
    model, backend="EIE", output_dir="{tmp}/prj", io_type="io_parallel",
    hls_config={{"Model": {{"Precision": "ap_fixed<16,6>", "ReuseFactor": 1}},
                "LayerName": {{"fc1": {{"EIE": {{"n_pe": 16, "fifo_depth": 8}}}}}}}})
hls_model.compile(); y = hls_model.predict(np.random.default_rng(0).random((4, 64)))
print('shape', np.asarray(y).shape)
"""


def _legacy_input(d: Path) -> None:
    """Resave the folder's model with its input layer named 'input' (as an older flow wrote it)."""
    code = f"""
import tensorflow as tf
from flow.compress.io import custom_objects
m = tf.keras.models.load_model('{d}/model.keras', custom_objects=custom_objects(), compile=False)
c = m.get_config(); c['layers'][0]['config']['name'] = 'input'
with tf.keras.utils.custom_object_scope(custom_objects()):
    o = tf.keras.Sequential.from_config(c)
o.set_weights(m.get_weights()); o.save('{d}/model.keras')
"""
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env=_env())


@group
def api_cases():
    hls = ("compressed",)
    return [
        Case("api/hls4ml-empty-batch", "predict() on an empty batch", E(0, "shape (0, 10)"),
             code=_HLS_MODEL + "m = convert(); m.compile(); print('shape', m.predict(np.zeros((0, 64))).shape)",
             needs=hls, tools=("g++",)),
        Case("api/hls4ml-knobs-string", "config['LayerName']['fc1']['EIE'] = 'easy'", E(2, "not a mapping"),
             code=_HLS_MODEL + "convert(eie='easy')", needs=hls),
        Case("api/hls4ml-model-knobs-list", "config['Model']['EIE'] a list", E(2, "not a mapping"),
             code=_HLS_MODEL + "convert(model_eie=['n_pe', 4])", needs=hls),
        Case("api/hls4ml-unknown-knob", "an unknown EIE knob", E(2, "unknown EIE knob"),
             code=_HLS_MODEL + "convert(eie={{'n_pes': 4}})", needs=hls),
        Case("api/hls4ml-knob-zero", "n_pe 0", E(2, "n_pe"), code=_HLS_MODEL + "convert(eie={{'n_pe': 0}})", needs=hls),
        Case("api/hls4ml-io-serial", "io_type io_serial", E(2, "io_serial"),
             code=_HLS_MODEL + "convert(io_type='io_serial')", needs=hls),
        Case("api/hls4ml-wrong-width", "predict() with 10 values per sample", E(2, "does not match"),
             code=_HLS_MODEL + "m = convert(); m.compile(); m.predict(np.zeros((2, 10)))", needs=hls, tools=("g++",)),
        Case("api/hls4ml-readme-call", "the README's call on the flow's own model.keras", E(0, "shape (4, 10)"),
             code="import numpy as np, hls4ml, tensorflow as tf\nfrom flow.compress.io import custom_objects\n"
                  "model = tf.keras.models.load_model('{compressed}/model.keras', custom_objects=custom_objects(), "
                  "compile=False)\n" + _README_CALL, needs=hls, tools=("g++",)),
        Case("api/hls4ml-readme-call-legacy", "the README's call on a folder from an older flow (input named 'input')",
             E(0, "shape (4, 10)"),
             code="import numpy as np, hls4ml\nfrom flow.compress.io import load_compressed\n"
                  "model = load_compressed('{cm_copy}').model\n" + _README_CALL,
             needs=hls, tools=("g++",), setup=copy("compressed", as_="cm", then=_legacy_input)),
        Case("api/overlay-timeout-nan", "EIEOverlay(timeout=nan)", E(2, "> 0"),
             code="import math\nfrom flow.runtime.overlay import check_timeout\ncheck_timeout(math.nan)", fast=True),
        Case("api/hardware-lstm-gates", "an LSTM: its gate sigmoid/tanh are not refused as activations",
             E(2, "recurrent", absent=("sigmoid", "'tanh'")),
             code="import tensorflow as tf\nfrom flow.hls.convert import hardware_layers\nL = tf.keras.layers\n"
                  "hardware_layers(tf.keras.Sequential([L.Input((5, 8)), L.LSTM(6, name='lstm'), L.Dense(4)]))"),
    ]


def image_ok(rel: str):
    def check(run: Run) -> str | None:
        """the written image passes the driver's checks (magic, version, CRC, sizes)"""
        from flow.runtime.eie_image import read_image

        try:
            read_image(Path(run.paths["tmp"]) / rel)
        except Exception as exc:  # noqa: BLE001 -- any failure is the finding
            return f"{rel}: {type(exc).__name__}: {exc}"
        return None
    return check


def executable(rel: str, text: str):
    """setup: an executable script {tmp}/rel."""
    def setup(paths: dict) -> None:
        p = Path(paths["tmp"]) / rel
        p.write_text(text)
        p.chmod(0o755)
    return setup


_DAMAGE = """from pathlib import Path
from flow.runtime.eie_image import read_image
data = bytearray(Path('{image}').read_bytes())
{damage}
Path('{tmp}/bad.eie').write_bytes(bytes(data))
read_image(Path('{tmp}/bad.eie'))
"""


@group
def round_cases():
    """This round's features: model images (flow image, the driver's reader), the pip toolchain, LSTM."""
    cm = ("compressed",)
    return [
        Case("image/not-a-folder", "a model folder that does not exist", E(2, "not a folder"),
             argv=("image", "{tmp}/nope"), fast=True),
        Case("image/unknown-board", "--board nope", E(2, "unknown board", not_created=("{tmp}/m.eie",)),
             argv=("image", "{compressed}", "--board", "nope", "--out", "{tmp}/m.eie"), needs=cm, fast=True),
        Case("image/no-preset", "--pe 7: no overlay of that size", E(2, "no overlay preset", not_created=("{tmp}/m.eie",)),
             argv=("image", "{compressed}", "--pe", "7", "--out", "{tmp}/m.eie"), needs=cm, fast=True),
        Case("image/out-into-proc", "--out under /proc", E(2, "kernel file system"),
             argv=("image", "{compressed}", "--pe", "16", "--out", "/proc/m.eie"), needs=cm, fast=True),
        Case("image/out-below-a-file", "--out below a file", E(2, "which is a file"),
             argv=("image", "{compressed}", "--pe", "16", "--out", "{tmp}/f/m.eie"), needs=cm, setup=write("f", "x"),
             fast=True),
        Case("image/out-is-a-folder", "--out an existing folder", E(2, "is a folder"),
             argv=("image", "{compressed}", "--pe", "16", "--out", "{tmp}"), needs=cm, fast=True),
        Case("image/writes", "a model image for the P = 16 overlay (must be valid)",
             E(0, "wrote", check=image_ok("m.eie"), untouched=("{compressed}",)),
             argv=("image", "{compressed}", "--pe", "16", "--out", "{tmp}/m.eie"), needs=cm, fast=True),
        Case("api/image-truncated", "a model image cut short", E(2, "truncated"),
             code=_DAMAGE.replace("{damage}", "data = data[: len(data) - 40]"), needs=("image",), fast=True),
        Case("api/image-crc", "one bit of a model image flipped", E(2, "CRC"),
             code=_DAMAGE.replace("{damage}", "data[-9] ^= 1"), needs=("image",), fast=True),
        Case("api/image-magic", "a file that is not a model image", E(2, "not a model image"),
             code=_DAMAGE.replace("{damage}", "data[:8] = b'NOTANEIE'"), needs=("image",), fast=True),
        Case("tools/verilator-broken", "FLOW_VERILATOR names a program that fails", E(1, "broken", "FLOW_VERILATOR",
             not_created=("{tmp}/o",)),
             argv=("rtlsim", "{compressed}", "--n", "5", "--out", "{tmp}/o"), needs=cm,
             setup=executable("bad", "#!/bin/sh\nexit 3\n"), env={"FLOW_VERILATOR": "{tmp}/bad"}, fast=True),
        Case("tools/yosys-not-a-file", "FLOW_YOSYS names no file", E(1, "FLOW_YOSYS"),
             code="from flow.rtl import tools\ntools.require('yosys')", env={"FLOW_YOSYS": "{tmp}/nope"}, fast=True),
        Case("rtlsim/trace-n-negative", "--trace --n -1", E(2, "--n"),
             argv=("rtlsim", "{compressed}", "--trace", "--n", "-1"), needs=cm, fast=True),
        Case("compress/gru", "a GRU layer: refused before training, naming it", E(2, "gru", "LSTM",
             not_created=("{tmp}/o",)),
             argv=("compress", "--model", "{keras_gru}", "--out", "{tmp}/o"), needs=("keras_gru",)),
        Case("compress/lstm-return-sequences", "an LSTM with return_sequences=True", E(2, "return_sequences",
             not_created=("{tmp}/o",)),
             argv=("compress", "--model", "{keras_lstm_seq}", "--out", "{tmp}/o"), needs=("keras_lstm_seq",)),
    ]
