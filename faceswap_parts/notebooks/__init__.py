"""What the notebooks call, in one namespace (``from faceswap_parts import
notebooks as nb``): the workspace (Colab detection, Google Drive), input
videos and face sets, Drive <-> local sync, inline display and the training
panel. Everything also works outside Colab, so the notebooks run headless in CI.
"""
from faceswap_parts.demo import fast_iterations, fast_mode, fast_model
from faceswap_parts.facesets.folder import has_faces
from faceswap_parts.notebooks.display import (face_grid, offer_download, preview_video, show_image, show_video,
                                              video_html)
from faceswap_parts.notebooks.inputs import (check_video, download_from_drive_link, drive_file_id, face_sets,
                                             get_video, sample_videos, upload_video)
from faceswap_parts.notebooks.panel import TrainingPanel, make_trainer, train_with_panel
from faceswap_parts.notebooks.sync import CheckpointSync, copy_to_local
from faceswap_parts.notebooks.workspace import (Workspace, environment_report, in_colab, mount_drive, setup_workspace,
                                                show_errors_briefly)

__all__ = ["CheckpointSync", "TrainingPanel", "Workspace", "check_video", "copy_to_local", "download_from_drive_link",
           "drive_file_id", "environment_report", "face_grid", "face_sets", "fast_iterations", "fast_mode",
           "fast_model", "get_video", "has_faces", "in_colab", "make_trainer", "mount_drive", "offer_download", "preview_video",
           "sample_videos", "setup_workspace", "show_errors_briefly", "show_image", "show_video", "train_with_panel",
           "upload_video", "video_html"]
