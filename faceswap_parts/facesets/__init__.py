"""Face sets: the folder format ``extract`` writes (:mod:`.folder`, with the
one resolver of what a user's face folder holds), loading one into memory for
training and scoring (:mod:`.loading`). The ``masks`` stage, which
recomputes a face set's part masks, is :mod:`faceswap_parts.masking`."""
from faceswap_parts.facesets.folder import FaceFolder, check_apart, check_two_people, face_folder, has_faces
from faceswap_parts.facesets.loading import FaceSet, load_faceset, load_pool

__all__ = ["FaceFolder", "FaceSet", "check_apart", "check_two_people", "face_folder", "has_faces", "load_faceset", "load_pool"]
