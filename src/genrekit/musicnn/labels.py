"""The tag vocabularies of musicnn's models (from its ``configuration.py``, ISC licence).

``MSD_LABELS``: the 50 most frequent Last.fm tags of the Million Song Dataset,
in the order of the ``MSD_musicnn`` output layer. ``MTT_LABELS``: the 50 tags
of MagnaTagATune, in the order of the ``MTT_musicnn`` output layer.
``MSD_CATEGORIES`` groups the MSD tags (genre, mood, era, instrument/voice,
other) so that a caller can pick, say, the best genre tag; the grouping is
genrekit's, not musicnn's.

The tag lists are copied from musicnn, which carries this notice:

    Copyright (c) Music Technology Group, Universitat Pompeu Fabra 2019. Code developed by
    Jordi Pons (www.jordipons.me).

    Permission to use, copy, modify, and/or distribute this software for any purpose with or
    without fee is hereby granted, provided that the above copyright notice and this permission
    notice appear in all copies.

    THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH REGARD TO THIS
    SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL
    THE AUTHOR BE LIABLE FOR ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY
    DAMAGES WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN ACTION OF
    CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF OR IN CONNECTION WITH THE USE
    OR PERFORMANCE OF THIS SOFTWARE.
"""

from __future__ import annotations

import re

MTT_LABELS: tuple[str, ...] = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano",
    "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing",
    "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal", "pop",
    "soft", "sitar", "solo", "man", "classic", "choir", "voice", "new age", "dance", "male voice",
    "female vocal", "beats", "harp", "cello", "no voice", "weird", "country", "metal", "female voice", "choral",
)  # fmt: skip

MSD_LABELS: tuple[str, ...] = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s", "alternative rock", "jazz",
    "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s",
    "folk", "90s", "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic",
    "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening", "sexy", "catchy",
    "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad", "House", "happy",
)  # fmt: skip

_GENRES = {
    "rock", "pop", "alternative", "indie", "electronic", "dance", "alternative rock", "jazz", "metal", "classic rock",
    "soul", "indie rock", "electronica", "folk", "punk", "blues", "hard rock", "ambient", "experimental", "Hip-Hop",
    "country", "easy listening", "funk", "electro", "heavy metal", "Progressive rock", "rnb", "indie pop", "House",
    "chillout", "oldies",
}  # fmt: skip
_MOODS = {"beautiful", "Mellow", "chill", "party", "sexy", "catchy", "sad", "happy"}
_ERAS = {"00s", "80s", "90s", "70s", "60s"}
_INSTRUMENTS = {"female vocalists", "male vocalists", "female vocalist", "guitar", "instrumental", "acoustic"}

MSD_CATEGORIES: dict[str, str] = {
    label: (
        "genre" if label in _GENRES
        else "mood" if label in _MOODS
        else "era" if label in _ERAS
        else "instrument" if label in _INSTRUMENTS
        else "other"
    )
    for label in MSD_LABELS
}  # fmt: skip

MODEL_LABELS: dict[str, tuple[str, ...]] = {
    "MSD_musicnn": MSD_LABELS, "MTT_musicnn": MTT_LABELS, "MSD_vgg": MSD_LABELS, "MTT_vgg": MTT_LABELS,
}
"""The vgg networks were trained on the same tag lists as the musicnn ones (musicnn's ``configuration.py``)."""


def labels_for(model: str) -> tuple[str, ...]:
    """The output tags of ``model`` (``"MSD_musicnn"``, ``"MTT_musicnn"``, ``"MSD_vgg"``, ``"MTT_vgg"``), in output order."""
    try:
        return MODEL_LABELS[model]
    except KeyError:
        raise ValueError(f"unknown musicnn model {model!r}; choose from {', '.join(MODEL_LABELS)}") from None


def category(model: str, label: str) -> str:
    """``genre``/``mood``/``era``/``instrument``/``other`` for MSD tags; ``tag`` for MTT ones."""
    return MSD_CATEGORIES.get(label, "other") if model.startswith("MSD") else "tag"


def slug(label: str) -> str:
    """A column-name-safe form of a tag: ``"Hip-Hop"`` -> ``"hip_hop"``, ``"00s"`` -> ``"00s"``."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


__all__ = ["MODEL_LABELS", "MSD_CATEGORIES", "MSD_LABELS", "MTT_LABELS", "category", "labels_for", "slug"]
