"""The library scan: every scene of the user's Stash identified in the background, what it found
kept in a user-state database (apart from the face database), and the user's decisions on it.

`LibraryStore` is the state database; `LibraryScan` pages Stash and identifies scene after scene;
`suggestions` lists what to propose, leaving out every rejected performer and face.
"""

from stash_sense.library.identity import PerformerRef, person_vector
from stash_sense.library.scan import LibraryScan
from stash_sense.library.scan_options import ScanOptions, ScanScope
from stash_sense.library.store import LibraryStore, StateError
from stash_sense.library.suggest import SuggestionFilter, suggestions

__all__ = [
    "LibraryScan",
    "LibraryStore",
    "PerformerRef",
    "ScanOptions",
    "ScanScope",
    "StateError",
    "SuggestionFilter",
    "person_vector",
    "suggestions",
]
