"""Development tools of Stash Sense, kept out of the wheel: stand-in servers that speak the real
stash-box, ThePornDB and Stash APIs, synthetic scene videos, and database comparison for tests."""
