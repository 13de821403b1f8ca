"""Files in and out: images, videos (ffmpeg), downloads, atomic writes and
background threads. Nothing here knows about faces or models."""
