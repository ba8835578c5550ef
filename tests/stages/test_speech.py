"""Speech: the synthesised spoken-digit corpus, the audio spec and preprocessor, the log-mel network, the four
stages on a small corpus, the served model (Python, HTTP, `dlforge predict` on WAVs) and a bring-your-own WAV
folder; bad WAVs stop prepare or predict with one line naming the file."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from scipy.io import wavfile

from conftest import CONF, ROOT, run_stage
from dlforge.cli import main as dlforge
from dlforge.data.families.audio_classification import AudioPreprocessor, fit_length
from dlforge.data.mel import log_mel
from dlforge.data.sources.spoken_digits import spoken_digits
from dlforge.errors import UserError
from dlforge.models.nets.speech_cnn import SpeechCNN
from pipelines import evaluate, prepare, register, train
from services import post, serve

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
# A small corpus: 3 accents x 10 variants x 11 words = 330 clips; the split holds out whole variants.
VARIANTS = ["m1", "m2", "m3", "m4", "m5", "f1", "f4", "Alex", "adam", "linda"]
SMALL = [
    "data.source.accents=[en-us,en-gb-x-rp,en-029]",
    f"data.source.variants=[{','.join(VARIANTS)}]",
    "trainer.max_epochs=8",
    "train.batch_size=32",
    "callbacks.progress_bar=null",
]
HELD_OUT = "en-us+m7"  # a voice the small corpus never has (m7 is not among its variants)


def corpus(**changes) -> pd.DataFrame:
    kw = dict(
        accents=["en-us"],
        variants=["m1", "f4"],
        words=DIGITS[:3],
        unknown_words=["yes", "stop"],
        takes=1,
        rate=[150, 210],
        pitch=[30, 70],
        snr_db=[5, 20],
        gain_db=[-6, 3],
        sample_rate=16000,
        clip_seconds=1.0,
        seed=0,
    )
    return spoken_digits(**{**kw, **changes})


def compose_cfg(root: Path, *overrides: str):
    base = [
        f"paths.prepared={root}/data/${{name}}",
        f"paths.models={root}/models/${{name}}",
        f"paths.reports={root}/reports/${{name}}",
        f"paths.checkpoints={root}/checkpoints/${{name}}",
        f"tracking.uri=sqlite:///{root}/mlflow.db",
        "print_config=false",
    ]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=[*base, *overrides])


def test_synthesis_is_deterministic_for_the_seed():
    first, again, other = corpus(), corpus(), corpus(seed=1)
    assert len(first) == 2 * 4 and first["label"].tolist()[:4] == ["zero", "one", "two", "unknown"]
    assert first["voice"].tolist() == ["en-us+m1"] * 4 + ["en-us+f4"] * 4
    assert all(a.shape == (16000,) and a.dtype == np.float32 and np.abs(a).max() <= 1 for a in first["audio"])
    assert all(np.array_equal(a, b) for a, b in zip(first["audio"], again["audio"]))  # bit for bit
    assert not np.array_equal(first["audio"][0], other["audio"][0])  # the seed drives noise, shift, gain
    with pytest.raises(UserError, match="no voice variant 'nobody'"):
        corpus(variants=["nobody"])
    with pytest.raises(UserError, match="'f2' is not reproducible"):
        corpus(variants=["m1", "f2"])


def test_split_keeps_every_voice_variant_in_one_split(tmp_path):
    cfg = compose_cfg(tmp_path, "experiment=speech_digits", *SMALL)
    spec = instantiate(cfg.data, name="data 'speech_digits'")
    df = spec.load()
    spec.validate(df)
    idx = spec.split(df, cfg.split.val, cfg.split.test, cfg.seed)
    heard = {s: set(df["variant"].iloc[i]) for s, i in idx.items()}
    assert not heard["train"] & (heard["val"] | heard["test"]) and not heard["val"] & heard["test"]
    assert len(heard["test"]) == len(heard["val"]) == 2 and sum(map(len, idx.values())) == len(df) == 330
    for rows in idx.values():  # every voice says every word: each split has every class
        assert set(df["label"].iloc[rows]) == set(spec.classes)
    assert spec.split(df, cfg.split.val, cfg.split.test, cfg.seed)["test"].tolist() == idx["test"].tolist()


def test_prepare_synthesises_without_torch(tmp_path):
    """The prepare stage (eSpeak NG in its child, resampling, noise) imports neither torch nor Lightning."""
    code = (
        "import sys\n"
        "from hydra import compose, initialize_config_dir\n"
        "import dlforge.config.schema\n"
        "from pipelines import prepare\n"
        f"with initialize_config_dir(config_dir={str(CONF)!r}, version_base='1.3'):\n"
        f"    cfg = compose('config', overrides={['experiment=speech_digits', f'paths.prepared={tmp_path}/p', *SMALL[:2]]!r})\n"
        "print(prepare.run(cfg))\n"
        "print(sorted(m for m in ('torch', 'pytorch_lightning', 'lightning') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-2:] == ["{'train': 198, 'val': 66, 'test': 66}", "[]"]


def test_preprocessor_pads_crops_and_refuses_bad_clips():
    pre = AudioPreprocessor(16000, 16000, 80000, ["a", "b"])
    assert fit_length(np.ones(4), 8).tolist() == [0, 0, 1, 1, 1, 1, 0, 0]  # centred in silence
    loud = np.r_[np.zeros(10), np.ones(8), np.zeros(10)]
    assert fit_length(loud, 8).tolist() == [1.0] * 8  # the loudest window
    x = pre.transform([np.zeros(8000), np.ones(20000) * 0.1])  # clips of different lengths
    assert x.shape == (2, 16000) and x.dtype == np.float32
    assert pre.transform(np.zeros(16000, np.float64)).shape == (1, 16000)  # one 1-d clip
    for raw, message in [
        ([np.zeros(100), np.zeros(0)], "input: clip 1: empty clip"),
        (np.zeros(90000), "input: clip 0: 5.62 s at 16000 Hz; at most 5.00 s"),
        (np.full(10, np.nan), "input: clip 0: sample 0 is NaN or infinite"),
        (np.zeros((2, 3, 4)), "expected one waveform or a batch of waveforms"),
        (pd.DataFrame({"audio": [1.0]}), "got DataFrame"),
    ]:
        with pytest.raises(UserError, match=message):
            pre.transform(raw)
    pre.check_rate(16000)
    with pytest.raises(UserError, match="sample rate 8000 Hz; this model takes 16000 Hz"):
        pre.check_rate(8000)


def test_network_log_mel_is_the_baselines_log_mel():
    """torch.stft + the shared filterbank inside the network equals the numpy features of the baseline."""
    wave = np.random.default_rng(0).normal(scale=0.1, size=(2, 16000)).astype(np.float32)
    net = SpeechCNN([16000], 11, 16000).eval()
    with torch.inference_mode():
        ours = net.features(torch.from_numpy(wave)).double().numpy()
        logits = net(torch.from_numpy(wave))
    assert ours.shape == (2, 40, 101) and logits.shape == (2, 11)
    assert np.allclose(ours, log_mel(wave, 16000, 400, 160, 40), atol=1e-3)


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> dict:
    """The four stages on the small corpus, into one SQLite store; the champion loaded."""
    root = tmp_path_factory.mktemp("speech")
    cfg = compose_cfg(root, "experiment=speech_digits", *SMALL)
    sizes = prepare.run(cfg)
    train.run(cfg)
    metrics = evaluate.run(cfg)
    record = register.run(cfg)
    mlflow.set_tracking_uri(cfg.tracking.uri)
    model = mlflow.pyfunc.load_model("models:/speech_digits@champion")
    return {"root": root, "cfg": cfg, "sizes": sizes, "metrics": metrics, "record": record, "model": model}


def held_out_clips(words: list[str]) -> list[np.ndarray]:
    """`words` said by a voice the small corpus never has, as 1-s float32 clips at 16 kHz."""
    accent, variant = HELD_OUT.split("+")
    df = corpus(accents=[accent], variants=[variant], words=words, unknown_words=[], seed=7)
    return list(df["audio"])


@pytest.mark.slow
def test_speech_stages_write_metrics_plots_explanations_and_a_champion(speech):
    assert speech["sizes"] == {"train": 198, "val": 66, "test": 66}  # 6, 2 and 2 voice variants of 33 clips
    model, baseline = speech["metrics"]["model"], speech["metrics"]["baseline"]
    assert {"accuracy", "f1_macro", "roc_auc", "log_loss"} <= model.keys() and model.keys() == baseline.keys() - {
        "fit_seconds"
    }
    assert model["accuracy"] > 0.3 and baseline["accuracy"] > 0.2  # 11 classes: chance is 0.09
    for name in ("baseline", "rbf_svm", "boosted_trees"):  # each classical method with its fit time beside its scores
        assert speech["metrics"][name]["fit_seconds"] > 0 and speech["metrics"][name]["accuracy"] > 0.2
    reports = speech["root"] / "reports/speech_digits"
    assert {"confusion.png", "roc.png", "pr.png", "misclassified.png"} <= {
        p.name for p in (reports / "plots").iterdir()
    }
    assert {"bands.json", "attributions.png", "summary.json"} <= {p.name for p in (reports / "explain").iterdir()}
    assert "attribution maps of 11 test clips" in (reports / "explain/summary.json").read_text()
    assert speech["record"]["promoted"] and speech["record"]["champion_version"] == 1


def ragged(*clips: np.ndarray) -> np.ndarray:
    """Clips of different lengths as one request: a 1-d object array (MLflow refuses a plain list)."""
    out = np.empty(len(clips), dtype=object)
    out[:] = clips
    return out


@pytest.mark.slow
def test_champion_answers_a_held_out_voice_and_refuses_bad_clips(speech):
    model = speech["model"]
    clips = held_out_clips(["seven", "two"])
    out = model.predict(np.stack(clips))
    assert list(out.columns[:2]) == ["label", "probability"] and len(out) == 2
    probs = out[[f"proba_{c}" for c in [*DIGITS, "unknown"]]].to_numpy()
    assert np.allclose(probs.sum(1), 1) and np.allclose(out["probability"], probs.max(1))
    assert set(out["label"]) <= {*DIGITS, "unknown"}
    one = model.predict(clips[0].astype(np.float64), params={"sample_rate": 16000})  # 1-d float64, rate declared
    assert one["label"].tolist() == out["label"][:1].tolist()
    shorter = model.predict(ragged(clips[0][2000:14000], clips[1]))  # clips of different lengths
    assert len(shorter) == 2
    for raw, params, reason in [
        (clips[0], {"sample_rate": 8000}, "input: sample rate 8000 Hz; this model takes 16000 Hz"),
        (ragged(clips[0], np.zeros(0, np.float32)), None, "input: clip 1: empty clip (0 samples)"),
        (np.zeros(16000 * 6, np.float32), None, "at most 5.00 s (is the sample rate 16000 Hz?)"),
        (np.zeros(0, np.float32), None, "the request has no rows"),
    ]:
        with pytest.raises(mlflow.exceptions.MlflowException) as e:
            model.predict(raw, params=params)
        assert reason in e.value.message and "\n" not in e.value.message


@pytest.fixture
def speech_server(speech, tmp_path) -> Iterator[str]:
    yield from serve(speech["cfg"].tracking.uri, "speech_digits", tmp_path / "serve.log")


@pytest.mark.e2e
@pytest.mark.slow
def test_http_serving_answers_raw_waveforms_and_refuses_bad_ones(speech, speech_server):
    clip = [round(float(v), 5) for v in held_out_clips(["four"])[0]]
    status, body = post(speech_server, {"inputs": [clip, clip]})
    assert status == 200, body
    rows = body["predictions"]
    assert len(rows) == 2 and rows[0]["label"] == rows[1]["label"] and 0 < rows[0]["probability"] <= 1
    status, body = post(speech_server, {"inputs": clip, "params": {"sample_rate": 16000}})  # one 1-d clip
    assert status == 200 and len(body["predictions"]) == 1, body
    for request, reason in [
        (
            {"inputs": [clip], "params": {"sample_rate": 44100}},
            "input: sample rate 44100 Hz; this model takes 16000 Hz",
        ),
        ({"inputs": [clip, []]}, "input: clip 1: empty clip (0 samples)"),
    ]:
        status, body = post(speech_server, request)
        assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE", body
        assert body["message"].startswith(reason), body


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    wavfile.write(path, rate, (np.clip(samples, -1, 1) * 32767).astype(np.int16))
    return path


def cli(capsys, *args: str) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = dlforge(list(args))
    return code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.slow
def test_dlforge_predict_scores_a_folder_of_wavs(speech, tmp_path, capsys):
    uri = speech["cfg"].tracking.uri
    clips = held_out_clips(["three", "eight"])
    folder = tmp_path / "clips"
    write_wav(folder / "a.wav", clips[0])
    write_wav(folder / "sub" / "b.wav", clips[1][3000:12000])  # shorter, in a subfolder
    out = tmp_path / "out.csv"
    code, err = cli(capsys, "--tracking-uri", uri, "predict", "speech_digits", str(folder), str(out))
    assert code == 0, err
    table = pd.read_csv(out)
    assert table["file"].tolist() == [str(folder / "a.wav"), str(folder / "sub/b.wav")]
    assert list(table.columns[:3]) == ["file", "label", "probability"]
    python = speech["model"].predict(np.stack([wavfile.read(folder / "a.wav")[1] / 32768.0]).astype(np.float32))
    assert table["label"][0] == python["label"][0]

    bad = tmp_path / "bad.csv"
    write_wav(folder / "c.wav", clips[0][::2], rate=8000)
    code, err = cli(capsys, "--tracking-uri", uri, "predict", "speech_digits", str(folder), str(bad))
    assert code == 2 and len(err) == 1 and not bad.exists(), err
    assert (
        err[0]
        == f"error: input '{folder / 'c.wav'}': sample rate 8000 Hz; this model takes 16000 Hz mono audio (resample the clip first)"
    )
    (folder / "c.wav").write_bytes(b"RIFF\x00\x00not a wave")
    code, err = cli(capsys, "--tracking-uri", uri, "predict", "speech_digits", str(folder), str(bad))
    assert code == 2 and len(err) == 1 and not bad.exists(), err
    assert err[0].startswith(f"error: input: file '{folder / 'c.wav'}': not a readable WAV file")


def byo_folder(root: Path) -> Path:
    """A tiny bring-your-own folder: yes/no/stop said by 10 voices, one subfolder per word."""
    df = corpus(
        accents=["en-us", "en"], variants=["m1", "m2", "m3", "f1", "f4"], words=["yes", "no", "stop"], unknown_words=[]
    )
    for i, (audio, label) in enumerate(zip(df["audio"], df["label"])):
        write_wav(root / label / f"{label}_{i:02d}.wav", audio)
    return root


@pytest.mark.slow
def test_byo_audio_folder_end_to_end(tmp_path):
    folder = byo_folder(tmp_path / "clips")
    cfg = compose_cfg(
        tmp_path,
        "experiment=byo_audio",
        f"data.source.path={folder}",
        "data.classes=[yes,no,stop]",
        "trainer.max_epochs=6",
        "callbacks.progress_bar=null",
    )
    assert prepare.run(cfg) == {"train": 22, "val": 4, "test": 4}
    train.run(cfg)
    metrics = evaluate.run(cfg)
    assert (
        metrics["model"].keys()
        == metrics["baseline"].keys() - {"fit_seconds"}
        == metrics["rbf_svm"].keys() - {"fit_seconds"}
    )
    assert register.run(cfg)["champion_version"] == 1
    mlflow.set_tracking_uri(cfg.tracking.uri)
    served = mlflow.pyfunc.load_model("models:/byo_audio@champion").predict(
        wavfile.read(folder / "no/no_01.wav")[1] / 32768.0
    )
    assert len(served) == 1 and served["label"][0] in {"yes", "no", "stop"}


@pytest.mark.parametrize(
    "spoil, expected",
    [
        (
            lambda f: (f / "no/no_01.wav").write_bytes(b"RIFF....WAVEfmt garbage"),
            "file '{f}/no/no_01.wav': not a readable WAV file",
        ),
        (
            lambda f: write_wav(f / "yes/fast.wav", np.zeros(8000), rate=8000),
            "file '{f}/yes/fast.wav': sample rate 8000 Hz; expected 16000 Hz",
        ),
        (lambda f: (f / "maybe").mkdir(), "folder '{f}/maybe' has no .wav files"),
    ],
    ids=["corrupt-wav", "other-sample-rate", "empty-class-folder"],
)
def test_bad_wav_folder_stops_prepare_with_one_line(tmp_path, capsys, spoil, expected):
    folder = byo_folder(tmp_path / "clips")
    spoil(folder)
    out = tmp_path / "prepared"
    args = ["experiment=byo_audio", f"data.source.path={folder}", "data.classes=[yes,no,stop]", f"paths.prepared={out}"]
    code, lines = run_stage("prepare", [*args, "print_config=false"], capsys)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), lines
    assert expected.format(f=folder) in lines[0], lines[0]
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".prepared")]
