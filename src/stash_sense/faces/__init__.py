"""The face pipeline: decode an image, detect faces, align them, embed them, judge their quality."""
