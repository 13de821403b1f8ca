"""Finding faces: MTCNN detection (:mod:`.detection`), 68-point landmarks
(:mod:`.landmarks`), 5-point alignment, part masks, tracking with temporal
smoothing, and the face finder that extraction and conversion share
(:mod:`.finder`: detect every K frames, follow with optical flow between)."""
