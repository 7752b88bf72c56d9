"""Judges: what the notes of a piece tell (:mod:`.notefeatures`: piece context, local note
features, the ridge baseline, the velocity-only genre judge and its profile), read by the models
as context and by the evaluations as judges they were not trained against."""
