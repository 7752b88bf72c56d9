"""Waveform path: SoundFont rendering, spectral tools, Ulyanov-style audio style transfer,
audio features, the audio genre classifier and audio metrics.

Importing this package is light; TensorFlow, SciPy and librosa are imported by the functions
that need them.
"""
