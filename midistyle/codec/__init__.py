"""The codec: every input read into one note table (:mod:`.io`), put on the piano-roll grid
(:mod:`.pianoroll`), and folders of MIDI files converted into training datasets, locally
(:mod:`.dataset`) or as an Apache Beam pipeline (:mod:`.beamconvert`), and exported for other
tools (:mod:`.export`). Nothing here knows a model."""
