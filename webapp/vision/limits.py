"""The bounds of what extraction accepts, without numpy or OpenCV: the ``extract`` command's
options and the extraction form state them when they load, long before a frame is read."""

MAX_EVERY = 100_000  # average gap between kept frames
MAX_CAP = 1_000_000  # frames kept in one run
MIN_FACE_SIZE = 16  # side of the greyscale model input, in pixels
MAX_FACE_SIZE = 1024
