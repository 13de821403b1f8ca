"""Face-recognition networks read from their published files: dlib's
ResNet (:mod:`~faceswap_parts.recognition.dlib_resnet`, parsed by
:mod:`~faceswap_parts.recognition.dlib_format`), used by the perceptual loss
and by ``evaluate``'s identity embedder."""
