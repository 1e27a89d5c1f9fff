"""Who is in a scene: its frames (sprite sheet + VTT, or ffmpeg), the faces in every frame, those
faces grouped by person, each person matched, performers assigned to persons exclusively.
Entry point: `identify_scene()`."""
