"""Video tattoo removal with temporally stable masks and fills (extra ``[video]``: PyAV).

>>> from skindeep.video import remove_video, VideoConfig
>>> report = remove_video("in.mp4", "out.mp4", VideoConfig(crf=20))
"""

from skindeep.video.pipeline import FrameProcessor, VideoConfig, VideoReport, remove_video

__all__ = ["FrameProcessor", "VideoConfig", "VideoReport", "remove_video"]
