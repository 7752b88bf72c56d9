"""Audio commands: ``render``, ``audio transfer``, ``audio texture``, ``audio translate``,
``train cyclegan``, ``evaluate audio``, ``evaluate key-invariance``."""
from __future__ import annotations

from .common import RAW, command, config_flag, name_flags

__all__ = ["add_commands"]


#: Flags of the spectral methods (argument dest) -> the settings field each sets, per ``--method``:
#: ulyanov's TransferSettings, multi's MultiSettings. A flag missing from a method's table is not
#: one of its settings.
METHOD_FIELDS = {
    "ulyanov": {d: d for d in ("sr", "filters", "kernel", "activation", "seed", "content_weight", "iterations",
                               "optimizer", "learning_rate", "init", "griffin_lim_iterations", "waveform_iterations",
                               "warm_filters", "warm_iterations", "precision", "net", "envelope_weight")},
    "multi": {**{d: d for d in ("sr", "activation", "seed", "content_weight", "iterations", "init", "preset",
                                "mel_filters", "cqt_filters", "sparsity")},
              "filters": "stft_filters", "kernel": "stft_kernel"},
}


#: ``evaluate audio``: flags of the judge network -> parameters of evaluate_audio
JUDGE_FIELDS = {d: d for d in ("judge_seed", "judge_filters", "judge_kernel")}


def add_spectral_args(p, iterations=True):
    """The flags of the spectral methods (``audio transfer``, ``audio texture``; ``evaluate audio``
    takes those of the filters only, ``iterations=False``). A flag left out leaves its settings field
    at the default (:func:`transfer_settings`)."""
    flags = {}

    def opt(group, flag, **kwargs):           # a flag that sets a settings field: None unless given
        flags[flag[2:].replace("-", "_")] = flag
        group.add_argument(flag, default=None, **kwargs)

    opt(p, "--sr", type=int, help="sample rate of the analysis (default: 22050)")
    opt(p, "--filters", type=int,
        help="random Conv1D filters on the STFT (default: 4096, the reference; multi: 512); "
             "units of --net rnn/bilstm (default: 256)")
    opt(p, "--kernel", type=int, help="filter width in STFT frames (default: 11; --net cnn: 3)")
    opt(p, "--activation", choices=("relu", "selu", "elu", "leaky_relu"),
        help="activation after the convolutions (default: relu; multi: selu with LeCun-normal "
             "weights; multi takes selu or relu)")
    opt(p, "--seed", type=int, help="seed of the filters, the start and the phases (default: 0)")
    p.add_argument("--soundfont", metavar="SF2", help="SoundFont for MIDI inputs (default: the bundled TimGM6mb.sf2)")
    if iterations:
        opt(p, "--iterations", type=int,
            help="optimiser iterations (default: 300, the reference L-BFGS-B budget; multi: 100)")
        opt(p, "--optimizer", choices=("lbfgs", "adam"),
            help="SciPy L-BFGS-B (default, converges faster here) or Adam (default of --net "
                 "cnn/rnn/bilstm, as in seed 000)")
        opt(p, "--learning-rate", type=float, help="Adam step size (default: 0.02)")
        opt(p, "--init", choices=("noise", "content"),
            help="start from small noise (reference) or from the content spectrogram")
        opt(p, "--griffin-lim-iterations", type=int,
            help="fast Griffin-Lim iterations for the phase (default: 300; multi needs none)")
        opt(p, "--waveform-iterations", type=int,
            help="L-BFGS-B iterations on the waveform after Griffin-Lim, so the audio written carries "
                 "the loss reported (default: 50; 0: off; multi optimises the waveform throughout)")
        p.add_argument("--method", choices=("ulyanov", "multi"), default="ulyanov",
                       help="ulyanov: optimise the log STFT, then Griffin-Lim (default); multi: optimise the "
                            "waveform through STFT, Mel and CQT networks (Barry & Kim)")
        u = p.add_argument_group("--method ulyanov")
        u.add_argument("--fast", action="store_true",
                       help="warm start on 1/8 of the filters (150 iterations), then 150 full iterations, "
                            "bfloat16 input gradients on CPUs with AVX512-BF16; on the 10 s benchmark its WAV was "
                            "ready 3.2x sooner than the plain reference's and closer to the style under the "
                            "independent judge (see benchmarks/bench_audio_transfer.py)")
        opt(u, "--warm-filters", type=int,
            help="warm start: first optimise the loss of only this many of the filters (default: 0, "
                 "off; see --fast and benchmarks/bench_audio_transfer.py)")
        opt(u, "--warm-iterations", type=int, help="L-BFGS-B iterations of the warm start")
        opt(u, "--precision", choices=("float32", "bfloat16-grad", "bfloat16"),
            help="bfloat16-grad: only the convolution's input gradient as a bfloat16 product (the "
                 "loss stays float32); bfloat16: the convolution too (final losses re-measured in "
                 "float32). bfloat16 products are about 2.2x faster on CPUs with AVX512-BF16 "
                 "(default: float32)")
        opt(u, "--net", choices=("conv1d", "cnn", "rnn", "bilstm"),
            help="feature network: conv1d (the reference, default); seed 000's cnn (Conv1D k=3), "
                 "rnn or bilstm (random recurrent layer + dense layer; Gram of its output)")
        opt(u, "--envelope-weight", type=float,
            help="--net rnn/bilstm: weight of the spectral-envelope term of the style loss (mean "
                 "log-magnitude per frequency bin against the style's; default: 10; 0: seed 000's "
                 "plain Gram)")
        m = p.add_argument_group("--method multi")
        opt(m, "--preset", choices=("stft", "mel", "cqt", "stft+mel", "stft+cqt", "mel+cqt", "full"),
            help="networks that take part (default: full)")
        opt(m, "--terms", metavar="NAME=F,...",
            help="user factor per loss term after gradient-norm normalisation, e.g. "
                 "cqt_content=2,stft_style=0 (terms: stft|mel|cqt _content|_style)")
        opt(m, "--mel-filters", type=int, help="channels of the Mel network (default: 256)")
        opt(m, "--cqt-filters", type=int, help="2-D filters of the CQT network (default: 32)")
        opt(m, "--sparsity", type=float,
            help="L1 penalty on the result's log STFT, relative to the unit-norm terms (default: 0)")
        p.add_argument("--plot", metavar="PNG", help="write content/style/result spectrograms and the loss curve")
        p.add_argument("--float", action="store_true", help="write 32-bit float WAV instead of 16-bit PCM")
        p.add_argument("--force", action="store_true", help="overwrite existing outputs (never an input)")
        p.add_argument("--json", action="store_true", help="print the result as one JSON object")
        p.add_argument("--quiet", action="store_true", help="no progress bars, print nothing on success")
    # a SettingsError names a field of either method's settings: main() reports the flag that sets it
    name_flags(p, {field: flags[dest] for table in METHOD_FIELDS.values() for dest, field in table.items()
                   if dest in flags})


def add_commands(sub, train, evaluate) -> None:
    """Waveform path and audio style transfer: ``render`` and ``audio transfer / texture / translate``
    on the top-level subparsers ``sub``, ``cyclegan`` on the ``train`` group, ``audio`` and
    ``key-invariance`` on the ``evaluate`` group."""
    _add_render(sub)
    _add_audio(sub)
    _add_train_cyclegan(train)
    _add_evaluate(evaluate)


def _add_render(sub) -> None:
    """``render``."""
    r = sub.add_parser("render", help="synthesise MIDI to a WAV / FLAC file (SoundFont piano)",
                       description="Render a MIDI file (or score) with the piano of a SoundFont, in pure NumPy: "
                                   "sustain pedal held notes ring until the pedal is up, soft pedal plays softer. "
                                   "Works offline with the SoundFont bundled with pretty_midi (TimGM6mb.sf2). "
                                   "The output is peak-normalised to -1 dBFS.",
                       epilog="example:\n  midistyle render song.mid -o song.wav --sr 22050",
                       formatter_class=RAW)
    r.add_argument("input", metavar="IN", help="MIDI file, score or corpus:NAME")
    r.add_argument("-o", "--output", help="output .wav or .flac (default: IN.wav beside the input)")
    r.add_argument("--sr", type=int, default=22050, help="sample rate (default: 22050)")
    r.add_argument("--soundfont", metavar="SF2", help="SoundFont file (default: the bundled TimGM6mb.sf2)")
    r.add_argument("--float", action="store_true", help="write 32-bit float WAV instead of 16-bit PCM")
    r.add_argument("--force", action="store_true", help="overwrite an existing output (never the input)")
    r.add_argument("--json", action="store_true", help="print the result as one JSON object")
    r.add_argument("--quiet", action="store_true", help="print nothing on success")
    r.set_defaults(func=command("audio", "cmd_render"))


def _add_audio(sub) -> None:
    """``audio transfer``, ``audio texture``, ``audio translate``."""
    a = sub.add_parser("audio", help="audio style transfer and texture synthesis (Ulyanov method)")
    asub = a.add_subparsers(dest="audio_command", metavar="ACTION")
    asub.required = True
    t = asub.add_parser(
        "transfer", help="restyle a content clip with the spectral texture of a style clip",
        description="Ulyanov-style spectral style transfer: log1p |STFT| (n_fft 2048, hop 512), one Conv1D of "
                    "fixed random filters over time with the frequency bins as channels, style loss on Gram "
                    "matrices (normalised by length, so clips may differ in length), content loss on the feature "
                    "maps weighted by --content-weight; the spectrogram is optimised (L-BFGS-B or Adam), "
                    "Griffin-Lim finds a phase, and the waveform itself is refined on the same loss "
                    "(--waveform-iterations), so the file written carries the loss reported (printed, with the "
                    "file read back). The result keeps the optimised level (peaks beyond full scale are bent by "
                    "a soft limiter, reported). Inputs may be WAV/FLAC or MIDI (rendered first). The result has "
                    "the content's length. --content-weight 0 makes a texture of the style. Judge the result "
                    "with `midistyle evaluate audio`.",
        epilog="example:\n  midistyle audio transfer --content a.mid --style b.wav -o out.wav --plot out.png",
        formatter_class=RAW)
    t.add_argument("--content", required=True, metavar="C", help="content clip (WAV/FLAC/MIDI)")
    t.add_argument("--style", required=True, metavar="S", help="style clip (WAV/FLAC/MIDI)")
    t.add_argument("-o", "--output", required=True, help="result .wav or .flac")
    config_flag(t, "--content-weight", type=float,
                help="alpha, weight of the content loss (default: 0.01; multi: 1, a factor on every content "
                     "term; 0: texture of the content's length)")
    add_spectral_args(t)
    t.set_defaults(func=command("audio", "cmd_audio_transfer"))

    x = asub.add_parser(
        "texture", help="synthesise a texture from a style clip alone",
        description="Ulyanov texture synthesis: only the style (Gram) loss; the result is --seconds long "
                    "(default: the style clip's length).",
        epilog="example:\n  midistyle audio texture --style b.wav --seconds 15 -o texture.wav",
        formatter_class=RAW)
    x.add_argument("--style", required=True, metavar="S", help="style clip (WAV/FLAC/MIDI)")
    x.add_argument("-o", "--output", required=True, help="result .wav or .flac")
    x.add_argument("--seconds", type=float, default=None, help="length of the texture (default: the style's)")
    x.set_defaults(content_weight=0.0)
    add_spectral_args(x)
    name_flags(x, {"seconds": "--seconds"})
    x.set_defaults(func=command("audio", "cmd_audio_texture"))

    tr = asub.add_parser(
        "translate", help="translate a clip to the other genre with a trained CycleGAN",
        description="Map the log-magnitude STFT of IN through the CycleGAN generator towards --to and rebuild "
                    "the waveform: by default Griffin-Lim started from the input's phase, so that the file carries the "
                    "generator's magnitude; the report says how far the file read back is from it. IN may be WAV/FLAC or MIDI "
                    "(rendered first). Train a model with `midistyle train cyclegan`.",
        epilog="example:\n  midistyle audio translate --model work_data/cyclegan.keras --to classical in.wav -o out.wav",
        formatter_class=RAW)
    tr.add_argument("input", metavar="IN")
    tr.add_argument("--model", required=True, help="CycleGAN .keras written by `midistyle train cyclegan`")
    tr.add_argument("--to", required=True, help="target domain: its name or a / b")
    tr.add_argument("-o", "--output", required=True, help="result .wav or .flac")
    tr.add_argument("--phase", choices=("refined", "input", "griffin-lim"), default="refined",
                    help="phase of the result: Griffin-Lim started from the input's phase (refined, default), "
                         "the input's phase as it is (its magnitude leaks back into the file), or Griffin-Lim "
                         "from random phases")
    tr.add_argument("--soundfont", metavar="SF2", help="SoundFont for a MIDI input")
    tr.add_argument("--force", action="store_true", help="overwrite an existing output (never the input)")
    tr.add_argument("--json", action="store_true", help="print the result as one JSON object")
    tr.add_argument("--quiet", action="store_true", help="print nothing on success")
    tr.set_defaults(func=command("audio", "cmd_audio_translate"))


def _add_train_cyclegan(train) -> None:
    """``train cyclegan``."""
    tg = train.add_parser(
        "cyclegan", help="train a CycleGAN between two folders of audio / MIDI (STFT magnitude)",
        description="Unpaired translation between two genres on log1p |STFT| (16 kHz, 256 bins, 16 ms hop): "
                    "ResNet generators with reflection padding and instance normalisation, PatchGAN "
                    "discriminators, least-squares adversarial + L1 cycle (x10) + identity (x5) losses. The middle "
                    "--seconds of each file is used (MIDI is rendered through the SoundFont path). Each folder "
                    "is split by file content like `dataset convert` (15 %% validation); the validation cycle "
                    "loss is reported before and after training. Writes MODEL.keras, MODEL.json, MODEL.log.csv.",
        epilog="example:\n  midistyle train cyclegan --a ../shared/data/tpd/jazz --b ../shared/data/tpd/classical "
               "\\\n      --name-a jazz --name-b classical -o work_data/cyclegan.keras",
        formatter_class=RAW)
    tg.add_argument("--a", required=True, metavar="DIR_A", help="folder of domain A (audio or MIDI)")
    tg.add_argument("--b", required=True, metavar="DIR_B", help="folder of domain B")
    tg.add_argument("--name-a", default="a", help="name of domain A (default: a)")
    tg.add_argument("--name-b", default="b", help="name of domain B (default: b)")
    tg.add_argument("-o", "--output", required=True, help="model path, ending in .keras")
    config_flag(tg, "--epochs", type=int, help="epochs (default: 6)")
    config_flag(tg, "--steps-per-epoch", type=int, help="batches per epoch (default: 50)")
    config_flag(tg, "--batch-size", type=int)
    config_flag(tg, "--seconds", type=float, field="seconds_per_file",
                help="seconds taken from each file (default: 30)")
    config_flag(tg, "--max-files", type=int, help="most training files per domain (0: all; default: 40)")
    config_flag(tg, "--max-val-files", type=int, help="most validation files per domain (default: 8)")
    config_flag(tg, "--channels", type=int, field="base_channels",
                help="first generator layer's channels (default: 16)")
    config_flag(tg, "--res-blocks", type=int, help="residual blocks (default: 3)")
    config_flag(tg, "--learning-rate", type=float)
    config_flag(tg, "--seed", type=int)
    tg.add_argument("--force", action="store_true", help="overwrite an existing model")
    tg.add_argument("--quiet", action="store_true", help="no progress bars")
    tg.add_argument("--json", action="store_true", help="print the figures as JSON")
    tg.set_defaults(func=command("train", "cmd_train_cyclegan"))


def _add_evaluate(evaluate) -> None:
    """``evaluate audio``, ``evaluate key-invariance``."""
    ea = evaluate.add_parser(
        "audio", help="genre probabilities, losses, rhythm and copy checks of an audio transfer",
        description="For content C, style S and result R (WAV/FLAC or MIDI): the style loss of R and of C "
                    "against S under an independent judge network (the reference Conv1D, 4096 x 11, drawn "
                    "from the transfer's --seed + 1000 unless --judge-seed), their ratio, and a FLAG line "
                    "when R is not closer to the style than C; the same losses under the transfer's own "
                    "filters (give the transfer's --seed/--filters/--kernel/--activation), the content "
                    "loss of R against C, the audio genre classifier's probabilities for all three, the KL "
                    "divergence of inter-onset-interval distributions (librosa onsets) between R and S, and "
                    "the maximum normalised cross-correlation of the R and S waveforms (near 1 would mean R "
                    "copies S). For a texture, give any other clip as C.",
        epilog="example:\n  midistyle evaluate audio --content a.mid --style b.wav --result out.wav --json",
        formatter_class=RAW)
    ea.add_argument("--content", required=True, metavar="C")
    ea.add_argument("--style", required=True, metavar="S")
    ea.add_argument("--result", required=True, metavar="R")
    config_flag(ea, "--content-weight", type=float, help="alpha of the content loss (default: 0.01)")
    ea.add_argument("--judge-seed", type=int, default=None,
                    help="seed of the independent judge network (default: the transfer's --seed + 1000)")
    ea.add_argument("--judge-filters", type=int, default=None,
                    help="filters of the judge network (default: 4096, the reference)")
    ea.add_argument("--judge-kernel", type=int, default=None,
                    help="filter width of the judge network (default: 11, the reference)")
    ea.add_argument("--model", help="audio genre classifier instead of models/audio-genre.keras")
    ea.add_argument("--json", action="store_true", help="print every figure as one JSON object")
    add_spectral_args(ea, iterations=False)
    name_flags(ea, {"judge_filters": "--judge-filters", "judge_kernel": "--judge-kernel"})
    ea.set_defaults(func=command("evaluate", "cmd_evaluate_audio"))

    k = evaluate.add_parser(
        "key-invariance", help="does a key-invariant content loss let the result take the style's key?",
        description="Seed 001's experiment with --method multi: a short melody with harmony (or --input) is "
                    "rendered as content and in each transposition (--offsets, default -6..6 semitones) as "
                    "style; the content is restyled once with the plain STFT content loss and once with the "
                    "key-invariant CQT content loss (max-pooled over frequency), and the log-STFT MSE between "
                    "result and style is reported per offset (a table, --json, --plot PNG).",
        epilog="example:\n  midistyle evaluate key-invariance --plot keyinv.png",
        formatter_class=RAW)
    k.add_argument("--input", metavar="MIDI", help="notes to transpose (default: a built-in 3 s I-IV-V-I tune)")
    k.add_argument("--offsets", default="-6..6", help="transpositions in semitones: A..B or a,b,c (default: -6..6)")
    k.add_argument("--seconds", type=float, default=None, help="clip length (default: the notes' end + 0.5 s)")
    config_flag(k, "--iterations", type=int, help="L-BFGS-B iterations per run (default: 40)")
    config_flag(k, "--filters", type=int, field="stft_filters", help="STFT network filters (default: 256)")
    config_flag(k, "--cqt-filters", type=int, help="CQT network filters (default: 16)")
    config_flag(k, "--activation", choices=("selu", "relu"))
    config_flag(k, "--seed", type=int)
    k.add_argument("--soundfont", metavar="SF2")
    k.add_argument("--plot", metavar="PNG", help="write the error-per-offset plot")
    k.add_argument("--force", action="store_true", help="overwrite an existing plot")
    k.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    k.add_argument("--quiet", action="store_true", help="no progress bar")
    k.set_defaults(func=command("evaluate", "cmd_evaluate_key_invariance"))
